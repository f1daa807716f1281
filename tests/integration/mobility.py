#!/usr/bin/env python3
"""RFC 8016 mobility as a client sees it, through a TURN server with mobility on.

mobility.py HOST PORT USER PASSWORD REALM OTHER-USER OTHER-PASSWORD TRIES
mobility.py HOST PORT USER PASSWORD REALM off
Allocates from socket A asking for a MOBILITY-TICKET (0x8030), binds a channel
to a local peer, then refreshes with the ticket from socket B and checks that
the peer's data now arrives at B through the same channel, that B's ChannelData
reaches the peer, and that A's requests get 437. Refused, each changing
nothing (the peer's data still reaches B): the used ticket replayed, a forged
ticket, the ticket sent by another user. A further move to socket C with the
latest ticket still works; TRIES more moves (new sockets: the kernel spreads
them over the workers) each relay a round trip. Prints one "ok ..." line per
check, "FAIL ..." and exit status 1 on the first failure. Loopback only; every
wait is bounded. With "off" (a server without mobility): an Allocate asking
for a ticket gets 405 (RFC 8016 Mobility Forbidden), one without gets no ticket.
"""
import hashlib
import select
import socket
import struct
import sys

from stunmsg import attr, parse, xor_addr, unxor_addr
from turnflow import transact

CHANNEL = 0x4001
TICKET = 0x8030


def fail(what):
    print("FAIL " + what)
    sys.exit(1)


def ok(what):
    print("ok " + what)


def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def error_code(a):
    v = a.get(0x0009, b"\0\0\0\0")
    return (v[2] & 7) * 100 + v[3]


def recv_within(sock, seconds=1.0):
    """The first datagram sock gets within seconds, or None."""
    if select.select([sock], [], [], seconds)[0]:
        return sock.recv(65536)
    return None


class Client:
    def __init__(self, server, user, password, realm):
        self.server, self.user, self.realm = server, user, realm
        self.key = hashlib.md5(("%s:%s:%s" % (user, realm, password)).encode()).digest()
        self.nonce = None

    def request(self, sock, mtype, attrs):
        """A request with credentials, once more after a 401/438 with the new NONCE."""
        for _ in range(2):
            if self.nonce is None:
                rtype, a = transact(sock, self.server, mtype, attrs)
            else:
                cred = [attr(0x0006, self.user.encode()), attr(0x0014, self.realm.encode()),
                        attr(0x0015, self.nonce)]
                rtype, a = transact(sock, self.server, mtype, attrs + cred, self.key)
            if rtype & 0x0110 == 0x0110 and error_code(a) in (401, 438) and 0x0015 in a:
                self.nonce = a[0x0015]
                continue
            return rtype, a
        return rtype, a


def mobility_off(alice):
    sock = udp()
    rtype, a = alice.request(sock, 0x0003, [attr(0x0019, b"\x11\0\0\0"), attr(TICKET, b"")])
    if rtype != 0x0113 or error_code(a) != 405:
        fail("mobility off, Allocate with MOBILITY-TICKET: 0x%04x error %d" % (rtype, error_code(a)))
    ok("mobility off: an Allocate asking for a ticket gets 405 Mobility Forbidden")
    rtype, a = alice.request(sock, 0x0003, [attr(0x0019, b"\x11\0\0\0")])
    if rtype != 0x0103 or TICKET in a:
        fail("mobility off, plain Allocate: 0x%04x, ticket %r" % (rtype, a.get(TICKET)))
    ok("mobility off: a plain Allocate succeeds without a ticket")


def main():
    host, port, user, password, realm = sys.argv[1:6]
    server = (host, int(port))
    alice = Client(server, user, password, realm)
    if sys.argv[6] == "off":
        mobility_off(alice)
        return
    user2, password2, tries = sys.argv[6:9]
    other = Client(server, user2, password2, realm)
    a_sock, peer = udp(), udp()

    rtype, a = alice.request(a_sock, 0x0003, [attr(0x0019, b"\x11\0\0\0"), attr(TICKET, b"")])
    if rtype != 0x0103 or len(a.get(TICKET, b"")) != 32:
        fail("Allocate asking for mobility: 0x%04x, ticket %r" % (rtype, a.get(TICKET)))
    ticket1, relayed = a[TICKET], unxor_addr(a[0x0016])
    ok("Allocate from A got a 32-character MOBILITY-TICKET")
    bind = [attr(0x000C, struct.pack("!HH", CHANNEL, 0)),
            attr(0x0012, xor_addr(*peer.getsockname()))]
    rtype, a = alice.request(a_sock, 0x0009, bind)
    if rtype != 0x0109:
        fail("ChannelBind from A: 0x%04x error %d" % (rtype, error_code(a)))

    def peer_reaches(sock, what):
        """The peer's datagram arrives at sock as ChannelData on CHANNEL."""
        for _ in range(3):
            peer.sendto(what, relayed)
            got = recv_within(sock)
            if got is not None and got[:2] == struct.pack("!H", CHANNEL) and got[4:] == what:
                return True
        return False

    if not peer_reaches(a_sock, b"before the move"):
        fail("peer data did not reach A through the channel")
    b_sock = udp()
    rtype, a = alice.request(b_sock, 0x0004, [attr(TICKET, ticket1)])
    if rtype != 0x0104 or len(a.get(TICKET, b"")) != 32 or a[TICKET] == ticket1:
        fail("Refresh with the ticket from B: 0x%04x error %d" % (rtype, error_code(a)))
    ticket2 = a[TICKET]
    ok("Refresh with the ticket from B succeeded with a fresh ticket")
    if not peer_reaches(b_sock, b"after the move"):
        fail("peer data did not reach B through the channel after the move")
    if recv_within(a_sock, 0.3) is not None:
        fail("A still got data after the move")
    ok("peer data arrives at B on channel 0x%04x; A gets nothing" % CHANNEL)
    for _ in range(3):
        b_sock.sendto(struct.pack("!HH", CHANNEL, 8) + b"from B!!", server)
        got = recv_within(peer)
        if got == b"from B!!":
            break
    else:
        fail("ChannelData from B did not reach the peer")
    ok("ChannelData from B reaches the peer")
    rtype, a = alice.request(a_sock, 0x0004, [])
    if rtype != 0x0114 or error_code(a) != 437:
        fail("Refresh from A after the move: 0x%04x error %d" % (rtype, error_code(a)))
    ok("A's Refresh gets 437: the old 5-tuple no longer owns the allocation")

    forged = bytearray(ticket2)
    forged[20] = ord("A") if forged[20] != ord("A") else ord("B")
    for who, ticket, want, what in ((alice, ticket1, 400, "the used ticket replayed"),
                                    (alice, bytes(forged), 400, "a forged ticket"),
                                    (other, ticket2, 441, "the ticket sent by another user")):
        c_sock = udp()
        rtype, a = who.request(c_sock, 0x0004, [attr(TICKET, ticket)])
        if rtype != 0x0114 or error_code(a) != want:
            fail("%s: 0x%04x error %d, not %d" % (what, rtype, error_code(a), want))
        if not peer_reaches(b_sock, b"still at B"):
            fail("%s moved the allocation away from B" % what)
        ok("%s is refused with %d and changes nothing" % (what, want))
        c_sock.close()

    sock, ticket = b_sock, ticket2
    for i in range(int(tries)):
        new = udp()
        rtype, a = alice.request(new, 0x0004, [attr(TICKET, ticket)])
        if rtype != 0x0104 or len(a.get(TICKET, b"")) != 32:
            fail("move %d: 0x%04x error %d" % (i + 1, rtype, error_code(a)))
        if not peer_reaches(new, b"move %d" % i):
            fail("move %d: peer data did not follow" % (i + 1))
        sock.close()
        sock, ticket = new, a[TICKET]
    ok("%s further moves, each relaying peer data to the new socket" % tries)


if __name__ == "__main__":
    main()
