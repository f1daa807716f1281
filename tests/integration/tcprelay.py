#!/usr/bin/python3
"""A small RFC 6062 client: TCP relays through a TURN server over TCP.

tcprelay.py HOST PORT USER PASSWORD REALM COMMAND [ARGS]
  connect PEER...   Allocate a TCP relay, CONNECT to each PEER (IP:PORT) and
                    print "PEER CODE" (0 for success, else the error code).
  echo PEER N       CONNECT, bind a data connection, send N random bytes in
                    chunks and print "echoed N" when all came back unchanged.
  passive PEERPORT  CreatePermission for 127.0.0.1, connect to the relayed
                    address from 127.0.0.1:PEERPORT, bind the CONNECTION-ATTEMPT
                    and print "passive ok" when bytes pass both ways.
  stall PEER SECONDS [FILE]  CONNECT and bind to an echo PEER, send for
                    SECONDS without reading and print "stalled after BYTES";
                    with FILE, write it then hold the connection SECONDS more.
  bindcheck PEER    Prints the code of a CONNECTION-BIND with an unknown id and
                    of a second bind of a bound id: "unknown CODE double CODE".
  allocate          Prints the Allocate's code ("allocate CODE").
  allocate2         Two allocations at once: "allocate CODE then CODE".
  rate PEER N       As echo, printing the seconds it took.
Long-term credentials with an MD5 key; every wait is bounded (10 s); loopback.
"""
import hashlib
import os
import select
import socket
import struct
import sys
import time

from stunmsg import attr, message, xor_addr, unxor_addr

ALLOCATE, CREATE_PERMISSION, CONNECT, CONNECTION_BIND = 0x003, 0x008, 0x00A, 0x00B
CONNECTION_ATTEMPT_IND = 0x001C
T = 10.0


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def read_msg(sock):
    head = recv_exact(sock, 20)
    mtype, length = struct.unpack("!HH", head[:4])
    body = recv_exact(sock, length)
    attrs, i = {}, 0
    while i + 4 <= length:
        kind, alen = struct.unpack("!HH", body[i:i + 4])
        attrs.setdefault(kind, body[i + 4:i + 4 + alen])
        i += 4 + alen + (4 - alen % 4) % 4
    return mtype, head[8:20], attrs


def code_of(mtype, attrs):
    if mtype & 0x0110 == 0x0100:
        return 0
    v = attrs.get(0x0009, b"\0\0\0\0")
    return (v[2] & 7) * 100 + v[3]


class Session:
    def __init__(self, host, port, user, password, realm):
        self.server = (host, port)
        self.user, self.realm = user.encode(), realm.encode()
        self.key = hashlib.md5(b":".join([self.user, self.realm,
                                          password.encode()])).digest()
        self.nonce = b""

    def dial(self):
        sock = socket.create_connection(self.server, timeout=T)
        sock.settimeout(T)
        return sock

    def request(self, sock, method, attrs, queue=None):
        """A request with credentials (after one 401 for the nonce); (code, attrs)."""
        for _ in range(2):
            creds = [attr(0x0006, self.user), attr(0x0014, self.realm),
                     attr(0x0015, self.nonce)] if self.nonce else []
            msg, tid = message(method, attrs + creds, self.key if self.nonce else None)
            sock.sendall(msg)
            while True:
                mtype, rtid, rattrs = read_msg(sock)
                if rtid == tid:
                    break
                if queue is not None:
                    queue.append((mtype, rattrs))
            code = code_of(mtype, rattrs)
            if code in (401, 438) and 0x0015 in rattrs:
                self.nonce = rattrs[0x0015]
                continue
            return code, rattrs
        return code, rattrs

    def allocate(self, sock):
        return self.request(sock, ALLOCATE, [attr(0x0019, b"\x06\0\0\0")])

    def connect(self, sock, peer):
        ip, port = peer.rsplit(":", 1)
        return self.request(sock, CONNECT, [attr(0x0012, xor_addr(ip, int(port)))])

    def bind(self, cid):
        data = self.dial()
        code, _ = self.request(data, CONNECTION_BIND, [attr(0x002A, cid)])
        return code, data


def echo_through(data, peer_sock, n):
    """Bytes from the client come back (echo peer) or reach peer_sock and return.
    At most WINDOW bytes are in flight, so neither side waits on the other."""
    window = 1 << 20
    payload = os.urandom(n)
    got = bytearray()
    for i in range(0, n, 16384):
        chunk = payload[i:i + 16384]
        data.sendall(chunk)
        if peer_sock is not None:
            peer_sock.sendall(recv_exact(peer_sock, len(chunk)))
        while len(got) < i + len(chunk) - window:
            got += recv_exact(data, i + len(chunk) - window - len(got))
    while len(got) < n:
        got += recv_exact(data, min(65536, n - len(got)))
    return bytes(got) == payload


def stall(data, seconds):
    """Sends without ever reading for SECONDS; returns the bytes the kernel took."""
    data.setblocking(False)
    chunk, sent = os.urandom(65536), 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        select.select([], [data], [], 0.1)
        try:
            sent += data.send(chunk)
        except BlockingIOError:
            pass
    return sent


def connect_bind(s, ctl, peer):
    """CONNECT to peer and CONNECTION-BIND a data connection to it: the data
    socket, or None after printing which step failed and its code."""
    code, rattrs = s.connect(ctl, peer)
    if code != 0:
        print("connect %d" % code)
        return None
    code, data = s.bind(rattrs[0x002A])
    if code != 0:
        print("bind %d" % code)
        return None
    return data


def main():
    host, port, user, password, realm, cmd = sys.argv[1:7]
    args = sys.argv[7:]
    s = Session(host, int(port), user, password, realm)
    ctl = s.dial()
    code, rattrs = s.allocate(ctl)
    if cmd == "allocate":
        print("allocate %d" % code)
        return 0
    if cmd == "allocate2":
        ctl2 = s.dial()
        print("allocate %d then %d" % (code, s.allocate(ctl2)[0]))
        return 0
    if cmd == "rate":
        code, rattrs = s.connect(ctl, args[0])
        code, data = s.bind(rattrs[0x002A])
        n = int(args[1])
        start = time.monotonic()
        ok = echo_through(data, None, n)
        print("echoed %d in %.1f s" % (n, time.monotonic() - start) if ok else "echo mismatch")
        return 0
    if code != 0:
        print("allocate failed: %d" % code)
        return 1
    if cmd == "connect":
        for peer in args:
            print("%s %d" % (peer, s.connect(ctl, peer)[0]), flush=True)
        return 0
    if cmd == "echo":
        data = connect_bind(s, ctl, args[0])
        if data is None:
            return 1
        n = int(args[1])
        print("echoed %d" % n if echo_through(data, None, n) else "echo mismatch")
        return 0
    if cmd == "stall":
        data = connect_bind(s, ctl, args[0])
        if data is None:
            return 1
        print("stalled after %d" % stall(data, float(args[1])), flush=True)
        if len(args) > 2:
            with open(args[2], "w") as f:
                f.write("stalled\n")
            time.sleep(float(args[1]))
        return 0
    if cmd == "bindcheck":
        code, rattrs = s.connect(ctl, args[0])
        cid = rattrs.get(0x002A, b"\0\0\0\0")
        bogus = struct.pack("!I", struct.unpack("!I", cid)[0] ^ 0x55555500)
        unknown, _ = s.bind(bogus)
        first, _keep = s.bind(cid)
        double, _ = s.bind(cid)
        print("connect %d unknown %d first %d double %d" % (code, unknown, first, double))
        return 0
    if cmd == "passive":
        relayed = unxor_addr(rattrs[0x0016])
        queue = []
        code, _ = s.request(ctl, CREATE_PERMISSION, [attr(0x0012, xor_addr("127.0.0.1", 0))],
                            queue)
        if code != 0:
            print("permission %d" % code)
            return 1
        peer = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        peer.bind(("127.0.0.1", int(args[0])))
        peer.settimeout(T)
        peer.connect(relayed)
        mtype, _, iattrs = read_msg(ctl)
        if mtype != CONNECTION_ATTEMPT_IND or 0x002A not in iattrs:
            print("no CONNECTION-ATTEMPT (type 0x%04x)" % mtype)
            return 1
        if unxor_addr(iattrs[0x0012]) != peer.getsockname():
            print("CONNECTION-ATTEMPT names %s:%d" % unxor_addr(iattrs[0x0012]))
            return 1
        code, data = s.bind(iattrs[0x002A])
        if code != 0:
            print("bind %d" % code)
            return 1
        print("passive ok" if echo_through(data, peer, 50000) else "passive mismatch")
        return 0
    print("unknown command")
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, EOFError) as e:
        print("error: %s" % e)
        sys.exit(1)
