#!/usr/bin/env python3
"""Partial load: CPU per request, user and system apart, below saturation and at it, in one run.

The built-in target (`ringblast serve --io epoll`) runs alone on CPU 0, a fresh one per run, and
counts what it answered; each generator runs pinned to CPU 1. Cases:
- saturated closed loop (the figure partial load is compared with): -c 1000 -p 1, -c 64 -p 1 and
  -c 64 -p 16;
- fixed rates (1k, 20k, 100k req/s over 1000 connections): ringblast as it ships, ringblast with a
  wake-up per request and the userspace clock (`--batch-window 0 --latency-clock user`, how it
  worked before), oha (`-q`) and wrk2 (`-R`);
- users who think (1000 users 20-60 ms, 10,000 users 200-600 ms): ringblast both ways (neither
  peer has users with think time).
Rounds run every case once, in a rotated order, so drift of this shared machine spreads over all.
CPU is the generator's rusage (all threads), divided by the requests the target answered.
Only loopback.
"""
import argparse, json, re, resource, shutil, statistics, subprocess, time

from benchlib import BIN, common_args, free_port, parse_wrk, run_measured

CONNS = 1000


def cases(a):
    out = [
        ("saturated -c1000 p1", "ringblast", ["-c", "1000"]),
        ("saturated -c64 p1", "ringblast", ["-c", "64"]),
        ("saturated -c64 p16", "ringblast", ["-c", "64", "-p", "16"]),
    ]
    for rate in a.rates:
        out += [
            (f"-R {rate}", "ringblast", ["-c", str(CONNS), "-R", str(rate)]),
            (f"-R {rate} per-request wake-ups", "ringblast",
             ["-c", str(CONNS), "-R", str(rate), "--batch-window", "0", "--latency-clock", "user"]),
        ]
        if a.oha:
            out.append((f"-R {rate}", "oha", [str(rate)]))
        if a.wrk2:
            out.append((f"-R {rate}", "wrk2", [str(rate)]))
    for users, think in a.users:
        out += [
            (f"users {users} think {think}", "ringblast", ["--users", str(users), "--think", think]),
            (f"users {users} think {think} per-request wake-ups", "ringblast",
             ["--users", str(users), "--think", think, "--batch-window", "0", "--latency-clock", "user"]),
        ]
    return out


def argv_of(a, tool, args, url, json_path):
    d = a.duration
    if tool == "ringblast":
        return [str(BIN), "run", url, "--cpus", "1", "-d", f"{d}s", "--kernel-stats", "off", "-q",
                "--json", str(json_path), *args]
    if tool == "oha":
        return ["taskset", "-c", "1", a.oha, "-z", f"{d}s", "-c", str(CONNS), "-q", args[0], "--latency-correction", "--no-tui",
                "--output-format", "json", url]
    return ["taskset", "-c", "1", a.wrk2, "-t1", f"-c{CONNS}", f"-d{d}s", f"-R{args[0]}", url]


def one(a, out, name, tool, args, rnd):
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    target = subprocess.Popen([str(BIN), "serve", "--cpus", "0", "--io", "epoll", "--listen", f"127.0.0.1:{port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.4)
    slug = re.sub(r"[^a-z0-9]+", "-", f"{tool}-{name}".lower()).strip("-")
    json_path = out / "raw" / f"{slug}-r{rnd}.json"
    argv = argv_of(a, tool, args, url, json_path)
    text, user, system = run_measured(argv, a.duration + 60)
    target.send_signal(2)
    answered = int(re.search(r"answered (\d+)", target.communicate(timeout=20)[0]).group(1))
    (out / "raw" / f"{slug}-r{rnd}.txt").write_text(" ".join(argv) + "\n\n" + text)
    row = {"case": name, "tool": tool, "round": rnd, "answered": answered, "user_s": user, "sys_s": system,
           "rps": round(answered / a.duration, 1)}
    n = max(answered, 1)
    row["user_ns_per_req"] = round(user * 1e9 / n, 1)
    row["sys_ns_per_req"] = round(system * 1e9 / n, 1)
    row["cpu_us_per_req"] = round((user + system) * 1e6 / n, 2)
    if tool == "ringblast":
        r = json.loads(json_path.read_text())
        row.update(errors=r["requests"]["errors"], p50_us=r["latency_us"]["p50"], p99_us=r["latency_us"]["p99"],
                   uncorrected_p50_us=r["latency_uncorrected_us"]["p50"], lag_p50_us=r["schedule_lag_us"]["p50"],
                   lag_p99_us=r["schedule_lag_us"]["p99"], clock=r["latency_clock"]["clock"],
                   batch_window_us=r["latency_clock"]["batch_window_us"],
                   added_p50_us=(r["latency_clock"]["generator_added_us"] or {}).get("p50"))
    elif tool == "oha":
        m = re.search(r"\{.*\}", text, re.S)
        if m:
            r = json.loads(m.group(0))
            pct = r.get("latencyPercentiles", {})
            row.update(p50_us=round(pct.get("p50", 0) * 1e6), p99_us=round(pct.get("p99", 0) * 1e6))
    else:
        _, _, errors = parse_wrk(text)
        row["errors"] = errors
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rates", default="1000,20000,100000")
    ap.add_argument("--users-think", default="1000:20ms..60ms,10000:200ms..600ms")
    ap.add_argument("--oha", default=shutil.which("oha") or "")
    ap.add_argument("--wrk2", default="")
    a, out = common_args(ap)
    a.rates = [int(r) for r in a.rates.split(",") if r]
    a.users = [tuple(u.split(":")) for u in a.users_think.split(",") if u]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    all_cases = cases(a)
    rows = []
    for rnd in range(a.rounds):
        k = (rnd * 7) % len(all_cases)
        for name, tool, args in all_cases[k:] + all_cases[:k]:
            row = one(a, out, name, tool, args, rnd)
            rows.append(row)
            print(json.dumps(row), flush=True)
    summary = []
    sat = statistics.median(r["cpu_us_per_req"] for r in rows if r["case"] == "saturated -c1000 p1")
    for name, tool, _ in all_cases:
        rs = [r for r in rows if r["case"] == name and r["tool"] == tool]
        med = lambda key: statistics.median(r[key] for r in rs) if all(r.get(key) is not None for r in rs) else None
        s = {"case": name, "tool": tool, "rounds": len(rs), "rps": med("rps"), "user_ns_per_req": med("user_ns_per_req"),
             "sys_ns_per_req": med("sys_ns_per_req"), "cpu_us_per_req": med("cpu_us_per_req"),
             "vs_saturated": round(med("cpu_us_per_req") / sat, 2),
             "p50_us": med("p50_us"), "p99_us": med("p99_us"), "lag_p99_us": med("lag_p99_us"),
             "added_p50_us": med("added_p50_us")}
        summary.append(s)
    (out / "partial.json").write_text(json.dumps({"rows": rows, "summary": summary}, indent=2) + "\n")
    print("\n| case | tool | req/s | user ns/req | sys ns/req | CPU µs/req | × saturated | p50 µs | p99 µs |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in summary:
        print(f"| {s['case']} | {s['tool']} | {s['rps']:,.0f} | {s['user_ns_per_req']:,.0f} | {s['sys_ns_per_req']:,.0f} "
              f"| {s['cpu_us_per_req']:.2f} | {s['vs_saturated']:.2f} | {s['p50_us']} | {s['p99_us']} |")


if __name__ == "__main__":
    main()
