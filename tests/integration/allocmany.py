#!/usr/bin/env python3
"""Many UDP allocations from one process, held for a while.

allocmany.py HOST PORT USER PASSWORD REALM COUNT SECONDS
Makes COUNT allocations one after the other, each from its own UDP socket on
127.0.0.1 (long-term credentials, MD5 key), prints "ok N 508 M other K" and
then holds every allocation (and its socket) for SECONDS before exiting
without deallocating. Every wait is bounded; loopback only.
"""
import hashlib
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stunmsg  # noqa: E402  (message building and parsing)


def transact(sock, server, mtype, attrs, key=None):
    """stunmsg.exchange without select(), which refuses descriptors past 1023."""
    data, tid = stunmsg.message(mtype, attrs, key)
    sock.settimeout(0.2)
    for _ in range(5):
        sock.sendto(data, server)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                got = sock.recv(65536)
            except socket.timeout:
                continue
            if len(got) >= 20 and got[0] < 0x40:
                rtype, rtid, rattrs = stunmsg.parse(got)
                if rtid == tid:
                    return rtype, rattrs
    return None, {}


def allocate(server, user, password, realm):
    """One allocation: "ok", the error code as a string, or "other"."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    req = [stunmsg.attr(0x0019, b"\x11\0\0\0")]
    rtype, a = transact(sock, server, 0x0003, req)
    if rtype != 0x0113 or 0x0015 not in a:
        return sock, "other"
    key = hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()).digest()
    cred = [stunmsg.attr(0x0006, user.encode()), stunmsg.attr(0x0014, realm.encode()),
            stunmsg.attr(0x0015, a[0x0015])]
    rtype, a = transact(sock, server, 0x0003, req + cred, key)
    if rtype == 0x0103:
        return sock, "ok"
    err = a.get(0x0009, b"")
    if rtype == 0x0113 and len(err) >= 4:
        return sock, str((err[2] & 7) * 100 + err[3])
    return sock, "other"


def main():
    host, port, user, password, realm = sys.argv[1:6]
    count, seconds = int(sys.argv[6]), float(sys.argv[7])
    server = (host, int(port))
    counts, socks = {"ok": 0, "508": 0, "other": 0}, []
    for _ in range(count):
        sock, what = allocate(server, user, password, realm)
        counts[what if what in counts else "other"] += 1
        socks.append(sock)
    print("ok %d 508 %d other %d" % (counts["ok"], counts["508"], counts["other"]), flush=True)
    time.sleep(seconds)


if __name__ == "__main__":
    main()
