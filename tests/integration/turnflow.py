#!/usr/bin/env python3
"""A paced UDP flow through a TURN relay, both ways, measured at the receivers.

turnflow.py HOST PORT USER PASSWORD REALM RATE SECONDS [ORIGIN]
Allocates with long-term credentials (RFC 8656, MD5 key), binds a channel to a
local peer socket on 127.0.0.1, then for SECONDS sends RATE bytes per second of
1000-byte ChannelData to the peer and the same from the peer to the relayed
address. Prints "up BPS down BPS": the bytes per second received by the peer and
by the client between 2 s after the start and the end (the first seconds hold
the limiter's burst). With ORIGIN, every request carries that ORIGIN attribute
(0x802F: the realm the server answers in). Every wait is bounded; loopback only.
"""
import hashlib
import select
import socket
import struct
import sys
import time

from stunmsg import attr, exchange, message, xor_addr, unxor_addr

PAYLOAD = 1000
CHANNEL = 0x4001
SKIP = 2.0


def transact(sock, server, mtype, attrs, key=None):
    data, tid = message(mtype, attrs, key)
    rtype, rattrs = exchange(sock, server, data, tid)
    if rtype is not None:
        return rtype, rattrs
    sys.exit("turnflow: no answer to request 0x%04x" % mtype)


def setup(server, user, password, realm, origin=None, local="127.0.0.1"):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((local, 0))
    extra = [attr(0x802F, origin.encode())] if origin else []
    req = [attr(0x0019, b"\x11\0\0\0")]
    rtype, a = transact(sock, server, 0x0003, req + extra)
    if rtype != 0x0113 or 0x0015 not in a:
        sys.exit("turnflow: expected a 401 with a NONCE, got 0x%04x" % rtype)
    key = hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()).digest()
    cred = [attr(0x0006, user.encode()), attr(0x0014, realm.encode()), attr(0x0015, a[0x0015])]
    cred += extra
    rtype, a = transact(sock, server, 0x0003, req + cred, key)
    if rtype != 0x0103:
        sys.exit("turnflow: allocate failed: 0x%04x %r" % (rtype, a.get(0x0009)))
    relayed = unxor_addr(a[0x0016])
    return sock, key, cred, relayed


def main():
    host, port, user, password, realm = sys.argv[1:6]
    rate, seconds = int(sys.argv[6]), float(sys.argv[7])
    server = (host, int(port))
    origin = sys.argv[8] if len(sys.argv) > 8 else None
    sock, key, cred, relayed = setup(server, user, password, realm, origin)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    bind = [attr(0x000C, struct.pack("!HH", CHANNEL, 0)), attr(0x0012, xor_addr(*peer.getsockname()))]
    rtype, a = transact(sock, server, 0x0009, bind + cred, key)
    if rtype != 0x0109:
        sys.exit("turnflow: channel bind failed: 0x%04x %r" % (rtype, a.get(0x0009)))
    sock.setblocking(False)
    peer.setblocking(False)
    up_frame = struct.pack("!HH", CHANNEL, PAYLOAD) + b"u" * PAYLOAD
    down = b"d" * PAYLOAD
    start = time.monotonic()
    sent, up, dn = 0, 0, 0
    while True:
        now = time.monotonic() - start
        if now >= seconds:
            break
        while sent * PAYLOAD < rate * now:
            sent += 1
            for s, data, to in ((sock, up_frame, server), (peer, down, relayed)):
                try:
                    s.sendto(data, to)
                except (BlockingIOError, ConnectionRefusedError):
                    pass
        for s in select.select([sock, peer], [], [], 0.005)[0]:
            for _ in range(256):
                try:
                    got = s.recv(65536)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                if time.monotonic() - start < SKIP:
                    continue
                if s is peer:
                    up += len(got)
                elif len(got) >= 4 and got[0] & 0xC0 == 0x40:
                    dn += len(got) - 4
    window = seconds - SKIP
    print("up %d down %d sent %d" % (up / window, dn / window, sent * PAYLOAD / seconds))


if __name__ == "__main__":
    main()
