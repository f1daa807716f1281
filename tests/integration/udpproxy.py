#!/usr/bin/env python3
"""A UDP load balancer that speaks PROXY protocol v2 to its backend, for tests.

udpproxy.py LISTEN_PORT BACKEND_PORT SECONDS
Listens on 127.0.0.1:LISTEN_PORT. Each client address gets its own flow: a
socket on 127.0.0.1 (a new port) towards 127.0.0.1:BACKEND_PORT. Every
datagram from a client goes out on its flow prefixed with a PROXY v2 header
(command PROXY, AF_INET, DGRAM: the client's address and the listening
address); every datagram the backend sends to a flow goes back to its client
from the listening socket, unchanged. Prints "ready" once listening; exits
after SECONDS. Loopback only, at most 1000 flows.
"""
import select
import socket
import struct
import sys
import time

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def header(client, front):
    body = (socket.inet_aton(client[0]) + socket.inet_aton(front[0]) +
            struct.pack("!HH", client[1], front[1]))
    return SIG + bytes([0x21, 0x12]) + struct.pack("!H", len(body)) + body


def main(argv):
    front_port, backend_port, seconds = int(argv[1]), int(argv[2]), float(argv[3])
    backend = ("127.0.0.1", backend_port)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", front_port))
    flows, clients = {}, {}
    print("ready", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([front] + list(clients), [], [], 0.2)
        for s in ready:
            data, src = s.recvfrom(65536)
            if s is front:
                flow = flows.get(src)
                if flow is None:
                    if len(flows) >= 1000:
                        continue
                    flow = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    flow.bind(("127.0.0.1", 0))
                    flows[src] = flow
                    clients[flow] = src
                flow.sendto(header(src, front.getsockname()) + data, backend)
            elif src == backend:
                front.sendto(data, clients[s])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
