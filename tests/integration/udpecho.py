#!/usr/bin/env python3
"""A UDP echo peer that counts what it receives.

udpecho.py COUNT-FILE ADDR:PORT [ADDR:PORT...]
Echoes every datagram back to its sender and writes the number received so far
(all sockets together) to COUNT-FILE whenever it changed and the sockets have
been quiet for 50 ms. IPv6 addresses go in brackets. Runs until killed.
"""
import os
import select
import socket
import sys


def open_socket(spec):
    host, port = spec.rsplit(":", 1)
    family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host.strip("[]"), int(port)))
    s.setblocking(False)
    return s


def write_count(path, n):
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % n)
    os.replace(path + ".tmp", path)


def main():
    path = sys.argv[1]
    socks = [open_socket(a) for a in sys.argv[2:]]
    received, written = 0, -1
    write_count(path, 0)
    while True:
        ready = select.select(socks, [], [], 0.05)[0]
        if not ready and received != written:
            write_count(path, received)
            written = received
        for s in ready:
            for _ in range(256):
                try:
                    data, src = s.recvfrom(65536)
                except BlockingIOError:
                    break
                received += 1
                try:
                    s.sendto(data, src)
                except OSError:
                    pass


if __name__ == "__main__":
    main()
