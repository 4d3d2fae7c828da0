#!/usr/bin/env python3
"""Side-by-side whole-process benchmark: ringblast vs shb, wrk and h2load, unpipelined and pipelined.

The built-in target (`ringblast serve --io epoll`, one core) runs pinned to CPU 0, a fresh one per
run, and counts what it answered; each generator runs pinned to CPU 1 with one thread. Configs:
-c 64 and -c 1000, each at -p 1 and -p 16 (plus -c 64 -p 16 against a target stamping a counter
into every head, so ringblast's remembered-head parser never hits). Every round runs every tool
once, in a rotated order, so drift of a shared machine spreads over all; tables give medians.

For every run: requests/s, the generator's user and system CPU-seconds (rusage of the whole
process), CPU per answered request, and the target's CPU use over the run (from /proc), so the
results say whether the generator or the target was the limit. A separate short run per tool
counts syscalls per request (`perf stat -e raw_syscalls:sys_enter`), and `--profile` records
each tool's -p 1 runs with `perf record -g` and splits its CPU by where it goes (perf_split.py).

shb is installed by this script with cargo, pinned (`cargo install shb --version SHB_VERSION`,
into .bench-tools/); it has no HTTP/1.1 pipelining (its -p is HTTP/2 streams), so it runs at -p 1
only. Only loopback traffic; every run is bounded by its duration plus a hard timeout.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, time
from pathlib import Path

from benchlib import BIN, ROOT, cpu_of, free_port, parse_h2load, parse_wrk, wrapped
import perf_split

SHB_VERSION = "0.6.0"
CLK = os.sysconf("SC_CLK_TCK")


def shb_binary():
    """shb at the pinned version, built once into .bench-tools/ (None when cargo fails)."""
    root = ROOT / ".bench-tools"
    exe = root / "bin" / "shb"
    stamp = root / f"shb-{SHB_VERSION}"
    if not (exe.exists() and stamp.exists()):
        p = subprocess.run(["cargo", "install", "shb", "--version", SHB_VERSION, "--locked", "--root", str(root)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            print(f"shb {SHB_VERSION} could not be installed:\n{p.stderr[-2000:]}", file=sys.stderr)
            return None
        stamp.write_text("")
    return str(exe)


def proc_cpu(pid):
    """user+system CPU-seconds of a process so far, all threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def rb_rps(out):
    return float(re.search(r"([\d,]+) requests/s", out).group(1).replace(",", ""))


def tools(url, duration, conns, depth, cpu, shb):
    """(name, argv, parse) for each generator present; parse(stdout) -> requests/s."""
    rb = [str(BIN), "run", url, "--cpus", str(cpu), "-c", str(conns), "-p", str(depth), "-d", f"{duration}s",
          "-q", "--kernel-stats", "off"]
    pin = ["taskset", "-c", str(cpu)]
    out = [("ringblast", rb, rb_rps)]
    if shb and depth == 1:
        out.append(("shb", pin + [shb, "-t", "1", "-c", str(conns), "-z", f"{duration}s", url],
                    lambda o: float(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1))))
    if shutil.which("wrk"):
        script = ["-s", str(ROOT / "bench" / "wrk-pipeline.lua"), url, "--", str(depth)] if depth > 1 else [url]
        out.append(("wrk", pin + ["wrk", "-t1", f"-c{conns}", f"-d{duration}s"] + script, lambda o: parse_wrk(o)[0]))
    if shutil.which("h2load"):
        out.append(("h2load", pin + ["h2load", "--h1", "-t1", f"-c{conns}", "-m", str(depth), "-D", str(duration), url],
                    lambda o: parse_h2load(o)[0]))
    return out


def start_target(cpu, unique):
    port = free_port()
    argv = [str(BIN), "serve", "--cpus", str(cpu), "--io", "epoll", "--listen", f"127.0.0.1:{port}"]
    target = subprocess.Popen(argv + (["--unique-heads"] if unique else []),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.4)
    return target, f"http://127.0.0.1:{port}/"


def stop_target(target):
    target.send_signal(2)
    out = target.communicate(timeout=20)[0]
    return int(re.search(r"answered (\d+)", out).group(1))


def run_one(argv, target_pid, timeout):
    """Runs a generator; returns (output, wall seconds, target CPU-seconds over the run)."""
    t0 = time.monotonic()
    target0 = proc_cpu(target_pid)
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    return out, time.monotonic() - t0, proc_cpu(target_pid) - target0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", required=True)
    ap.add_argument("--target-cpu", type=int, default=0)
    ap.add_argument("--generator-cpu", type=int, default=1)
    ap.add_argument("--configs", default="c64-p1,c1000-p1,c64-p16,c1000-p16,c64-p16-unique-heads")
    ap.add_argument("--profile", action="store_true", help="split each tool's -p 1 CPU with perf record")
    a = ap.parse_args()
    out_dir = Path(a.out)
    (out_dir / "raw").mkdir(parents=True, exist_ok=True)
    shb = shb_binary()
    configs = []
    for label in a.configs.split(","):
        m = re.fullmatch(r"c(\d+)-p(\d+)(-unique-heads)?", label)
        configs.append((label, int(m.group(1)), int(m.group(2)), bool(m.group(3))))
    results, syscalls, profiles = [], {}, {}
    for label, conns, depth, unique in configs:
        names = [t[0] for t in tools("http://x/", 1, conns, depth, a.generator_cpu, shb)]
        for rnd in range(a.rounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for name in order:
                target, url = start_target(a.target_cpu, unique)
                _, argv, parse = next(t for t in tools(url, a.duration, conns, depth, a.generator_cpu, shb) if t[0] == name)
                out, wall, target_cpu = run_one(wrapped(argv), target.pid, a.duration + 60)
                answered = stop_target(target)
                (out_dir / "raw" / f"{label}-{name}-r{rnd}.txt").write_text(" ".join(argv) + "\n\n" + out)
                try:
                    parse(out)
                    user, system = cpu_of(out)
                except Exception:
                    print(f"  {label} {name}: no figure in output", file=sys.stderr)
                    continue
                n = max(answered, 1)
                row = dict(config=label, conns=conns, depth=depth, round=rnd, tool=name, answered=answered,
                           rps=answered / a.duration, user_s=user, sys_s=system,
                           user_ns_per_req=user * 1e9 / n, cpu_us_per_req=(user + system) * 1e6 / n,
                           generator_util=(user + system) / wall, target_util=target_cpu / wall)
                results.append(row)
                print(f"  {label:<22} r{rnd} {name:<10} {row['rps']:>12,.0f} req/s  user {row['user_ns_per_req']:6.0f} ns/req  "
                      f"total {row['cpu_us_per_req']:6.3f} us/req  generator {row['generator_util']:.0%} "
                      f"target {row['target_util']:.0%}", flush=True)
        if shutil.which("perf"):
            for name, _, parse in tools("http://x/", 3, conns, depth, a.generator_cpu, shb):
                target, url = start_target(a.target_cpu, unique)
                argv = next(t[1] for t in tools(url, 3, conns, depth, a.generator_cpu, shb) if t[0] == name)
                p = subprocess.run(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "--"] + argv,
                                   capture_output=True, text=True, timeout=90)
                answered = stop_target(target)
                m = re.search(r"^(\d+),,raw_syscalls:sys_enter", p.stderr, re.M)
                if m and answered:
                    syscalls[f"{label}-{name}"] = int(m.group(1)) / answered
                if a.profile and depth == 1:
                    target, url = start_target(a.target_cpu, unique)
                    argv = next(t[1] for t in tools(url, 4, conns, depth, a.generator_cpu, shb) if t[0] == name)
                    data = out_dir / "raw" / f"{label}-{name}.perf.data"
                    subprocess.run(["perf", "record", "-F", "1999", "-g", "-o", str(data), "--"] + argv,
                                   capture_output=True, timeout=90)
                    stop_target(target)
                    profiles[f"{label}-{name}"] = perf_split.split(data)
                    data.unlink()
    summary = {"duration_s": a.duration, "rounds": a.rounds, "shb": SHB_VERSION if shb else None, "runs": results,
               "syscalls_per_request": syscalls, "profiles": profiles,
               "kernel": os.uname().release, "cpus": os.cpu_count()}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = ["| config | tool | req/s | user ns/req | CPU µs/req | CPU/req ÷ ringblast | user/req ÷ ringblast | req/s ÷ ringblast "
             "| generator CPU | target CPU | syscalls/req |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, *_ in configs:
        rows = [r for r in results if r["config"] == label]
        med = {}
        for name in dict.fromkeys(r["tool"] for r in rows):
            rs = [r for r in rows if r["tool"] == name]
            med[name] = {k: statistics.median(r[k] for r in rs)
                         for k in ("rps", "user_ns_per_req", "cpu_us_per_req", "generator_util", "target_util")}
        base = med.get("ringblast")
        if base is None:
            continue
        for name, m in med.items():
            sc = syscalls.get(f"{label}-{name}")
            lines.append(f"| {label} | {name} | {m['rps']:,.0f} | {m['user_ns_per_req']:,.0f} | {m['cpu_us_per_req']:.3f} | "
                         f"{m['cpu_us_per_req'] / base['cpu_us_per_req']:.2f} | "
                         f"{m['user_ns_per_req'] / base['user_ns_per_req']:.2f} | {m['rps'] / base['rps']:.2f} | "
                         f"{m['generator_util']:.0%} | {m['target_util']:.0%} | "
                         + (f"{sc:.3f} |" if sc is not None else "n/a |"))
    if profiles:
        keys = list(profiles)
        lines += ["", "Where each tool's CPU goes at -p 1 (share of its own samples, perf record -g):", "",
                  "| category | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for c in perf_split.CATEGORIES:
            lines.append(f"| {c} | " + " | ".join(f"{profiles[k][c]:.1%}" for k in keys) + " |")
    (out_dir / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
