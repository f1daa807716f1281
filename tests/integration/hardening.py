#!/usr/bin/env python3
"""Clients that misbehave, for t_hardening.sh (issue 17). Loopback only; every
loop is bounded in count and time.

hardening.py trickle HOST PORT TLS_PORT N SECONDS
    N TCP, N TLS (handshake done) and N TLS-handshake connections each get one
    byte a second of a frame (or of a ClientHello) that never completes; prints
    "tcp C/N tls C/N handshake C/N max S": how many the server closed and when
    the last one went (seconds), within SECONDS.
hardening.py conns HOST PORT N SRC OTHER
    N TCP connections from SRC, held, each sends a Binding request; then one
    from OTHER. Prints "answered A closed C other yes|no".
hardening.py crowd HOST PORT N SRC OTHER USER PASSWORD REALM COUNT
    N idle TCP connections from SRC, held while COUNT UDP Allocates from OTHER
    run; prints "open O ok K 508 E other X".
hardening.py guess HOST PORT SRC USER REALM COUNT
    COUNT Allocates with a wrong password over one TCP connection from SRC;
    prints "sent N answered A".
hardening.py spread HOST PORT USER REALM NSRC COUNT
    COUNT wrong-password Allocates over UDP from each of NSRC 127.0.1.x
    addresses; prints "sent N answered A".
hardening.py sizes HOST PORT
    minimal unauthenticated requests over UDP; prints "METHOD REQ ANSWER CODE".
hardening.py budget HOST PORT COUNT
    COUNT unauthenticated Allocates from COUNT source ports; prints "sent N answered A".
hardening.py partial HOST PORT N BYTES
    N TCP connections each send a STUN header announcing 60000 bytes, then BYTES
    of them; prints "closed C/N other yes|no" after 3 s (C: closed by the
    server), "other" being a Binding on a new connection.
hardening.py trailing HOST PORT
    a Binding request with and without 4 bytes after its length; prints
    "plain yes|no trailing yes|no".
"""
import hashlib
import os
import select
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stunmsg  # noqa: E402

ALLOCATE = struct.pack("!HHI", 0x0003, 8, stunmsg.MAGIC)
TRANSPORT = stunmsg.attr(0x0019, b"\x11\0\0\0")


def allocate_req():
    return ALLOCATE + os.urandom(12) + TRANSPORT


def closed(sock):
    """True when the server closed sock (EOF or reset); never blocks."""
    try:
        if not select.select([sock], [], [], 0)[0]:
            return False
        return sock.recv(4096) == b""
    except ssl.SSLWantReadError:
        return False
    except (OSError, ssl.SSLError):
        return True


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def client_hello():
    """The bytes of a TLS ClientHello, from an in-memory handshake."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = tls_context().wrap_bio(inc, out, server_hostname="turnpike.test")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def trickle(host, port, tls_port, n, seconds):
    frame = allocate_req()
    hello = client_hello()
    conns = []  # [kind, socket, bytes, next index, closed at]
    for _ in range(n):
        conns.append(["tcp", socket.create_connection((host, port), 5), frame, 0, None])
        raw = socket.create_connection((host, tls_port), 5)
        tls = tls_context().wrap_socket(raw, server_hostname="turnpike.test")
        tls.setblocking(False)
        conns.append(["tls", tls, frame, 0, None])
        conns.append(["handshake", socket.create_connection((host, tls_port), 5), hello, 0,
                      None])
    start = time.monotonic()
    while time.monotonic() - start < seconds and any(c[4] is None for c in conns):
        for c in conns:
            if c[4] is not None:
                continue
            if closed(c[1]):
                c[4] = time.monotonic() - start
                continue
            try:
                if c[3] < len(c[2]) - 1:  # never the last byte
                    c[1].send(c[2][c[3]:c[3] + 1])
                    c[3] += 1
            except (OSError, ssl.SSLError):
                c[4] = time.monotonic() - start
        time.sleep(1.0)
    out = []
    for kind in ("tcp", "tls", "handshake"):
        mine = [c for c in conns if c[0] == kind]
        out.append("%s %d/%d" % (kind, sum(c[4] is not None for c in mine), len(mine)))
    last = max([c[4] for c in conns if c[4] is not None] or [0])
    print(" ".join(out) + " max %.0f" % last)


def binding_over(sock):
    """Sends a Binding request; True when its answer comes back within 3 s."""
    tid = os.urandom(12)
    try:
        sock.sendall(struct.pack("!HHI", 0x0001, 0, stunmsg.MAGIC) + tid)
        deadline = time.monotonic() + 3
        got = b""
        while time.monotonic() < deadline and len(got) < 20:
            if select.select([sock], [], [], 0.2)[0]:
                data = sock.recv(4096)
                if not data:
                    return False
                got += data
        return len(got) >= 20 and got[8:20] == tid
    except OSError:
        return False


def connect_from(src, host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect((host, port))
    return s


def conns(host, port, n, src, other):
    held, answered = [], 0
    for _ in range(n):
        s = connect_from(src, host, port)
        held.append(s)
        answered += binding_over(s)
    o = connect_from(other, host, port)
    ok = binding_over(o)
    print("answered %d closed %d other %s" % (answered, n - answered, "yes" if ok else "no"))


def udp_allocate(src, server, user, password, realm):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((src, 0))
    try:
        rtype, a = turnflow_transact(sock, server, 0x0003, [TRANSPORT])
        if rtype != 0x0113 or 0x0015 not in a:
            return "other", sock
        key = hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()).digest()
        cred = [stunmsg.attr(0x0006, user.encode()), stunmsg.attr(0x0014, realm.encode()),
                stunmsg.attr(0x0015, a[0x0015])]
        rtype, a = turnflow_transact(sock, server, 0x0003, [TRANSPORT] + cred, key)
        if rtype == 0x0103:
            return "ok", sock
        code = a.get(0x0009, b"\0\0\0\0")
        return str(code[2] * 100 + code[3]), sock
    except OSError:
        return "other", sock


def turnflow_transact(sock, server, mtype, attrs, key=None):
    data, tid = stunmsg.message(mtype, attrs, key)
    return stunmsg.exchange(sock, server, data, tid, tries=3)


def crowd(host, port, n, src, other, user, password, realm, count):
    held = []
    for _ in range(n):
        try:
            held.append(connect_from(src, host, port))
        except OSError:
            break
    time.sleep(1.0)  # the server has taken (or refused) them all
    still = sum(not closed(s) for s in held)
    results, socks = {}, []
    for _ in range(count):
        r, s = udp_allocate(other, (host, port), user, password, realm)
        results[r] = results.get(r, 0) + 1
        socks.append(s)
    print("open %d ok %d 508 %d other %d" % (still, results.get("ok", 0),
                                             results.get("508", 0),
                                             count - results.get("ok", 0) -
                                             results.get("508", 0)))


def wrong_allocate(user, realm, nonce):
    key = hashlib.md5(("%s:%s:wrong-password" % (user, realm)).encode()).digest()
    cred = [stunmsg.attr(0x0006, user.encode()), stunmsg.attr(0x0014, realm.encode()),
            stunmsg.attr(0x0015, nonce)]
    return stunmsg.message(0x0003, [TRANSPORT] + cred, key)[0]


def count_answers(sock, quiet, limit):
    """Reads STUN answers from a stream until quiet seconds pass without any."""
    buf, n, end = b"", 0, time.monotonic() + limit
    last = time.monotonic()
    while time.monotonic() < end and time.monotonic() - last < quiet:
        if not select.select([sock], [], [], 0.1)[0]:
            continue
        data = sock.recv(65536)
        if not data:
            break
        last = time.monotonic()
        buf += data
        while len(buf) >= 20:
            length = struct.unpack("!H", buf[2:4])[0]
            if len(buf) < 20 + length:
                break
            buf = buf[20 + length:]
            n += 1
    return n


def guess(host, port, src, user, realm, count):
    s = connect_from(src, host, port)
    s.sendall(allocate_req())
    s.settimeout(5)
    got = s.recv(4096)
    nonce = stunmsg.parse(got)[2].get(0x0015)
    if nonce is None:
        sys.exit("guess: no nonce in the first answer")
    s.setblocking(False)
    sent = 0
    for i in range(count):
        data = wrong_allocate(user, realm, nonce)
        s.setblocking(True)
        s.sendall(data)
        sent += 1
    s.setblocking(True)
    answered = count_answers(s, 2.0, 30)
    print("sent %d answered %d" % (sent, answered))


def spread(host, port, user, realm, nsrc, count):
    sent = answered = 0
    for k in range(nsrc):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.1.%d" % (k + 1), 0))
        rtype, a = turnflow_transact(sock, (host, port), 0x0003, [TRANSPORT])
        if 0x0015 not in a:
            sys.exit("spread: no nonce")
        for _ in range(count):
            sock.sendto(wrong_allocate(user, realm, a[0x0015]), (host, port))
            sent += 1
            if select.select([sock], [], [], 0.05)[0]:
                sock.recv(4096)
                answered += 1
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            if select.select([sock], [], [], 0.1)[0]:
                sock.recv(4096)
                answered += 1
        sock.close()
    print("sent %d answered %d" % (sent, answered))


def udp_ask(sock, server, data, wait=1.0):
    sock.sendto(data, server)
    end = time.monotonic() + wait
    while time.monotonic() < end:
        if select.select([sock], [], [], 0.1)[0]:
            got = sock.recv(65536)
            if got[8:20] == data[8:20]:
                return got
    return None


def sizes(host, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    for name, mtype, attrs in (("Allocate", 0x0003, TRANSPORT), ("Refresh", 0x0004, b""),
                               ("CreatePermission", 0x0008, b""),
                               ("ChannelBind", 0x0009, b"")):
        req = struct.pack("!HHI", mtype, len(attrs), stunmsg.MAGIC) + os.urandom(12) + attrs
        got = udp_ask(sock, (host, port), req)
        code = 0
        if got is not None:
            err = stunmsg.parse(got)[2].get(0x0009, b"\0\0\0\0")
            code = err[2] * 100 + err[3]
        print("%s %d %d %d" % (name, len(req), len(got) if got else 0, code))


def budget(host, port, count):
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    for s in socks:
        s.sendto(allocate_req(), (host, port))
    answered, end = 0, time.monotonic() + 1.5
    pending = list(socks)
    while time.monotonic() < end and pending:
        ready = select.select(pending, [], [], 0.1)[0]
        for s in ready:
            s.recv(4096)
            answered += 1
            pending.remove(s)
    print("sent %d answered %d" % (count, answered))


def partial(host, port, n, nbytes):
    held = []
    for _ in range(n):
        s = socket.create_connection((host, port), 5)
        head = struct.pack("!HHI", 0x0003, 60000, stunmsg.MAGIC) + os.urandom(12)
        try:
            s.sendall(head + b"\0" * nbytes)
        except OSError:
            pass
        held.append(s)
    time.sleep(3.0)
    gone = sum(closed(s) for s in held)
    other = socket.create_connection((host, port), 5)
    ok = binding_over(other)
    print("closed %d/%d other %s" % (gone, n, "yes" if ok else "no"))


def trailing(host, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    plain = struct.pack("!HHI", 0x0001, 0, stunmsg.MAGIC) + os.urandom(12)
    extra = struct.pack("!HHI", 0x0001, 0, stunmsg.MAGIC) + os.urandom(12) + b"\0\0\0\0"
    a = udp_ask(sock, (host, port), plain) is not None
    b = any(udp_ask(sock, (host, port), extra, 0.5) is not None for _ in range(3))
    print("plain %s trailing %s" % ("yes" if a else "no", "yes" if b else "no"))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    host, port = args[0], int(args[1])
    if cmd == "trickle":
        trickle(host, port, int(args[2]), int(args[3]), float(args[4]))
    elif cmd == "conns":
        conns(host, port, int(args[2]), args[3], args[4])
    elif cmd == "crowd":
        crowd(host, port, int(args[2]), args[3], args[4], args[5], args[6], args[7],
              int(args[8]))
    elif cmd == "guess":
        guess(host, port, args[2], args[3], args[4], int(args[5]))
    elif cmd == "spread":
        spread(host, port, args[2], args[3], int(args[4]), int(args[5]))
    elif cmd == "sizes":
        sizes(host, port)
    elif cmd == "budget":
        budget(host, port, int(args[2]))
    elif cmd == "partial":
        partial(host, port, int(args[2]), int(args[3]))
    elif cmd == "trailing":
        trailing(host, port)
    else:
        sys.exit("hardening.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
