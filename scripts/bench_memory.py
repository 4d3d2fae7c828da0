#!/usr/bin/env python3
"""Memory in long runs: peak RSS of a 1-minute and a 10-minute ringblast run with --csv
--csv-full-history --hlog and a 10-endpoint scenario against the built-in target, side by side.

Everything per second is written as the run goes, so the two peaks should be equal within 10 %.
Peak RSS is VmHWM from /proc, sampled until the run ends (and ru_maxrss from wait4 as a check).
Only loopback traffic; each run is bounded by its duration plus a hard timeout.
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

from benchlib import free_port

from benchlib import ROOT, BIN


def scenario(endpoints):
    tasks = "\n".join(
        f'[[user.task]]\nname = "ep{i}"\npath = "/item/{i}?n={{{{seq}}}}"\nweight = 1\n'
        for i in range(endpoints))
    return f'[[user]]\nname = "reader"\n{tasks}'


def hwm_kib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def one(binary, url, seconds, rate, files):
    scen = Path(files) / "scenario.toml"
    scen.write_text(scenario(10))
    argv = [binary, "run", "--host", url, "--scenario", str(scen), "-R", str(rate), "-c", "32",
            "-d", f"{seconds}s", "--cpus", "1", "-q", "--json", f"{files}/r{seconds}.json",
            "--csv", f"{files}/r{seconds}", "--csv-full-history", "--hlog", f"{files}/r{seconds}.hlog"]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak, samples = 0, []
    deadline = time.monotonic() + seconds + 60
    while p.poll() is None and time.monotonic() < deadline:
        try:
            h = hwm_kib(p.pid)
            peak = max(peak, h)
            samples.append(h)
        except OSError:
            break
        time.sleep(1)
    if p.poll() is None:
        p.kill()
    _, status, usage = os.wait4(p.pid, 0) if p.returncode is None else (0, 0, None)
    report = json.loads(Path(f"{files}/r{seconds}.json").read_text())
    history = Path(f"{files}/r{seconds}_stats_history.csv").read_text().count("\n") - 1
    return {"seconds": seconds, "peak_rss_kib": peak, "responses": report["requests"]["responses"],
            "history_rows": history, "hlog_bytes": Path(f"{files}/r{seconds}.hlog").stat().st_size,
            "rss_at_10s_kib": samples[min(10, len(samples) - 1)] if samples else 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--short", type=int, default=60)
    ap.add_argument("--long", type=int, default=600)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--bin", default=str(BIN), help="the ringblast binary measured (the target is always ours)")
    a = ap.parse_args()
    port = free_port()
    target = subprocess.Popen(["taskset", "-c", "0", str(BIN), "serve", "--listen", f"127.0.0.1:{port}",
                               "--cpus", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        with tempfile.TemporaryDirectory() as files:
            rows = [one(a.bin, f"http://127.0.0.1:{port}", s, a.rate, files) for s in (a.short, a.long)]
    finally:
        target.terminate()
        target.wait(timeout=10)
    short, long_ = rows
    ratio = long_["peak_rss_kib"] / short["peak_rss_kib"]
    summary = {"binary": a.bin, "runs": rows, "long_over_short_peak_rss": round(ratio, 3), "rate": a.rate,
               "endpoints": 10, "flags": "--csv --csv-full-history --hlog"}
    Path(a.out, "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    for r in rows:
        print(f"{r['seconds']:>5} s: peak RSS {r['peak_rss_kib'] / 1024:.1f} MiB, {r['responses']} responses, "
              f"{r['history_rows']} history rows, hlog {r['hlog_bytes'] / 1024:.0f} KiB")
    print(f"peak RSS, {a.long} s over {a.short} s: {ratio:.3f} (goal: within 10 %)")


if __name__ == "__main__":
    sys.exit(main())
