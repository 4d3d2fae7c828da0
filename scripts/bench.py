#!/usr/bin/env python3
"""One entry point for the whole-process benchmarks: `scripts/bench.py WHAT [options]`.

Builds the release binary once, writes to results/<date>-<host>-<WHAT>/ (or --out), checks that the
peer tools a benchmark compares with are installed and says how to get them (it installs nothing
with apt; Locust comes from pip into .bench-venv/), then runs that benchmark's module with the rest
of the options. WHAT is one of: peers, pacing, users, locust, templates, memory, nginx, burst, ab,
tls, kstats, locust-worker, partial, cookies, django, h2.
`ab A B` compares two ringblast binaries and writes nothing. Options of a benchmark: WHAT --help.
"""
import datetime, importlib, shutil, socket, subprocess, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import ROOT

# What each benchmark runs, the peer tools it needs, and whether it compares with Locust.
BENCHMARKS = {
    "peers": ("bench_peers", ["wrk", "taskset"], False),
    "pacing": ("bench_pacing", [], False),
    "users": ("bench_users", [], True),
    "locust": ("bench_locust", [], True),
    "templates": ("bench_templates", [], False),
    "memory": ("bench_memory", ["taskset"], False),
    "nginx": ("bench_nginx", ["nginx", "wrk", "taskset"], False),
    "burst": ("bench_burst", [], False),
    "ab": ("bench_ab", [], False),
    "tls": ("bench_tls", ["nginx", "wrk", "h2load", "openssl", "taskset"], False),
    "kstats": ("bench_kstats", ["nginx", "bpftool", "taskset"], False),
    "locust-worker": ("bench_locust_worker", ["taskset"], True),
    "partial": ("bench_partial", ["taskset"], False),
    "cookies": ("bench_cookies", [], False),
    "django": ("bench_django", ["taskset"], True),
    "h2": ("bench_h2", ["nginx", "h2load", "taskset"], False),
}


def locust_venv():
    """Locust in .bench-venv/ (pip), created on first use; returns the locust executable."""
    venv = ROOT / ".bench-venv"
    locust = venv / "bin" / "locust"
    if not locust.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "locust"], check=True)
    return str(locust)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in BENCHMARKS:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    what, rest = sys.argv[1], sys.argv[2:]
    module, tools, locust = BENCHMARKS[what]
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        print(f"bench {what} needs {', '.join(missing)}: apt-get install {' '.join(missing)}", file=sys.stderr)
        return 1
    subprocess.run(["cargo", "build", "--release", "--locked", "-q"], cwd=ROOT, check=True)
    args = list(rest)
    if what != "ab" and "--out" not in args and "--help" not in args and "-h" not in args:
        date = datetime.date.today().isoformat()
        out = ROOT / "results" / f"{date}-{socket.gethostname().split('.')[0]}-{what}"
        out.mkdir(parents=True, exist_ok=True)
        args = ["--out", str(out)] + args
        print(f"bench {what}: results in {out}", file=sys.stderr)
    if locust and "--locust" not in args and "--help" not in args:
        args += ["--locust", locust_venv()]
    sys.argv = [f"{module}.py"] + args
    return importlib.import_module(module).main()


if __name__ == "__main__":
    sys.exit(main())
