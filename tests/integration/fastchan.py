#!/usr/bin/env python3
"""ChannelData through a TURN relay before and after the channel's permission ends.

fastchan.py HOST PORT USER PASSWORD REALM PEER-IP PEER-PORT COUNT WAIT
Allocates with long-term credentials (RFC 8656, MD5 key), binds channel 0x4001
to the peer (an echo), sends COUNT ChannelData messages and counts the echoes
("before N"); then waits WAIT seconds (longer than permission-lifetime, so the
permission is gone), sends COUNT more and counts what comes back within a
second ("after N"). IPv4; every wait is bounded.
"""
import select
import socket
import struct
import sys
import time

import turnflow
from stunmsg import attr, xor_addr

CHANNEL = 0x4001


def send_and_count(sock, server, count, seconds):
    for i in range(count):
        sock.sendto(struct.pack("!HH", CHANNEL, 8) + struct.pack("!Q", i), server)
    got, deadline = 0, time.monotonic() + seconds
    while got < count and time.monotonic() < deadline:
        if not select.select([sock], [], [], 0.1)[0]:
            continue
        data = sock.recv(65536)
        if len(data) >= 4 and struct.unpack("!H", data[:2])[0] == CHANNEL:
            got += 1
    return got


def main():
    host, port, user, password, realm, peer_ip = sys.argv[1:7]
    peer_port, count, wait = int(sys.argv[7]), int(sys.argv[8]), float(sys.argv[9])
    server = (host, int(port))
    sock, key, cred, _ = turnflow.setup(server, user, password, realm, local="0.0.0.0")
    bind = [attr(0x000C, struct.pack("!HH", CHANNEL, 0)), attr(0x0012, xor_addr(peer_ip, peer_port))]
    rtype, a = turnflow.transact(sock, server, 0x0009, bind + cred, key)
    if rtype != 0x0109:
        sys.exit("fastchan: channel bind failed: 0x%04x %r" % (rtype, a.get(0x0009)))
    print("before %d" % send_and_count(sock, server, count, 10.0), flush=True)
    time.sleep(wait)
    print("after %d" % send_and_count(sock, server, count, 1.0), flush=True)


if __name__ == "__main__":
    main()
