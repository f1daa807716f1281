#!/usr/bin/env python3
"""Holds one thread of a process stopped, the others running: a hung worker.

    stall_thread.py PID THREAD-NAME HOLD-FILE [MAX-SECONDS]

PTRACE_SEIZE and PTRACE_INTERRUPT stop that thread alone (no group stop, no
signal the process could see); it stays stopped while HOLD-FILE exists, at most
MAX-SECONDS (default 30), then it is detached and runs on. Prints "stalled TID"
once the thread is stopped. Needs CAP_SYS_PTRACE (root) or a permissive Yama.
"""
import ctypes
import os
import sys
import time

PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_DETACH = 17
WALL = 0x40000000

pid, name, hold = int(sys.argv[1]), sys.argv[2], sys.argv[3]
limit = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
tid = None
for t in os.listdir("/proc/%d/task" % pid):
    with open("/proc/%d/task/%s/comm" % (pid, t)) as f:
        if f.read().strip() == name:
            tid = int(t)
if tid is None:
    sys.exit("no thread named %s in %d" % (name, pid))
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
if libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
    sys.exit("PTRACE_SEIZE %d: %s" % (tid, os.strerror(ctypes.get_errno())))
if libc.ptrace(PTRACE_INTERRUPT, tid, None, None) != 0:
    sys.exit("PTRACE_INTERRUPT %d: %s" % (tid, os.strerror(ctypes.get_errno())))
os.waitpid(tid, WALL)
print("stalled %d" % tid, flush=True)
deadline = time.monotonic() + limit
while os.path.exists(hold) and time.monotonic() < deadline:
    time.sleep(0.05)
libc.ptrace(PTRACE_DETACH, tid, None, None)
print("released %d" % tid, flush=True)
