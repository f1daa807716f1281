#!/usr/bin/env python3
"""RFC 7635 negative cases against a running server, over UDP on loopback.

oauthcheck.py HOST PORT SERVER_NAME KID IKM_B64 ALG REALM
Seals its own access tokens (AES-GCM, as RFC 7635 appendix B and coturn's
clients lay them out) with the AS-RS key KID, then prints one line per case:
"NAME CODE" where CODE is the STUN error code answered (0 for success):
  valid       a fresh token, MESSAGE-INTEGRITY by its mac_key (allocates)
  forged      the same token with its tag altered
  expired     a token whose timestamp + lifetime is past
  otherserver a token sealed for another server name
  wrongmac    a valid token, MESSAGE-INTEGRITY by another key
  replay      the exact bytes of the valid Allocate, sent again from another
              address (127.0.0.2)
  after       a Refresh with a valid token and a fresh nonce from the
              replaying address (437: the replay left no allocation there)
  reuse       the same token with its mac_key, a new transaction and a nonce of
              its own from another port of the first address (0: RFC 7635 lets
              the token's holder make several allocations with it)
Every wait is bounded.
"""
import base64
import os
import socket
import struct
import sys
import time

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stunmsg import attr, exchange, message



def send(sock, server, data, tid):
    rtype, rattrs = exchange(sock, server, data, tid)
    if rtype is not None:
        return rtype, rattrs
    sys.exit("oauthcheck: no answer")


def code(rtype, rattrs):
    if rtype & 0x0110 != 0x0110:
        return 0
    e = rattrs.get(0x0009, b"\0\0\0\0")
    return (e[2] & 7) * 100 + e[3]


def token(key, alg, server_name, mac, ts, lifetime):
    k = base64.b64decode(key)[:16 if alg == "A128GCM" else 32]
    nonce = os.urandom(12)
    plain = struct.pack("!H", len(mac)) + mac + struct.pack("!QI", ts << 16, lifetime)
    return struct.pack("!H", 12) + nonce + AESGCM(k).encrypt(nonce, plain, server_name)


def sock_new(ip="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    return s


def challenge(sock, server):
    data, tid = message(0x0003, [attr(0x0019, b"\x11\0\0\0")])
    rtype, rattrs = send(sock, server, data, tid)
    return rattrs[0x0015], rattrs.get(0x802E, b"")


def allocate(sock, server, kid, realm, nonce, tok, key):
    attrs = [attr(0x0019, b"\x11\0\0\0"), attr(0x001B, tok), attr(0x0006, kid),
             attr(0x0014, realm), attr(0x0015, nonce)]
    return message(0x0003, attrs, key)


def main():
    host, port, sname, kid, ikm, alg, realm = sys.argv[1:8]
    server = (host, int(port))
    sname, kid, realm = sname.encode(), kid.encode(), realm.encode()
    mac = os.urandom(20)
    now = int(time.time())
    good = token(ikm, alg, sname, mac, now, 600)
    cases = [
        ("forged", good[:-1] + bytes([good[-1] ^ 1]), mac),
        ("expired", token(ikm, alg, sname, mac, now - 4000, 600), mac),
        ("otherserver", token(ikm, alg, b"other.example", mac, now, 600), mac),
        ("wrongmac", good, os.urandom(20)),
    ]
    victim = sock_new()
    nonce, tpa = challenge(victim, server)
    print("third-party-authorization", tpa.decode())
    for name, tok, key in cases:
        data, tid = allocate(victim, server, kid, realm, nonce, tok, key)
        print(name, code(*send(victim, server, data, tid)))
    data, tid = allocate(victim, server, kid, realm, nonce, good, mac)
    print("valid", code(*send(victim, server, data, tid)))
    thief = sock_new("127.0.0.2")
    print("replay", code(*send(thief, server, data, tid)))
    nonce2, _ = challenge(thief, server)
    refresh = [attr(0x001B, good), attr(0x0006, kid), attr(0x0014, realm), attr(0x0015, nonce2)]
    rdata, rtid = message(0x0004, refresh, mac)
    print("after", code(*send(thief, server, rdata, rtid)))
    holder = sock_new()
    nonce3, _ = challenge(holder, server)
    data, tid = allocate(holder, server, kid, realm, nonce3, good, mac)
    print("reuse", code(*send(holder, server, data, tid)))

main()
