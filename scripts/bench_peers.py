#!/usr/bin/env python3
"""Side-by-side whole-process benchmark: ringblast vs wrk (and h2load, oha when present).

The built-in target runs pinned to one CPU, each generator pinned to the other, one after another,
interleaved over several rounds. For every run it records requests/s, the generator's user and
system CPU-seconds (rusage of the whole process), and the target's CPU use over the run (from
/proc), so the results can say whether the generator, the target or the kernel was the limit.
A separate short run per tool counts syscalls per request with `perf stat -e raw_syscalls:sys_enter`.
Only loopback traffic; every run is bounded by its duration plus a hard timeout.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, time
from pathlib import Path

from benchlib import cpu_of, free_port, wrapped

from benchlib import ROOT, BIN
CLK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """user+system CPU-seconds of a process so far, all threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def tools(url, duration, depth, gen_cpu):
    """(name, argv, parse) for each generator present; parse(stdout) -> requests/s."""
    rb = [str(BIN), "run", url, "--cpus", str(gen_cpu), "-c", "64", "-p", str(depth), "-d", f"{duration}s", "-q"]
    def rb_parse(out):
        return float(re.search(r"([\d,]+) requests/s", out).group(1).replace(",", ""))
    pin = ["taskset", "-c", str(gen_cpu)]
    out = [("ringblast-uring", rb + ["--io", "uring"], rb_parse),
           ("ringblast-epoll", rb + ["--io", "epoll"], rb_parse)]
    if shutil.which("wrk"):
        script = ["-s", str(ROOT / "bench" / "wrk-pipeline.lua"), url, "--", str(depth)] if depth > 1 else [url]
        out.append(("wrk", pin + ["wrk", "-t1", "-c64", f"-d{duration}s"] + script,
                    lambda o: float(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1))))
    if shutil.which("h2load"):
        out.append(("h2load", pin + ["h2load", "--h1", "-t1", "-c64", "-m", str(depth), "-D", str(duration), url],
                    lambda o: float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", o).group(1))))
    if shutil.which("oha"):
        out.append(("oha", pin + ["oha", "--no-tui", "-c", "64", "-z", f"{duration}s", url],
                    lambda o: float(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1))))
    return out


def run_one(argv, target_pid, timeout):
    t0 = time.monotonic()
    target0 = proc_cpu(target_pid)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    wall = time.monotonic() - t0
    return out, wall, proc_cpu(target_pid) - target0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", required=True)
    ap.add_argument("--target-cpu", type=int, default=0)
    ap.add_argument("--generator-cpu", type=int, default=1)
    args = ap.parse_args()
    out_dir = Path(args.out)
    (out_dir / "raw").mkdir(parents=True, exist_ok=True)
    configs = [("p1", 1, False), ("p16", 16, False), ("p16-unique-heads", 16, True)]
    results, syscalls, answered = [], {}, {}
    for label, depth, unique in configs:
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        serve = [str(BIN), "serve", "--cpus", str(args.target_cpu), "--listen", f"127.0.0.1:{port}"]
        target = subprocess.Popen(serve + (["--unique-heads"] if unique else []),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)
        try:
            for rnd in range(args.rounds):
                for name, argv, parse in tools(url, args.duration, depth, args.generator_cpu):
                    out, wall, target_cpu = run_one(wrapped(argv), target.pid, args.duration + 30)
                    (out_dir / "raw" / f"{label}-{name}-r{rnd}.txt").write_text(" ".join(argv) + "\n\n" + out)
                    try:
                        rps = parse(out)
                        user, system = cpu_of(out)
                    except Exception:
                        print(f"  {name} {label}: no figure in output", file=sys.stderr)
                        continue
                    requests = rps * args.duration
                    row = dict(config=label, depth=depth, round=rnd, tool=name, rps=rps, user_s=user, sys_s=system,
                               cpu_us_per_req=(user + system) / requests * 1e6,
                               generator_util=(user + system) / wall, target_util=target_cpu / wall)
                    results.append(row)
                    print(f"  {label:<17} r{rnd} {name:<16} {rps:>12,.0f} req/s  user {user:5.2f}s sys {system:5.2f}s  "
                          f"{row['cpu_us_per_req']:.3f} us/req  target {row['target_util']:.0%}", flush=True)
            # Syscalls per request: one short counted run per tool.
            if shutil.which("perf"):
                for name, argv, parse in tools(url, 3, depth, args.generator_cpu):
                    p = subprocess.run(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "--"] + argv,
                                       capture_output=True, text=True, timeout=60)
                    m = re.search(r"^(\d+),,raw_syscalls:sys_enter", p.stderr, re.M)
                    try:
                        rps = parse(p.stdout)
                    except Exception:
                        continue
                    if m:
                        syscalls[f"{label}-{name}"] = int(m.group(1)) / (rps * 3)
        finally:
            target.send_signal(2)
            answered[label] = target.communicate(timeout=10)[0].strip()
    summary = {"duration_s": args.duration, "rounds": args.rounds, "runs": results, "syscalls_per_request": syscalls,
               "target_answered": answered, "kernel": os.uname().release, "cpus": os.cpu_count()}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    # Medians, and ratios to ringblast-uring.
    lines = ["| config | tool | req/s (median) | user s | sys s | CPU µs/req | req/s ÷ ringblast | CPU/req ÷ ringblast | target CPU | syscalls/req |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, depth, _ in configs:
        rows = [r for r in results if r["config"] == label]
        med = {}
        for name in dict.fromkeys(r["tool"] for r in rows):
            rs = [r for r in rows if r["tool"] == name]
            med[name] = {k: statistics.median(r[k] for r in rs) for k in ("rps", "user_s", "sys_s", "cpu_us_per_req", "target_util")}
        base = med.get("ringblast-uring")
        if base is None:
            continue
        for name, m in med.items():
            sc = syscalls.get(f"{label}-{name}")
            lines.append(f"| {label} | {name} | {m['rps']:,.0f} | {m['user_s']:.2f} | {m['sys_s']:.2f} | {m['cpu_us_per_req']:.3f} | "
                         f"{m['rps'] / base['rps']:.2f} | {m['cpu_us_per_req'] / base['cpu_us_per_req']:.2f} | "
                         f"{m['target_util']:.0%} | {sc:.2f} |" if sc is not None else
                         f"| {label} | {name} | {m['rps']:,.0f} | {m['user_s']:.2f} | {m['sys_s']:.2f} | {m['cpu_us_per_req']:.3f} | "
                         f"{m['rps'] / base['rps']:.2f} | {m['cpu_us_per_req'] / base['cpu_us_per_req']:.2f} | {m['target_util']:.0%} | n/a |")
    (out_dir / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
