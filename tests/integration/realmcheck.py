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
A CODE is 0 for a success, else the STUN error code. Every wait is bounded.
"""
import hashlib
import socket
import sys
import urllib.request

from stunmsg import attr
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


def main():
    what, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    server = (host, port)
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
