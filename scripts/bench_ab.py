#!/usr/bin/env python3
"""A/B of two ringblast binaries (e.g. before and after a change) against one built-in target.

The target (the B binary's `serve`) runs on CPU 0; each generator on CPU 1, alternating A and B
over several rounds so drift on a shared machine hits both alike. Prints the median requests/s and
CPU per request of each, and B over A. Only loopback traffic; every run is bounded.
Usage: bench_ab.py A_BINARY B_BINARY [--duration 5] [--rounds 5] [--depths 1,16]
"""
import argparse, json, re, statistics, subprocess, sys, time

from benchlib import free_port, run_measured


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--depths", default="1,16")
    args = ap.parse_args()
    port = free_port()
    target = subprocess.Popen([args.b, "serve", "--cpus", "0", "--listen", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    rows = []
    try:
        for depth in [int(d) for d in args.depths.split(",")]:
            for rnd in range(args.rounds):
                for name, binary in (("A", args.a), ("B", args.b)):
                    argv = [binary, "run", f"http://127.0.0.1:{port}/", "--cpus", "1", "-c", "64",
                            "-p", str(depth), "-d", f"{args.duration}s"]
                    out, user, system = run_measured(argv, args.duration + 60)
                    rps = float(re.search(r"([\d,]+) requests/s", out).group(1).replace(",", ""))
                    n = rps * args.duration
                    row = {"depth": depth, "binary": name, "round": rnd, "rps": rps,
                           "cpu_us_per_req": (user + system) / n * 1e6, "user_us_per_req": user / n * 1e6}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        target.terminate()
        target.wait(timeout=10)
    print("\n| depth | A req/s | B req/s | B/A req/s | A CPU µs/req | B CPU µs/req | B/A CPU | A user µs/req | B user µs/req |")
    print("|---|---|---|---|---|---|---|---|---|")
    for depth in sorted({r["depth"] for r in rows}):
        med = {b: {k: statistics.median(r[k] for r in rows if r["depth"] == depth and r["binary"] == b)
                   for k in ("rps", "cpu_us_per_req", "user_us_per_req")} for b in ("A", "B")}
        a, b = med["A"], med["B"]
        print(f"| p{depth} | {a['rps']:,.0f} | {b['rps']:,.0f} | {b['rps'] / a['rps']:.3f} | "
              f"{a['cpu_us_per_req']:.3f} | {b['cpu_us_per_req']:.3f} | {b['cpu_us_per_req'] / a['cpu_us_per_req']:.3f} | "
              f"{a['user_us_per_req']:.3f} | {b['user_us_per_req']:.3f} |")
    # Rounds pair A with the B run right after it: the median of the per-round ratios is steadier
    # than the ratio of medians when the machine drifts between rounds.
    print()
    for depth in sorted({r["depth"] for r in rows}):
        pairs = [(ra, rb) for ra in rows for rb in rows
                 if ra["depth"] == rb["depth"] == depth and ra["round"] == rb["round"]
                 and ra["binary"] == "A" and rb["binary"] == "B"]
        ratio = lambda k: statistics.median(rb[k] / ra[k] for ra, rb in pairs)
        print(f"p{depth}: paired median B/A over {len(pairs)} rounds: req/s {ratio('rps'):.3f}, "
              f"CPU/req {ratio('cpu_us_per_req'):.3f}, user CPU/req {ratio('user_us_per_req'):.3f}")


if __name__ == "__main__":
    sys.exit(main())
