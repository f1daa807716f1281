#!/usr/bin/env python3
"""Runs a command as on a kernel booted with ipv6.disable=1: socket(AF_INET6, ...)
fails with EAFNOSUPPORT. A seccomp filter (what systemd's RestrictAddressFamilies
installs), set with prctl through ctypes; x86-64 only (exit 77 elsewhere).

    noipv6.py COMMAND [ARGS...]
"""
import ctypes
import os
import platform
import struct
import sys

if platform.machine() != "x86_64":
    sys.exit(77)

AUDIT_ARCH_X86_64 = 0xC000003E
NR_SOCKET = 41
AF_INET6 = 10
EAFNOSUPPORT = 97
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
RET_K = 0x06  # BPF_RET | BPF_K


def insn(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)


# struct seccomp_data: nr at 0, arch at 4, args[0] at 16 (low 32 bits, little-endian).
prog = b"".join([
    insn(LD_W_ABS, 0, 0, 4),
    insn(JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
    insn(RET_K, 0, 0, SECCOMP_RET_ALLOW),
    insn(LD_W_ABS, 0, 0, 0),
    insn(JEQ_K, 0, 3, NR_SOCKET),
    insn(LD_W_ABS, 0, 0, 16),
    insn(JEQ_K, 0, 1, AF_INET6),
    insn(RET_K, 0, 0, SECCOMP_RET_ERRNO | EAFNOSUPPORT),
    insn(RET_K, 0, 0, SECCOMP_RET_ALLOW),
])
n = len(prog) // 8
buf = ctypes.create_string_buffer(prog, len(prog))


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


fprog = SockFprog(n, ctypes.addressof(buf))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
    sys.exit("prctl(PR_SET_NO_NEW_PRIVS): %s" % os.strerror(ctypes.get_errno()))
if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
    sys.exit("prctl(PR_SET_SECCOMP): %s" % os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[1], sys.argv[1:])
