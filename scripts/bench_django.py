#!/usr/bin/env python3
"""Locust vs ringblast on one locustfile against a real framework app: Django under gunicorn.

bench/django/app.py (form login with CSRF and a session cookie, then a JSON API) runs under
gunicorn with --workers sync workers pinned to CPU 1. Each tool runs alone on CPU 0 with the same
file (bench/django/locustfile.py), the same users, no think time, for --duration seconds, in
interleaved rounds: Locust, then `ringblast run -f`. Measured per run:
- requests and failures, as each tool counts them;
- requests/s, p50 and p99 (Locust's own stats, and ringblast's);
- the generator's CPU (rusage) and the target's CPU (its workers' /proc ticks), each per request.
Writes raw outputs, rows.jsonl and summary.md (medians and ratios) into --out. Only loopback.
"""
import argparse, json, statistics, subprocess, sys, time
from pathlib import Path

from benchlib import BIN, ROOT, TICK, children, cpu_of, free_port, ticks, wrapped

APP = ROOT / "bench" / "django"


def ensure_django(venv):
    """Django and gunicorn in the benchmark's virtualenv (pinned), installed on first use."""
    gunicorn = venv / "bin" / "gunicorn"
    if not gunicorn.exists():
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "django==5.2.9", "gunicorn==23.0.0"], check=True)
    return gunicorn


def target_ticks(master):
    return sum(ticks(w) for w in children(master))


def locust_stats(prefix):
    """(requests, failures, p50 ms, p99 ms) from Locust's --csv Aggregated row."""
    import csv
    with open(f"{prefix}_stats.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return int(row["Request Count"]), int(row["Failure Count"]), float(row["50%"]), float(row["99%"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--users", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--locust", default="locust")
    ap.add_argument("--file", default="locustfile.py", help="in bench/django/: locustfile.py, or paced.py")
    a = ap.parse_args()
    out = Path(a.out)
    (out / "raw").mkdir(parents=True, exist_ok=True)
    gunicorn = ensure_django(Path(a.locust).resolve().parent.parent)
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(["taskset", "-c", "1", str(gunicorn), "--chdir", str(APP), "-w", str(a.workers),
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "app:application"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3)
    locustfile = str(APP / a.file)
    rows = []
    try:
        for rnd in range(a.rounds):
            for tool in ("locust", "ringblast"):
                before = target_ticks(server.pid)
                if tool == "locust":
                    prefix = out / "raw" / f"locust-{Path(a.file).stem}-{rnd}"
                    argv = ["taskset", "-c", "0", a.locust, "-f", locustfile, "--headless", "-u", str(a.users),
                            "-r", str(a.users), "-t", f"{a.duration}s", "--host", host, "--csv", str(prefix),
                            "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "2"]
                else:
                    rjson = out / "raw" / f"ringblast-{Path(a.file).stem}-{rnd}.json"
                    argv = [str(BIN), "run", "-f", locustfile, "--host", host, "-u", str(a.users), "-r", str(a.users),
                            "-d", f"{a.duration}s", "--cpus", "0", "-q", "--json", str(rjson)]
                t0 = time.monotonic()
                p = subprocess.run(wrapped(argv), capture_output=True, text=True, timeout=a.duration + 120)
                wall = time.monotonic() - t0
                text = p.stdout + p.stderr
                (out / "raw" / f"{tool}-{Path(a.file).stem}-{rnd}.txt").write_text(" ".join(argv) + "\n\n" + text)
                user, system = cpu_of(text)
                target_cpu = (target_ticks(server.pid) - before) / TICK
                if tool == "locust":
                    reqs, fails, p50, p99 = locust_stats(prefix)
                else:
                    r = json.loads(rjson.read_text())
                    reqs = r["requests"]["responses"] + r["requests"]["errors"]
                    fails = reqs - r["requests"]["ok"]
                    p50, p99 = r["latency_us"]["p50"] / 1000, r["latency_us"]["p99"] / 1000
                row = {"round": rnd, "tool": tool, "users": a.users, "requests": reqs, "failures": fails,
                       "rps": round(reqs / a.duration, 1), "p50_ms": p50, "p99_ms": p99,
                       "gen_cpu_s": round(user + system, 2), "gen_user_s": round(user, 2),
                       "gen_us_per_req": round((user + system) * 1e6 / max(reqs, 1), 1),
                       "target_cpu_s": round(target_cpu, 2),
                       "target_us_per_req": round(target_cpu * 1e6 / max(reqs, 1), 1), "wall_s": round(wall, 1)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    stem = Path(a.file).stem
    (out / f"rows-{stem}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    med = lambda tool, k: statistics.median(r[k] for r in rows if r["tool"] == tool)
    keys = ["rps", "p50_ms", "p99_ms", "gen_us_per_req", "target_us_per_req", "failures"]
    lines = [f"# Locust vs ringblast, one locustfile ({a.file}), Django {a.workers} gunicorn workers on CPU 1\n",
             f"{a.users} users, {a.duration} s per run, medians of {a.rounds} interleaved rounds; "
             "each tool alone on CPU 0.\n", "| metric | Locust | ringblast | ringblast / Locust |", "|---|---|---|---|"]
    for k in keys:
        l, b = med("locust", k), med("ringblast", k)
        lines.append(f"| {k} | {l:g} | {b:g} | {b / l:.2f} |" if l else f"| {k} | {l:g} | {b:g} | - |")
    (out / f"summary-{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
