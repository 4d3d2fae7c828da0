#!/usr/bin/env python3
"""Locust vs ringblast on the Locust report's four scenarios, same mock, same machine.

The built-in mock of the report's API (serve --routes examples/locust-report/routes.toml) runs on
CPU 0; each tool runs alone on CPU 1 with the same users, spawn rate, think time and tasks
(bench/locust/*.py mirror examples/locust-report/*.toml), scaled to --duration seconds. Measured per
run: requests (each tool's own complete count), requests/s, p50/p99, the tool's CPU-seconds (rusage)
and CPU-milliseconds per 1,000 requests. Then the highest rate each reaches on one core (64 users,
no think time, the mock's health route). Writes both tools' CSVs, `ringblast compare` tables and a
summary into --out. Only loopback.
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path

from benchlib import free_port, run_measured

from benchlib import ROOT, BIN
# (scenario, users, spawn rate): the report's figures; the burst ramps 1000 users at 100/s.
SCENARIOS = [("deployments", 100, 10), ("approvals", 50, 5), ("connectors", 200, 10), ("burst", 1000, 100)]


def locust_totals(path):
    entries = json.loads(Path(path).read_text())
    reqs = sum(e["num_requests"] for e in entries)
    fails = sum(e["num_failures"] for e in entries)
    return reqs, fails


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=30)
    ap.add_argument("--locust", default="locust")
    ap.add_argument("--only", default="", help="comma-separated scenarios (default: all)")
    args = ap.parse_args()
    out = Path(args.out)
    (out / "raw").mkdir(parents=True, exist_ok=True)
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    mock = subprocess.Popen([str(BIN), "serve", "--cpus", "0", "--listen", f"127.0.0.1:{port}",
                             "--routes", str(ROOT / "examples" / "locust-report" / "routes.toml")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "bench" / "locust"))
    rows = []
    only = [s for s in args.only.split(",") if s]
    try:
        for name, users, spawn in SCENARIOS:
            if only and name not in only:
                continue
            d = args.duration
            # Locust first, then ringblast, each alone on CPU 1.
            lprefix = out / f"locust-{name}"
            largv = ["taskset", "-c", "1", args.locust, "-f", str(ROOT / "bench" / "locust" / f"{name}.py"), "--headless",
                     "-u", str(users), "-r", str(spawn), "-t", f"{d}s", "--host", host, "--csv", str(lprefix),
                     "--json-file", str(lprefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "2"]
            p = subprocess.run(["python3", "-c",
                                "import os,sys,subprocess;p=subprocess.Popen(sys.argv[1:],env=os.environ);_,s,r=os.wait4(p.pid,0);"
                                "print(f'\\n@@cpu {r.ru_utime:.3f} {r.ru_stime:.3f}')"] + largv,
                               capture_output=True, text=True, env=env, timeout=d + 120)
            (out / "raw" / f"locust-{name}.txt").write_text(" ".join(largv) + "\n\n" + p.stdout + p.stderr)
            luser, lsys = map(float, p.stdout.split("@@cpu")[-1].split())
            lreq, lfail = locust_totals(f"{lprefix}.json")
            rjson = out / f"ringblast-{name}.json"
            rargv = [str(BIN), "run", "--scenario", str(ROOT / "examples" / "locust-report" / f"{name}.toml"), "--host", host,
                     "--users", str(users), "--spawn-rate", str(spawn), "-d", f"{d}s", "--cpus", "1", "-q",
                     "--json", str(rjson), "--csv", str(out / f"ringblast-{name}")]
            text, ruser, rsys = run_measured(rargv, d + 120)
            (out / "raw" / f"ringblast-{name}.txt").write_text(" ".join(rargv) + "\n\n" + text)
            report = json.loads(rjson.read_text())
            rreq = report["requests"]["responses"] + report["requests"]["errors"]
            compare = subprocess.run([str(BIN), "compare", "--markdown", str(rjson), str(lprefix) + ".json"], capture_output=True, text=True)
            (out / f"compare-{name}.md").write_text(compare.stdout)
            for tool, reqs, fails, cpu in (("locust", lreq, lfail, luser + lsys), ("ringblast", rreq, report["requests"]["errors"] + report["requests"]["responses"] - report["requests"]["ok"], ruser + rsys)):
                row = {"scenario": name, "tool": tool, "users": users, "requests": reqs, "failures": fails,
                       "rps": round(reqs / d, 1), "cpu_s": round(cpu, 2), "cpu_ms_per_1000": round(cpu * 1e6 / max(reqs, 1), 1)}
                rows.append(row)
                print(json.dumps(row), flush=True)
        # The highest rate on one core: 64 users, no think time, a route with no delay.
        d = max(10, args.duration // 2)
        lprefix = out / "locust-max"
        largv = ["taskset", "-c", "1", args.locust, "-f", str(ROOT / "bench" / "locust" / "max_rate.py"), "--headless", "-u", "64",
                 "-r", "64", "-t", f"{d}s", "--host", host, "--json-file", str(lprefix), "--only-summary", "--loglevel", "WARNING"]
        text, luser, lsys = run_measured(largv, d + 120)
        lreq, _ = locust_totals(f"{lprefix}.json")
        rjson = out / "ringblast-max.json"
        text, ruser, rsys = run_measured([str(BIN), "run", f"{host}/api/v1/health/", "-c", "64", "-d", f"{d}s", "--cpus", "1", "-q", "--json", str(rjson)], d + 120)
        rmax = json.loads(rjson.read_text())
        maxima = {"locust": {"rps": round(lreq / d, 1), "cpu_s": round(luser + lsys, 2)},
                  "ringblast": {"rps": rmax["rps"], "cpu_s": round(ruser + rsys, 2)}}
        print(json.dumps({"max_rate_one_core": maxima}), flush=True)
    finally:
        mock.send_signal(2)
        answered = mock.communicate(timeout=20)[0].strip()
    (out / "summary.json").write_text(json.dumps({"duration_s": args.duration, "runs": rows, "max_rate_one_core": maxima, "mock": answered}, indent=2) + "\n")
    lines = ["| scenario | users | tool | requests | req/s | failures | CPU s | CPU ms / 1,000 req |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['scenario']} | {r['users']} | {r['tool']} | {r['requests']:,} | {r['rps']:,} | {r['failures']:,} | {r['cpu_s']} | {r['cpu_ms_per_1000']} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
