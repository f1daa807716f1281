#!/usr/bin/env python3
"""A stand-in for systemd's notification socket, for t_sdnotify.sh.

notify_listener.py ADDRESS OUT SECONDS: binds a unix datagram socket at
ADDRESS (a path, or @name for the abstract namespace), writes "LISTENING" to
OUT, then one line per datagram received, "pid=PID STATE" with the sender's
PID from its credentials and the state's newlines shown as '|'. Exits after
SECONDS.
"""
import socket
import struct
import sys
import time


def main():
    address, out, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    sock.bind("\0" + address[1:] if address.startswith("@") else address)
    deadline = time.monotonic() + seconds
    creds_size = socket.CMSG_SPACE(struct.calcsize("3i"))
    with open(out, "a", buffering=1, encoding="utf-8") as f:
        f.write("LISTENING\n")
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                data, anc, _flags, _addr = sock.recvmsg(4096, creds_size)
            except socket.timeout:
                break
            pid = 0
            for level, kind, value in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", value[: struct.calcsize("3i")])[0]
            text = data.decode("utf-8", "replace").replace("\n", "|")
            f.write("pid=%d %s\n" % (pid, text))


if __name__ == "__main__":
    main()
