"""Where a generator's CPU goes, from a `perf record -g` of its process: each sample is put in one
category by its call chain, so the shares add up to 100 % of the process's own CPU.

The categories follow the loopback path of one request (decision 019):
- user: the tool's own code (and libc, vDSO);
- our send: TCP/IP output of our requests (tcp_sendmsg down to the loopback device);
- the target's receive: the softirq that delivers our segment to the target's socket, which on
  loopback runs in our context, at the end of our send;
- waking the target: the part of that softirq that wakes the target's thread (an IPI on a VM);
- our receive: reading the answers (tcp_recvmsg and io_uring's receive around it);
- our sleeps and wake-ups: blocking in the kernel and being woken (io_cqring_wait, schedule);
- syscall and io_uring overhead: the rest of the kernel time in our system calls;
- interrupts and other softirqs: timers and anything else that landed on our thread.
"""
import subprocess
from collections import Counter

CATEGORIES = [
    "user",
    "our send: TCP/IP output",
    "target's receive, in our context (softirq)",
    "waking the target (softirq)",
    "our receive",
    "our sleeps and wake-ups",
    "syscall and io_uring overhead",
    "interrupts and other softirqs",
]

_WAKE = ("try_to_wake_up", "ep_poll_callback", "__wake_up_common", "__wake_up_sync_key", "sock_def_readable")
_SOFTIRQ = ("net_rx_action", "handle_softirqs", "__do_softirq", "do_softirq")
_RECV = ("tcp_recvmsg", "io_recv", "io_recvmsg", "io_recvmsg_multishot", "sock_recvmsg", "__sys_recvfrom",
         "__sys_recvmsg", "io_poll_task_func", "sock_read_iter")
_SLEEP = ("io_cqring_wait", "schedule", "schedule_hrtimeout_range", "finish_task_switch.isra.0",
          "do_epoll_wait", "ep_poll")
_SYSCALL = ("do_syscall_64", "entry_SYSCALL_64", "entry_SYSCALL_64_after_hwframe", "syscall_exit_to_user_mode")


def classify(frames, user_leaf):
    """The category of one sample; `frames` are its symbols, leaf first."""
    if user_leaf:
        return CATEGORIES[0]
    names = set(frames)
    in_softirq = any(f in names for f in _SOFTIRQ)
    if in_softirq and "net_rx_action" in names:
        if any(f in names for f in _WAKE):
            return CATEGORIES[3]
        return CATEGORIES[2]
    if in_softirq:
        return CATEGORIES[7]
    if "tcp_sendmsg" in names or "tcp_sendmsg_locked" in names:
        return CATEGORIES[1]
    if any(f in names for f in _RECV):
        return CATEGORIES[4]
    if any(f in names for f in _SLEEP):
        return CATEGORIES[5]
    if any(f in names for f in _SYSCALL):
        return CATEGORIES[6]
    return CATEGORIES[7]


def split(perf_data):
    """{category: share of the process's samples} for one perf.data file."""
    text = subprocess.run(["perf", "script", "-i", str(perf_data), "-F", "ip,sym,dso"],
                          capture_output=True, text=True, check=True).stdout
    counts = Counter()
    for block in text.split("\n\n"):
        lines = [l.split() for l in block.strip().splitlines() if l.strip()]
        if not lines:
            continue
        frames = [l[1].split("+")[0] if len(l) > 1 else "?" for l in lines]
        user_leaf = "kernel.kallsyms" not in lines[0][-1]
        counts[classify(frames, user_leaf)] += 1
    total = sum(counts.values()) or 1
    return {c: counts[c] / total for c in CATEGORIES}
