#!/usr/bin/env python3
"""A ringblast worker against a Locust worker, each alone under the same Locust master.

One Locust master (headless, --expect-workers 1) runs the same plan twice: its users of class
Browse, no think time, GET /items/1. The workers are:
  * `ringblast locust-worker --cpus 1 --scenario` (the scenario's [[user]] Browse does the same);
  * Locust's own worker with FastHttpUser (bench/locust/worker_bench.py).
Each worker runs pinned to CPU 1. The target (`ringblast serve`) and the master run on CPU 0.
Measured from the master's own CSV (the requests it counted) and the worker's rusage: the rate,
CPU per request, and the worker's CPU share. The runs alternate by round. Only loopback.
"""
import argparse, json, re, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import BIN, ROOT, common_args, free_port, run_measured

LOCUSTFILE = ROOT / "bench" / "locust" / "worker_bench.py"
SCENARIO = """[[user]]
name = "Browse"
[[user.task]]
name = "/items/1"
path = "/items/1"
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=64)
    ap.add_argument("--locust", default="locust")
    a, out = common_args(ap)
    d = tempfile.mkdtemp(prefix="ringblast-lw-")
    Path(d, "s.toml").write_text(SCENARIO)
    serve = subprocess.Popen(["taskset", "-c", "0", str(BIN), "serve", "--cpus", "0", "--listen", "127.0.0.1:0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    host = re.search(r"http://[\d.:]+", serve.stderr.readline()).group(0)
    rows = []
    try:
        for rnd in range(a.rounds):
            for tool in (("ringblast", "locust") if rnd % 2 == 0 else ("locust", "ringblast")):
                port = free_port()
                prefix = f"{d}/m-{tool}-{rnd}"
                master = subprocess.Popen(
                    ["taskset", "-c", "0", a.locust, "-f", str(LOCUSTFILE), "--master", "--headless",
                     "--expect-workers", "1", "-u", str(a.users), "-r", str(a.users), "-t", f"{a.duration}s",
                     "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "-H", host,
                     "--csv", prefix], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                if tool == "ringblast":
                    argv = ["taskset", "-c", "1", str(BIN), "locust-worker", "--master", f"127.0.0.1:{port}",
                            "--cpus", "1", "--scenario", f"{d}/s.toml", "--host", host, "-q",
                            "--kernel-stats", "off"]
                else:
                    argv = ["taskset", "-c", "1", a.locust, "-f", str(LOCUSTFILE), "--worker",
                            "--master-host", "127.0.0.1", "--master-port", str(port)]
                text, user, system = run_measured(argv, a.duration + 90)
                master.wait(timeout=60)
                stats = Path(f"{prefix}_stats.csv").read_text().splitlines()
                agg = next(l for l in stats if ",Aggregated," in l).split(",")
                n, fails, rps = int(agg[2]), int(agg[3]), float(agg[9])
                cpu = user + system
                row = {"tool": tool, "round": rnd, "requests": n, "failures": fails, "rps": rps,
                       "worker_user_s": user, "worker_sys_s": system,
                       "cpu_us_per_req": cpu / max(n, 1) * 1e6, "worker_cpu_share": cpu / a.duration}
                (out / "raw" / f"{tool}-r{rnd}.txt").write_text(" ".join(argv) + "\n\n" + text)
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        serve.terminate()
        serve.wait(timeout=10)
    summary = {}
    print(f"\n| worker (1 core, {a.users} users, no think) | requests/s counted by the master (median) | worker CPU µs/request | worker CPU share |")
    print("|---|---|---|---|")
    for tool in ("ringblast", "locust"):
        rs = [r for r in rows if r["tool"] == tool]
        m = {k: statistics.median(r[k] for r in rs) for k in ("rps", "cpu_us_per_req", "worker_cpu_share")}
        summary[tool] = m
        print(f"| {tool} | {m['rps']:,.0f} | {m['cpu_us_per_req']:.1f} | {100 * m['worker_cpu_share']:.0f}% |")
    r, l = summary["ringblast"], summary["locust"]
    print(f"\nringblast÷Locust: rate ×{r['rps'] / l['rps']:.1f}, CPU per request ×{r['cpu_us_per_req'] / l['cpu_us_per_req']:.3f}")
    (out / "summary.json").write_text(json.dumps({"runs": rows, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
