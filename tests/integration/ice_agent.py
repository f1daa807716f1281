#!/usr/bin/python3
"""ICE agents (aioice, a third-party ICE implementation) for the interop tests.

  ice_agent.py pair --turn HOST:PORT [--transport udp|tcp] --user U --password P
                    [--rest-secret S] [--payload-size N]
      Two agents in this process, both with the TURN server; only their relay
      candidates are given to each other, so they can only connect through the
      relay. With --rest-secret both use TURN REST API credentials made from it
      (usernames "expiry:U" and "expiry:U-b"), not --password.
  ice_agent.py agent --role controlling|controlled --dir DIR
                    (--stun HOST:PORT | --turn HOST:PORT --user U --password P)
      One agent; candidates and ICE credentials go through files in DIR (shared
      across network namespaces). Used by the symmetric NAT test.

Prints one line per step; exits 0 when connected and the payloads arrived
intact both ways, 1 otherwise, 2 on usage errors. Every wait has a timeout.
"""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time

try:
    import aioice
    from aioice import Candidate, Connection, TransportPolicy
except ImportError as exc:  # the shell script turns this into a SKIP
    print("aioice unavailable: %s" % exc)
    sys.exit(77)

CONNECT_TIMEOUT = 20.0
RECV_TIMEOUT = 5.0


def host_port(text):
    host, _, port = text.rpartition(":")
    return (host.strip("[]"), int(port))


def rest_credentials(secret, user, ttl=3600):
    """TURN REST API: username "expiry:user", password base64(HMAC-SHA1(secret, username))."""
    username = "%d:%s" % (int(time.time()) + ttl, user)
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def describe(exc):
    text = str(exc)
    return type(exc).__name__ + (": " + text if text else "")


def relay_only(candidates):
    return [c for c in candidates if c.type == "relay"]


def selected_pair(conn):
    """(local type, remote type, local addr, remote addr) of the nominated pair, if known."""
    pairs = getattr(conn, "_nominated", None)  # no public accessor in aioice 0.8
    if not pairs or 1 not in pairs:
        return None
    pair = pairs[1]
    return (pair.local_candidate.type, pair.remote_candidate.type,
            "%s:%d" % pair.local_addr, "%s:%d" % pair.remote_addr)


async def exchange(name, conn, payload):
    await conn.send(payload)
    print("%s sent %d bytes" % (name, len(payload)), flush=True)


async def receive(name, conn, expected):
    data = await asyncio.wait_for(conn.recv(), RECV_TIMEOUT)
    ok = data == expected
    print("%s received %d bytes %s" % (name, len(data), "intact" if ok else "CORRUPTED"),
          flush=True)
    return ok


def report_pair(name, conn):
    sel = selected_pair(conn)
    if sel is None:
        print("%s selected pair unknown" % name, flush=True)
        return True
    print("%s selected pair %s -> %s (%s -> %s)" % (name, sel[0], sel[1], sel[2], sel[3]),
          flush=True)
    return sel[0] == "relay" and sel[1] == "relay"


async def run_pair(args):
    server = host_port(args.turn)
    creds_a = creds_b = (args.user, args.password)
    if args.rest_secret:
        creds_a = rest_credentials(args.rest_secret, args.user)
        creds_b = rest_credentials(args.rest_secret, args.user + "-b")
        print("REST credentials %s and %s" % (creds_a[0], creds_b[0]), flush=True)
    common = dict(turn_server=server, turn_transport=args.transport, use_ipv6=False,
                  transport_policy=TransportPolicy.RELAY)
    a = Connection(ice_controlling=True, turn_username=creds_a[0],
                   turn_password=creds_a[1], **common)
    b = Connection(ice_controlling=False, turn_username=creds_b[0],
                   turn_password=creds_b[1], **common)
    try:
        await asyncio.wait_for(asyncio.gather(a.gather_candidates(), b.gather_candidates()),
                               CONNECT_TIMEOUT)
        ra, rb = relay_only(a.local_candidates), relay_only(b.local_candidates)
        for name, cands in (("A", ra), ("B", rb)):
            for c in cands:
                print("%s relay candidate %s:%d" % (name, c.host, c.port), flush=True)
        if not ra or not rb:
            print("no relay candidate: the allocation failed", flush=True)
            return 1
        for src, dst, cands in ((a, b, ra), (b, a, rb)):
            for c in cands:
                await dst.add_remote_candidate(c)
            await dst.add_remote_candidate(None)
            dst.remote_username = src.local_username
            dst.remote_password = src.local_password
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), CONNECT_TIMEOUT)
        print("connected", flush=True)
        ok = report_pair("A", a) & report_pair("B", b)
        pa, pb = os.urandom(args.payload_size), os.urandom(args.payload_size)
        await exchange("A", a, pa)
        ok &= await receive("B", b, pa)
        await exchange("B", b, pb)
        ok &= await receive("A", a, pb)
        return 0 if ok else 1
    except Exception as exc:  # any failure of the library is the test's failure
        print("failed: %s" % describe(exc), flush=True)
        return 1
    finally:
        await asyncio.wait_for(asyncio.gather(a.close(), b.close(), return_exceptions=True), 5)


async def wait_file(path, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                return json.load(f)
        await asyncio.sleep(0.1)
    raise asyncio.TimeoutError("no %s after %d s" % (os.path.basename(path), timeout))


def write_file(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.rename(tmp, path)


async def run_agent(args):
    me = args.role
    other = "controlled" if me == "controlling" else "controlling"
    kw = dict(use_ipv6=False)
    if args.stun:
        kw["stun_server"] = host_port(args.stun)
    if args.turn:
        kw.update(turn_server=host_port(args.turn), turn_username=args.user,
                  turn_password=args.password, turn_transport=args.transport)
    conn = Connection(ice_controlling=(me == "controlling"), **kw)
    try:
        await asyncio.wait_for(conn.gather_candidates(), CONNECT_TIMEOUT)
        for c in conn.local_candidates:
            print("%s local candidate %s %s:%d" % (me, c.type, c.host, c.port), flush=True)
        write_file(os.path.join(args.dir, me + ".json"), {
            "ufrag": conn.local_username, "pwd": conn.local_password,
            "candidates": [c.to_sdp() for c in conn.local_candidates]})
        peer = await wait_file(os.path.join(args.dir, other + ".json"), CONNECT_TIMEOUT)
        for sdp in peer["candidates"]:
            await conn.add_remote_candidate(Candidate.from_sdp(sdp))
        await conn.add_remote_candidate(None)
        conn.remote_username, conn.remote_password = peer["ufrag"], peer["pwd"]
        await asyncio.wait_for(conn.connect(), args.connect_timeout)
        print("%s connected" % me, flush=True)
        report_pair(me, conn)
        payload = ("%s payload " % me).encode() * 20
        expected = ("%s payload " % other).encode() * 20
        await conn.send(payload)
        data = await asyncio.wait_for(conn.recv(), RECV_TIMEOUT)
        ok = data == expected
        print("%s received %d bytes %s" % (me, len(data), "intact" if ok else "CORRUPTED"),
              flush=True)
        # Let the other side read our payload before closing.
        await asyncio.sleep(1)
        return 0 if ok else 1
    except Exception as exc:  # any failure of the library is the test's failure
        print("%s failed: %s" % (me, describe(exc)), flush=True)
        return 1
    finally:
        await asyncio.wait_for(asyncio.gather(conn.close(), return_exceptions=True), 5)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("pair")
    pp.add_argument("--turn", required=True)
    pp.add_argument("--rest-secret")
    pp.add_argument("--payload-size", type=int, default=1000)
    pa = sub.add_parser("agent")
    pa.add_argument("--role", choices=("controlling", "controlled"), required=True)
    pa.add_argument("--dir", required=True)
    pa.add_argument("--stun")
    pa.add_argument("--turn")
    pa.add_argument("--connect-timeout", type=float, default=CONNECT_TIMEOUT)
    for q in (pp, pa):
        q.add_argument("--transport", choices=("udp", "tcp"), default="udp")
        q.add_argument("--user")
        q.add_argument("--password")
    args = p.parse_args()
    if args.cmd == "agent" and not (args.stun or args.turn):
        p.error("agent needs --stun or --turn")
    if args.turn and not (args.user and (args.password or getattr(args, "rest_secret", None))):
        p.error("--turn needs --user and --password (or --rest-secret)")
    print("aioice %s" % getattr(aioice, "__version__", "?"), flush=True)
    run = run_pair if args.cmd == "pair" else run_agent
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
