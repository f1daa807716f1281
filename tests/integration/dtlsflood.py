#!/usr/bin/env python3
"""A bounded DTLS 1.2 handshake prober for the tests: it writes ClientHellos by
hand (RFC 6347 §4.2) to see what a server does before and during a handshake.

usage: dtlsflood.py flood HOST PORT COUNT     COUNT ClientHellos without a cookie,
                                              in bursts; prints "sent N verify M"
       dtlsflood.py halfopen HOST PORT COUNT  COUNT handshakes taken past the cookie
                                              to the ServerHello, then abandoned;
                                              prints "started N serverhello M"
       dtlsflood.py garbage HOST PORT COUNT   records that are not a ClientHello;
                                              prints "sent N answered M"
       dtlsflood.py dtls10 HOST PORT          a DTLS 1.0 handshake past the cookie;
                                              prints "alert LEVEL DESCRIPTION" or
                                              "no alert"
Every loop is bounded in count and time (60 s at most in all).
"""
import os
import select
import socket
import struct
import sys
import time

DEADLINE = time.monotonic() + 60
SUITES = [0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0x009E, 0x009C]


def u24(n):
    return struct.pack("!I", n)[1:]


def ext(kind, data):
    return struct.pack("!HH", kind, len(data)) + data


def client_hello(cookie=b"", version=0xFEFD, msg_seq=0, rec_seq=0):
    body = struct.pack("!H", version) + os.urandom(32) + b"\x00"
    body += bytes([len(cookie)]) + cookie
    body += struct.pack("!H", 2 * len(SUITES)) + b"".join(struct.pack("!H", s) for s in SUITES)
    body += b"\x01\x00"
    exts = ext(0x000A, struct.pack("!HHH", 4, 0x001D, 0x0017))  # supported_groups
    exts += ext(0x000B, b"\x01\x00")  # ec_point_formats
    exts += ext(0x000D, struct.pack("!HHHH", 6, 0x0403, 0x0804, 0x0401))  # signature_algorithms
    exts += ext(0x0017, b"")  # extended_master_secret
    exts += ext(0xFF01, b"\x00")  # renegotiation_info
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + u24(len(body)) + struct.pack("!H", msg_seq) + u24(0) + u24(len(body)) + body
    rec_version = 0xFEFF if version == 0xFEFF else 0xFEFD
    return (b"\x16" + struct.pack("!HH", rec_version, 0) + struct.pack("!Q", rec_seq)[2:]
            + struct.pack("!H", len(hs)) + hs)


def records(dgram):
    """(type, first handshake type or alert bytes, epoch) of each record."""
    out = []
    off = 0
    while off + 13 <= len(dgram):
        rtype = dgram[off]
        epoch = struct.unpack("!H", dgram[off + 3:off + 5])[0]
        rlen = struct.unpack("!H", dgram[off + 11:off + 13])[0]
        frag = dgram[off + 13:off + 13 + rlen]
        out.append((rtype, frag, epoch))
        off += 13 + rlen
    return out


def cookie_of(dgram):
    for rtype, frag, _ in records(dgram):
        if rtype == 22 and len(frag) >= 15 and frag[0] == 3:
            n = frag[14]
            return frag[15:15 + n]
    return None


def recv(sock, timeout):
    end = min(time.monotonic() + timeout, DEADLINE)
    while time.monotonic() < end:
        r, _, _ = select.select([sock], [], [], max(0.0, end - time.monotonic()))
        if r:
            try:
                return sock.recv(65536)
            except OSError:
                return None
    return None


def new_sock(host, port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    return s


def handshake_to_cookie(host, port, version=0xFEFD):
    s = new_sock(host, port)
    s.send(client_hello(version=version))
    d = recv(s, 2)
    cookie = cookie_of(d) if d else None
    if cookie is None:
        s.close()
        return None, None
    s.send(client_hello(cookie=cookie, version=version, msg_seq=1, rec_seq=1))
    return s, cookie


def flood(host, port, count):
    socks = [new_sock(host, port) for _ in range(8)]
    sent = verify = 0
    while sent < count and time.monotonic() < DEADLINE:
        burst = min(32, count - sent)
        for i in range(burst):
            socks[i % len(socks)].send(client_hello())
        sent += burst
        got = 0
        end = time.monotonic() + 1
        while got < burst and time.monotonic() < end:
            r, _, _ = select.select(socks, [], [], 0.2)
            for s in r:
                try:
                    d = s.recv(65536)
                except OSError:
                    continue
                got += 1
                if cookie_of(d) is not None:
                    verify += 1
    print(f"sent {sent} verify {verify}")


def collect(socks, want, timeout):
    """Datagrams from socks, at most one per socket, until want or timeout."""
    got = {}
    end = min(time.monotonic() + timeout, DEADLINE)
    while len(got) < want and time.monotonic() < end:
        r, _, _ = select.select(socks, [], [], 0.2)
        for s in r:
            try:
                d = s.recv(65536)
            except OSError:
                continue
            got.setdefault(s, d)
    return got


def halfopen(host, port, count):
    """Batches of 64 sockets: ClientHello, cookie, ClientHello again, ServerHello, abandon."""
    started = hello = 0
    while started < count and time.monotonic() < DEADLINE:
        socks = [new_sock(host, port) for _ in range(min(64, count - started))]
        started += len(socks)
        for s in socks:
            s.send(client_hello())
        verify = collect(socks, len(socks), 2)
        waiting = []
        for s, d in verify.items():
            cookie = cookie_of(d)
            if cookie is not None:
                s.send(client_hello(cookie=cookie, msg_seq=1, rec_seq=1))
                waiting.append(s)
        for d in collect(waiting, len(waiting), 2).values():
            if any(t == 22 and f[:1] == b"\x02" for t, f, _ in records(d)):
                hello += 1
        for s in socks:
            s.close()
    print(f"started {started} serverhello {hello}")


def garbage(host, port, count):
    s = new_sock(host, port)
    kinds = [
        b"\x17\xfe\xfd\x00\x01" + b"\x00" * 6 + b"\x00\x10" + os.urandom(16),  # app data, epoch 1
        b"\x15\xfe\xfd\x00\x00" + b"\x00" * 6 + b"\x00\x02\x02\x28",  # an alert
        b"\x16\xfe\xfd\x00\x00" + b"\x00" * 6 + b"\x00\x0c\x02" + b"\x00" * 11,  # ServerHello
        b"\x16\xfe\xfd\x00\x00",  # a short header
        b"\x16\xfe\xfd\x00\x00" + b"\x00" * 6 + b"\xff\xff",  # length beyond the datagram
        b"\x16\x03\x01\x00\x00" + b"\x00" * 6 + b"\x00\x00",  # a TLS, not DTLS, version
        b"\x14\xfe\xfd\x00\x01" + b"\x00" * 6 + b"\x00\x01\x01",  # ChangeCipherSpec
    ]
    sent = answered = 0
    while sent < count and time.monotonic() < DEADLINE:
        k = kinds[sent % len(kinds)] if sent < len(kinds) * 4 else \
            bytes([20 + sent % 44]) + os.urandom(sent % 200)
        s.send(k)
        sent += 1
    while recv(s, 0.5) is not None:
        answered += 1
    print(f"sent {sent} answered {answered}")


def dtls10(host, port):
    s, _ = handshake_to_cookie(host, port, version=0xFEFF)
    for _ in range(5):
        d = recv(s, 2) if s else None
        if d is None:
            break
        for t, f, _ in records(d):
            if t == 21 and len(f) >= 2:
                print(f"alert {f[0]} {f[1]}")
                return
    print("no alert")


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "flood":
        flood(host, port, int(sys.argv[4]))
    elif mode == "halfopen":
        halfopen(host, port, int(sys.argv[4]))
    elif mode == "garbage":
        garbage(host, port, int(sys.argv[4]))
    elif mode == "dtls10":
        dtls10(host, port)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
