"""Helpers shared by the benchmark scripts: a free loopback port, and running a command while
measuring its CPU (user and system seconds from rusage, all threads)."""
import os
import re
import socket
import subprocess
import sys

# Runs argv as a child, waits for it and prints its rusage last: one wrapper, so the CPU measured is
# the generator's alone (not Python's).
_WRAPPER = ("import os,sys,subprocess;p=subprocess.Popen(sys.argv[1:]);_,s,r=os.wait4(p.pid,0);"
            "print(f'\\n@@cpu {r.ru_utime:.3f} {r.ru_stime:.3f}');sys.exit(os.waitstatus_to_exitcode(s))")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrapped(argv):
    """argv, run under the rusage wrapper."""
    return [sys.executable, "-c", _WRAPPER] + list(argv)


def cpu_of(output):
    """(user, system) seconds printed by the wrapper."""
    m = re.search(r"@@cpu ([\d.]+) ([\d.]+)", output)
    return float(m.group(1)), float(m.group(2))


def run_measured(argv, timeout):
    """Runs argv; returns (combined output, user s, system s)."""
    p = subprocess.run(wrapped(argv), capture_output=True, text=True, timeout=timeout)
    out = p.stdout + p.stderr
    user, system = cpu_of(out)
    return out, user, system
