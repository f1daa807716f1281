#!/usr/bin/env python3
"""Multi-tenant realm checks over UDP with the ORIGIN attribute (0x802F).

realmcheck.py realm401 HOST PORT [ORIGIN]
    prints the REALM of the 401 an Allocate without credentials gets.
realmcheck.py quota HOST PORT USER PASSWORD REALM ORIGIN METRICS_URL
    allocates from three sockets in turn (prints "alloc1 CODE" to "alloc3
    CODE"), reads turnpike_realm_allocations{realm=REALM} from METRICS_URL while
    they hold what they got ("gauge N"), and frees the allocations (Refresh 0).
realmcheck.py consistency HOST PORT USER PASSWORD REALM ORIGIN OTHER
    allocates with ORIGIN, then refreshes with ORIGIN OTHER ("other CODE"),
    without ORIGIN ("none CODE") and with ORIGIN again ("same CODE").
realmcheck.py permit HOST PORT USER PASSWORD REALM ORIGIN PEER_IP
    allocates ("allocate CODE"), asks a permission for PEER_IP ("permit CODE")
    and frees the allocation. ORIGIN may be "".
realmcheck.py userhash HOST PORT USER PASSWORD REALM [PEER_PORT]
    RFC 8489 username anonymity: reads the 401 ("anonymity 1" when its nonce
    cookie offers it), allocates naming the user by USERHASH only, with SHA-256
    (PASSWORD-ALGORITHM, MESSAGE-INTEGRITY-SHA256: "first CODE" for the first
    answer, "allocate CODE" after retrying each 438 with its new nonce, as
    RFC 8489 9.2.5 asks, "mi-sha256 1" when the answer carries one); with
    PEER_PORT, relays a datagram to the echo peer 127.0.0.1:PEER_PORT and back
    ("relay 1"); then allocates with a wrong password ("wrongpw CODE") and with
    the USERHASH of an unknown user ("unknown CODE"); frees what it got.
A CODE is 0 for a success, else the STUN error code. Every wait is bounded.
"""
import base64
import hashlib
import hmac
import os
import select
import socket
import struct
import sys
import time
import urllib.request

from stunmsg import MAGIC, attr, exchange, message, parse, xor_addr
from turnflow import transact

ORIGIN = 0x802F


def code(rtype, attrs):
    if rtype & 0x0110 == 0x0100:
        return 0
    err = attrs.get(0x0009, b"\0\0\0\0")
    return (err[2] & 7) * 100 + err[3]


def origin_attrs(origin):
    return [attr(ORIGIN, origin.encode())] if origin else []


class Session:
    """One UDP socket with its nonce and key, sending ORIGIN on every request."""

    def __init__(self, server, user, password, realm, origin):
        self.server, self.origin = server, origin
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.key = hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()).digest()
        self.user, self.realm, self.nonce = user, realm, None

    def request(self, mtype, attrs, origin=None):
        if origin is None:
            origin = self.origin
        for _ in range(2):
            cred = []
            if self.nonce is not None:
                cred = [attr(0x0006, self.user.encode()), attr(0x0014, self.realm.encode()),
                        attr(0x0015, self.nonce)]
            rtype, a = transact(self.sock, self.server, mtype, attrs + cred + origin_attrs(origin),
                                self.key if self.nonce is not None else None)
            if code(rtype, a) in (401, 438) and 0x0015 in a and self.nonce != a[0x0015]:
                self.nonce = a[0x0015]
                continue
            return code(rtype, a)
        return code(rtype, a)

    def allocate(self):
        return self.request(0x0003, [attr(0x0019, b"\x11\0\0\0")])

    def permit(self, ip):
        xip = bytes(b ^ c for b, c in zip(socket.inet_aton(ip), b"\x21\x12\xa4\x42"))
        return self.request(0x0008, [attr(0x0012, b"\0\x01\x21\x12" + xip)])

    def refresh(self, lifetime, origin=None):
        return self.request(0x0004, [attr(0x000D, lifetime.to_bytes(4, "big"))], origin)


def gauge(url, realm):
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    name = 'turnpike_realm_allocations{realm="%s"}' % realm
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[-1]))
    return -1


def sha256_request(sock, server, mtype, attrs, key):
    """One request with MESSAGE-INTEGRITY-SHA256 (RFC 8489 14.6): (type, attributes)."""
    tid = os.urandom(12)
    body = b"".join(attrs)
    head = struct.pack("!HHI", mtype, len(body) + 36, MAGIC) + tid
    body += attr(0x001C, hmac.new(key, head + body, hashlib.sha256).digest())
    data = struct.pack("!HHI", mtype, len(body), MAGIC) + tid + body
    rtype, rattrs = exchange(sock, server, data, tid)
    if rtype is not None:
        return rtype, rattrs
    sys.exit("realmcheck: no answer to request 0x%04x" % mtype)


def userhash(server, user, password, realm, peer_port=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    alloc = [attr(0x0019, b"\x11\0\0\0")]
    _, a = transact(sock, server, 0x0003, alloc)
    state = {"nonce": a.get(0x0015, b"")}
    algs = a.get(0x8002, b"")
    nonce = state["nonce"]
    # RFC 8489 9.2: "obMatJos2" then the base64 of 24 feature bits; bit 1 is anonymity.
    feats = base64.b64decode(nonce[9:13]) if nonce.startswith(b"obMatJos2") else b"\0\0\0"
    print("anonymity %d" % (feats[2] >> 1 & 1))

    def attempt(name, pw, mtype, attrs):
        """The first answer's code, and the last answer after bounded 438 retries."""
        h = hashlib.sha256(("%s:%s" % (name, realm)).encode()).digest()
        key = hashlib.sha256(("%s:%s:%s" % (name, realm, pw)).encode()).digest()
        first = None
        for _ in range(50):
            cred = [attr(0x001E, h), attr(0x0014, realm.encode()), attr(0x0015, state["nonce"]),
                    attr(0x8002, algs), attr(0x001D, b"\0\x02\0\0")]
            rtype, r = sha256_request(sock, server, mtype, attrs + cred, key)
            if first is None:
                first = code(rtype, r)
            if code(rtype, r) != 438 or 0x0015 not in r:
                break
            state["nonce"] = r[0x0015]  # 438 Stale Nonce: again with the new nonce
            time.sleep(0.02)
        return first, rtype, r

    first, rtype, r = attempt(user, password, 0x0003, alloc)
    print("first %d" % first)
    print("allocate %d" % code(rtype, r))
    print("mi-sha256 %d" % (0x001C in r))
    if peer_port is not None and code(rtype, r) == 0:
        peer = [attr(0x0012, xor_addr("127.0.0.1", int(peer_port)))]
        _, rtype, r = attempt(user, password, 0x0008, peer)
        print("permit %d" % code(rtype, r))
        payload = os.urandom(32)
        data, _ = message(0x0016, peer + [attr(0x0013, payload)])
        got = b""
        for _ in range(5):
            sock.sendto(data, server)
            deadline = time.monotonic() + 1.0
            while got != payload and time.monotonic() < deadline:
                if not select.select([sock], [], [], 0.2)[0]:
                    continue
                pkt = sock.recv(65536)
                if len(pkt) >= 20 and pkt[0] < 0x40 and parse(pkt)[0] == 0x0017:
                    got = parse(pkt)[2].get(0x0013, b"")
            if got == payload:
                break
        print("relay %d" % (got == payload))
    print("wrongpw %d" % code(*attempt(user, password + "x", 0x0003, alloc)[1:]))
    print("unknown %d" % code(*attempt(user + "-nobody", password, 0x0003, alloc)[1:]))
    attempt(user, password, 0x0004, [attr(0x000D, b"\0\0\0\0")])


def main():
    what, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    server = (host, port)
    if what == "userhash":
        userhash(server, *sys.argv[4:8])
        return
    if what == "realm401":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        origin = sys.argv[4] if len(sys.argv) > 4 else None
        rtype, a = transact(s, server, 0x0003, [attr(0x0019, b"\x11\0\0\0")] + origin_attrs(origin))
        print(a.get(0x0014, b"").decode())
        return
    user, password, realm, origin = sys.argv[4:8]
    if what == "quota":
        sessions = [Session(server, user, password, realm, origin) for _ in range(3)]
        for i, s in enumerate(sessions):
            print("alloc%d %d" % (i + 1, s.allocate()))
        print("gauge %d" % gauge(sys.argv[8], realm))
        for s in sessions:
            s.refresh(0)
    elif what == "consistency":
        s = Session(server, user, password, realm, origin)
        print("allocate %d" % s.allocate())
        print("other %d" % s.refresh(600, sys.argv[8]))
        print("none %d" % s.refresh(600, ""))
        print("same %d" % s.refresh(600))
        s.refresh(0)
    elif what == "permit":
        s = Session(server, user, password, realm, origin)
        print("allocate %d" % s.allocate())
        print("permit %d" % s.permit(sys.argv[8]))
        s.refresh(0)
    else:
        sys.exit("realmcheck: unknown check " + what)


if __name__ == "__main__":
    main()
