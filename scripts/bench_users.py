#!/usr/bin/env python3
"""Users with think time: CPU cost of ringblast vs Locust at the same offered load.

The built-in target runs on CPU 0; each generator on CPU 1, one after the other. Each run holds N
users that GET / and think 1 s (ringblast `--users N --think 1s`, Locust FastHttpUser with
`constant(1)`), spawned at N/5 per second, for --duration seconds. Measured: requests per second
achieved (from the target's own count), and the generator's CPU-seconds (rusage) per second of run
and per 1,000 requests. Only loopback.
"""
import argparse, json, re, resource, subprocess, time
from pathlib import Path

from benchlib import free_port, run_measured

from benchlib import ROOT, BIN


def timed(argv, timeout):
    """Runs argv; returns (output, user+sys CPU-seconds, wall seconds)."""
    t0 = time.monotonic()
    out, user, system = run_measured(argv, timeout)
    return out, user + system, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=30)
    ap.add_argument("--users", default="1000,10000")
    ap.add_argument("--locust", default="locust")
    args = ap.parse_args()
    out = Path(args.out)
    (out / "raw").mkdir(parents=True, exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rows = []
    for users in [int(u) for u in args.users.split(",")]:
        spawn = max(1, users // 5)
        for tool in ("ringblast", "locust"):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            target = subprocess.Popen([str(BIN), "serve", "--cpus", "0", "--listen", f"127.0.0.1:{port}"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            if tool == "ringblast":
                argv = [str(BIN), "run", url + "/", "--users", str(users), "--spawn-rate", str(spawn), "--think", "1s",
                        "-d", f"{args.duration}s", "--cpus", "1", "-q"]
            else:
                argv = ["taskset", "-c", "1", args.locust, "-f", str(ROOT / "bench" / "locust" / "users_think.py"),
                        "--headless", "-u", str(users), "-r", str(spawn), "-t", f"{args.duration}s", "--host", url,
                        "--only-summary", "--loglevel", "WARNING"]
            text, cpu, wall = timed(argv, args.duration + 120)
            target.send_signal(2)
            answered = int(re.search(r"answered (\d+)", target.communicate(timeout=20)[0]).group(1))
            (out / "raw" / f"{tool}-{users}.txt").write_text(" ".join(argv) + "\n\n" + text)
            row = {"tool": tool, "users": users, "offered_rps_at_full": users, "answered": answered,
                   "rps": round(answered / args.duration, 1), "cpu_s": round(cpu, 2), "wall_s": round(wall, 1),
                   "cpu_share_of_one_core": round(cpu / args.duration, 3),
                   "cpu_ms_per_1000_requests": round(cpu * 1e6 / max(answered, 1), 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    (out / "users.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
