#!/usr/bin/env python3
"""One STUN Binding request over TCP or TLS from a chosen source address.

stunbind.py SRC HOST PORT tcp|tls|udp [CAFILE] [PREFIX-HEX]
Binds the socket to SRC (any 127.x address works on loopback), connects,
optionally writes PREFIX-HEX raw first (a hand-made PROXY header), sends a
Binding request (RFC 8489) and prints "mapped IP:PORT local IP:PORT" from the
XOR-MAPPED-ADDRESS of the answer and the socket's own address. With tls the
server certificate is checked against CAFILE (no host name check); with udp
PREFIX-HEX and the request go in one datagram. Exit 1 without an answer;
every wait is bounded (5 s).
"""
import os
import socket
import ssl
import struct
import sys

MAGIC = 0x2112A442


def xor_mapped(data):
    i = 20
    while i + 4 <= len(data):
        kind, alen = struct.unpack("!HH", data[i:i + 4])
        if kind == 0x0020 and alen == 8:
            port = struct.unpack("!H", data[i + 6:i + 8])[0] ^ (MAGIC >> 16)
            addr = struct.unpack("!I", data[i + 8:i + 12])[0] ^ MAGIC
            return "%s:%d" % (socket.inet_ntoa(struct.pack("!I", addr)), port)
        i += 4 + alen + (4 - alen % 4) % 4
    return None


def main(argv):
    src, host, port, mode = argv[1], argv[2], int(argv[3]), argv[4]
    ca = argv[5] if len(argv) > 5 and argv[5] else None
    prefix = bytes.fromhex(argv[6]) if len(argv) > 6 else b""
    request = struct.pack("!HHI", 0x0001, 0, MAGIC) + os.urandom(12)
    if mode == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(2)
        sock.bind((src, 0))
        local = "%s:%d" % sock.getsockname()
        data = b""
        for _ in range(3):
            sock.sendto(prefix + request, (host, port))
            try:
                data = sock.recv(4096)
                break
            except socket.timeout:
                continue
        mapped = xor_mapped(data) if len(data) >= 20 else None
        if mapped is None:
            print("no answer")
            return 1
        print("mapped %s local %s" % (mapped, local))
        return 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.bind((src, 0))
    sock.connect((host, port))
    local = "%s:%d" % sock.getsockname()
    if prefix:
        sock.sendall(prefix)
    if mode == "tls":
        ctx = ssl.create_default_context(cafile=ca)
        ctx.check_hostname = False
        sock = ctx.wrap_socket(sock)
    sock.sendall(request)
    data = b""
    while len(data) < 20 or len(data) < 20 + struct.unpack("!H", data[2:4])[0]:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    mapped = xor_mapped(data) if len(data) >= 20 else None
    if mapped is None:
        print("no answer (%d bytes)" % len(data))
        return 1
    print("mapped %s local %s" % (mapped, local))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except (OSError, ValueError) as e:
        print("error: %s" % e)
        sys.exit(1)
