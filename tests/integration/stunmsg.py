"""STUN message building and parsing shared by the integration tests' Python clients
(turnflow.py, oauthcheck.py, tcprelay.py): attributes, a message with an optional
MESSAGE-INTEGRITY (SHA-1), a parser and XOR-MAPPED-ADDRESS encoding (RFC 8489)."""
import hashlib
import hmac
import os
import socket
import struct

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


def xor_addr(ip, port):
    a = struct.unpack("!I", socket.inet_aton(ip))[0] ^ MAGIC
    return struct.pack("!BBHI", 0, 1, port ^ (MAGIC >> 16), a)


def unxor_addr(v):
    port = struct.unpack("!H", v[2:4])[0] ^ (MAGIC >> 16)
    a = struct.unpack("!I", v[4:8])[0] ^ MAGIC
    return socket.inet_ntoa(struct.pack("!I", a)), port
