"""STUN message building and parsing shared by the integration tests' Python clients
(turnflow.py, oauthcheck.py, realmcheck.py, hardening.py, tcprelay.py): attributes, a
message with an optional MESSAGE-INTEGRITY (SHA-1), a parser, XOR-MAPPED-ADDRESS
encoding (RFC 8489) and one request/answer exchange over UDP."""
import hashlib
import hmac
import os
import select
import socket
import struct
import time

MAGIC = 0x2112A442


def attr(kind, value):
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * ((4 - len(value) % 4) % 4)


def message(mtype, attrs, key=None):
    tid = os.urandom(12)
    body = b"".join(attrs)
    if key is not None:
        head = struct.pack("!HHI", mtype, len(body) + 24, MAGIC) + tid
        body += attr(0x0008, hmac.new(key, head + body, hashlib.sha1).digest())
    return struct.pack("!HHI", mtype, len(body), MAGIC) + tid + body, tid


def parse(data):
    mtype, length = struct.unpack("!HH", data[:4])
    attrs, i = {}, 20
    while i + 4 <= 20 + length:
        kind, alen = struct.unpack("!HH", data[i:i + 4])
        attrs.setdefault(kind, data[i + 4:i + 4 + alen])
        i += 4 + alen + (4 - alen % 4) % 4
    return mtype, data[8:20], attrs


def exchange(sock, server, data, tid, tries=5):
    """Send DATA to SERVER up to TRIES times, waiting up to 1 s after each for the
    answer with transaction ID TID: (type, attributes), or (None, {}) if none came."""
    for _ in range(tries):
        sock.sendto(data, server)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if not select.select([sock], [], [], 0.2)[0]:
                continue
            got = sock.recv(65536)
            if len(got) >= 20 and got[0] < 0x40:
                rtype, rtid, rattrs = parse(got)
                if rtid == tid:
                    return rtype, rattrs
    return None, {}


def xor_addr(ip, port):
    a = struct.unpack("!I", socket.inet_aton(ip))[0] ^ MAGIC
    return struct.pack("!BBHI", 0, 1, port ^ (MAGIC >> 16), a)


def unxor_addr(v):
    port = struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
    a = struct.unpack("!I", v[4:8])[0] ^ MAGIC
    return socket.inet_ntoa(struct.pack("!I", a)), port
