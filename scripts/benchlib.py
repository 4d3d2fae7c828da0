"""Helpers shared by the benchmark scripts: a free loopback port, and running a command while
measuring its CPU (user and system seconds from rusage, all threads)."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

# The checkout, and the release binary scripts/bench.py builds before any benchmark runs.
ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "ringblast"
# Clock ticks per second, the unit of /proc/PID/stat's CPU times (see `ticks`).
TICK = os.sysconf("SC_CLK_TCK")

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


def common_args(ap):
    """The options every side-by-side benchmark takes; returns (args, out dir with raw/ made)."""
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    from pathlib import Path
    out = Path(a.out)
    (out / "raw").mkdir(parents=True, exist_ok=True)
    return a, out


def wrk_argv(url, depth, duration, cpu, *extra):
    """wrk on one pinned thread with 64 connections; pipelined through bench/wrk-pipeline.lua."""
    from pathlib import Path
    script = Path(__file__).resolve().parent.parent / "bench" / "wrk-pipeline.lua"
    tail = ["-s", str(script), url, "--", str(depth)] if depth > 1 else [url]
    return ["taskset", "-c", str(cpu), "wrk", "-t1", "-c64", f"-d{duration}s", *extra] + tail


def parse_wrk(text):
    """(req/s, responses, errors) from wrk's output; non-2xx/3xx answers count as errors."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    m = re.search(r"(\d+) requests in", text)
    n = int(m.group(1)) if m else 0
    err = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = (sum(map(int, err.groups())) if err else 0) + (int(non2xx.group(1)) if non2xx else 0)
    return rps, n, errors


def parse_h2load(text):
    """(req/s, succeeded, failed + errored) from h2load's output."""
    rps = float(re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", text).group(1))
    done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored", text)
    return rps, int(done.group(1)), int(done.group(2)) + int(done.group(3))


def keep(out, rows, row, argv, text):
    """Keeps one run of a side-by-side benchmark: the tool's own output under out/raw/ (named by
    the row's case, tool and round), the row in `rows`, and the row printed as it comes."""
    name = re.sub(r"[^\w.-]+", "_", f"{row['case']}-{row['tool']}-r{row['round']}")
    (out / "raw" / f"{name}.txt").write_text(" ".join(argv) + "\n\n" + text)
    rows.append(row)
    print(json.dumps(row), flush=True)


def ticks(pid):
    """CPU time (user + system) of a process so far, in clock ticks (/proc/PID/stat)."""
    from pathlib import Path
    f = Path(f"/proc/{pid}/stat").read_text()
    f = f[f.rfind(")") + 2:].split()
    return int(f[11]) + int(f[12])


def children(pid):
    """The child processes of PID (e.g. nginx's workers under its master)."""
    from pathlib import Path
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


# The one nginx configuration of the benchmarks: one worker pinned to CPU 0, its files in `d`;
# each benchmark gives only what goes inside `http { }`.
_NGINX = """worker_processes 1;
worker_cpu_affinity 01;
worker_rlimit_nofile 8192;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 4096; }}
http {{
{http}
}}
"""


def start_nginx(d, http):
    """Writes d/nginx.conf around `http` and starts nginx on CPU 0 in the foreground."""
    conf = Path(d) / "nginx.conf"
    conf.write_text(_NGINX.format(d=d, http=http))
    return subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(*procs, tmp=None):
    """Stops the benchmark's servers (terminate all, then wait for each) and removes `tmp`."""
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=10)
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
