#!/usr/bin/env python3
"""A/B of two ringblast binaries (e.g. before and after a change) against one built-in target.

The target (the B binary's `serve`) runs on CPU 0; each generator on CPU 1, A and B in every
round, in turns (AB, BA, ...), so drift on a shared machine and the second run's disadvantage hit
both alike. Prints the median requests/s and CPU per request of each, and B over A. Only loopback
traffic; every run is bounded.
Usage: bench_ab.py A_BINARY B_BINARY [--duration 5] [--rounds 5] [--depths 1,16]
                   [--load "R20k=-c 1000 -R 20000"]...   (a named load of its own, repeatable)
"""
import argparse, json, re, statistics, subprocess, sys, time

from benchlib import free_port, run_measured


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--depths", default="1,16", help="closed loops of 64 connections at these depths")
    ap.add_argument("--load", action="append", default=[], metavar="NAME=ARGS",
                    help="a further load, e.g. 'R20k=-c 1000 -R 20000' (run's own flags)")
    args = ap.parse_args()
    loads = [(f"p{d}", ["-c", "64", "-p", d]) for d in args.depths.split(",") if d]
    loads += [(spec.split("=", 1)[0], spec.split("=", 1)[1].split()) for spec in args.load]
    port = free_port()
    target = subprocess.Popen([args.b, "serve", "--cpus", "0", "--listen", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    rows = []
    try:
        for load, extra in loads:
            for rnd in range(args.rounds):
                # A then B, then B then A: whichever runs second in a round can find the machine
                # (the target closing the first one's connections, the kernel's TIME_WAITs) worse.
                order = (("A", args.a), ("B", args.b))
                for name, binary in order if rnd % 2 == 0 else order[::-1]:
                    argv = [binary, "run", f"http://127.0.0.1:{port}/", "--cpus", "1", *extra,
                            "-d", f"{args.duration}s"]
                    out, user, system = run_measured(argv, args.duration + 60)
                    rps = float(re.search(r"([\d,]+) requests/s", out).group(1).replace(",", ""))
                    n = rps * args.duration
                    row = {"load": load, "binary": name, "round": rnd, "rps": rps,
                           "cpu_us_per_req": (user + system) / n * 1e6, "user_us_per_req": user / n * 1e6}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        target.terminate()
        target.wait(timeout=10)
    print("\n| load | A req/s | B req/s | B/A req/s | A CPU µs/req | B CPU µs/req | B/A CPU | A user µs/req | B user µs/req |")
    print("|---|---|---|---|---|---|---|---|---|")
    for load, _ in loads:
        med = {b: {k: statistics.median(r[k] for r in rows if r["load"] == load and r["binary"] == b)
                   for k in ("rps", "cpu_us_per_req", "user_us_per_req")} for b in ("A", "B")}
        a, b = med["A"], med["B"]
        print(f"| {load} | {a['rps']:,.0f} | {b['rps']:,.0f} | {b['rps'] / a['rps']:.3f} | "
              f"{a['cpu_us_per_req']:.3f} | {b['cpu_us_per_req']:.3f} | {b['cpu_us_per_req'] / a['cpu_us_per_req']:.3f} | "
              f"{a['user_us_per_req']:.3f} | {b['user_us_per_req']:.3f} |")
    # Rounds pair A with the B run beside it: the median of the per-round ratios is steadier
    # than the ratio of medians when the machine drifts between rounds.
    print()
    for load, _ in loads:
        pairs = [(ra, rb) for ra in rows for rb in rows
                 if ra["load"] == rb["load"] == load and ra["round"] == rb["round"]
                 and ra["binary"] == "A" and rb["binary"] == "B"]
        ratio = lambda k: statistics.median(rb[k] / ra[k] for ra, rb in pairs)
        print(f"{load}: paired median B/A over {len(pairs)} rounds: req/s {ratio('rps'):.3f}, "
              f"CPU/req {ratio('cpu_us_per_req'):.3f}, user CPU/req {ratio('user_us_per_req'):.3f}")


if __name__ == "__main__":
    sys.exit(main())
