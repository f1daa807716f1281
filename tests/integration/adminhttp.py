"""Raw HTTP clients for t_admin_api.sh that curl cannot play.

  adminhttp.py slow HOST PORT      sends half a request and waits (at most 40 s)
                                   for the server to close; prints "closed after N s"
                                   and exits 0, or exits 1 when it stays open.
"""
import socket
import sys
import time


def slow(host, port):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n")
    s.settimeout(40)
    start = time.monotonic()
    try:
        data = s.recv(4096)
    except socket.timeout:
        print("still open after 40 s")
        return 1
    except ConnectionResetError:
        data = b""
    took = time.monotonic() - start
    print(f"closed after {took:.0f} s ({len(data)} bytes answered)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "slow":
        sys.exit(slow(sys.argv[2], sys.argv[3]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
