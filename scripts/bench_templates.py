#!/usr/bin/env python3
"""Cost of templating: a scenario with a UUID in the path and a captured bearer token, and one with
values of varying width (a mixed-width data column, an unpinned sequence), vs the static request,
same target, same machine. The built-in target runs on CPU 0, ringblast on CPU 1;
static and templated runs alternate over several rounds; CPU is the process's rusage.
"""
import argparse, json, statistics, subprocess, time
from pathlib import Path

from benchlib import free_port, run_measured

from benchlib import ROOT, BIN


def timed(argv):
    out, user, system = run_measured(argv, 300)
    report = json.loads(Path("/tmp/ringblast-bench-templates.json").read_text())
    return report, user, system, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    out = Path(args.out)
    (out / "raw").mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    target = subprocess.Popen([str(BIN), "serve", "--cpus", "0", "--listen", f"127.0.0.1:{port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    rows = []
    try:
        for depth in (1, 16):
            common = ["--cpus", "1", "-p", str(depth), "-d", f"{args.duration}s", "-q", "--json", "/tmp/ringblast-bench-templates.json"]
            variants = {
                "static": [str(BIN), "run", f"{base}/items/00000000-0000-4000-8000-000000000000",
                           "-c", "64", "-H", "Authorization: Bearer text/plain"] + common,
                "templated": [str(BIN), "run", "--scenario", str(ROOT / "bench" / "templated.toml"), "--host", base] + common,
                "varying": [str(BIN), "run", "--scenario", str(ROOT / "bench" / "varying.toml"), "--host", base] + common,
            }
            for rnd in range(args.rounds):
                for name, argv in variants.items():
                    report, user, system, text = timed(argv)
                    responses = report["requests"]["responses"]
                    (out / "raw" / f"p{depth}-{name}-r{rnd}.txt").write_text(" ".join(argv) + "\n\n" + text)
                    row = {"depth": depth, "variant": name, "round": rnd, "rps": report["rps"],
                           "user_s": user, "sys_s": system, "cpu_us_per_req": (user + system) / responses * 1e6,
                           "user_us_per_req": user / responses * 1e6}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        target.send_signal(2)
        target.communicate(timeout=10)
    summary = []
    for depth in (1, 16):
        med = {v: {k: statistics.median(r[k] for r in rows if r["depth"] == depth and r["variant"] == v)
                   for k in ("rps", "cpu_us_per_req", "user_us_per_req")} for v in ("static", "templated", "varying")}
        summary.append({"depth": depth, **{f"{v}_{k}": round(x, 4) for v in med for k, x in med[v].items()},
                        "cpu_ratio": round(med["templated"]["cpu_us_per_req"] / med["static"]["cpu_us_per_req"], 3),
                        "rps_ratio": round(med["templated"]["rps"] / med["static"]["rps"], 3),
                        "varying_cpu_ratio": round(med["varying"]["cpu_us_per_req"] / med["static"]["cpu_us_per_req"], 3),
                        "varying_rps_ratio": round(med["varying"]["rps"] / med["static"]["rps"], 3)})
    (out / "templates.json").write_text(json.dumps({"runs": rows, "summary": summary}, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
