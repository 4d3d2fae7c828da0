#!/usr/bin/env python3
"""What `--kernel-stats` costs: the same runs with it off and on (eBPF), interleaved, on one
client core (CPU 1) against a target on CPU 0.

Cases:
  * keep-alive against `ringblast serve`, 64 connections at pipeline depth 1 and 16;
  * churn: 1000 connections against Debian's nginx with `keepalive_requests 10`, so the server
    closes every 10th response and each connection is made again (the case where the hooks fire
    most: every connect, state change and close).
Reported per case: req/s, the client's CPU per request (user and system from rusage) and their
on/off ratios (medians over rounds), and the server's CPU share. The order alternates by round
(off, on; then on, off): a churn run leaves ~10^5 TIME_WAIT sockets that slow the next run's
connects, so a fixed order would charge that to whichever mode runs second. Then one more run
per case with the kernel's BPF statistics on (sysctl kernel.bpf_stats_enabled=1, read with
bpftool while the run goes) gives the hooks' own run time per request and per connection; those
runs are not in the ratios, as the statistics cost time of their own. BPF programs run wherever
the event happens, so part of their cost lands on the server's core or in softirq.
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, threading, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import BIN, TICK, children, common_args, free_port, run_measured, start_nginx, ticks


HTTP = """  access_log off;
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    keepalive_requests 10;
    location / {{ return 200 "Hello, world!"; }}
  }}
"""




class BpfStats(threading.Thread):
    """Polls bpftool for the run time of ringblast's programs (names start btf_ or tp_) while a
    run goes; keeps the last reading (the programs vanish when the process exits)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop, self.last = threading.Event(), {}

    def run(self):
        while not self.stop.is_set():
            p = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, text=True)
            try:
                progs = json.loads(p.stdout or "[]")
            except json.JSONDecodeError:
                progs = []
            now = {x["name"]: (x.get("run_time_ns", 0), x.get("run_cnt", 0)) for x in progs
                   if x.get("name", "").startswith(("btf_", "tp_"))}
            if now:
                self.last = now
            self.stop.wait(0.25)


def main():
    a, out = common_args(argparse.ArgumentParser())
    if not shutil.which("bpftool"):
        print("bench kstats needs bpftool for the hooks' run time: apt-get install bpftool", file=sys.stderr)
        return 1
    d = tempfile.mkdtemp(prefix="ringblast-kstats-")
    port = free_port()
    nginx = start_nginx(d, HTTP.format(d=d, port=port))
    serve = subprocess.Popen(["taskset", "-c", "0", str(BIN), "serve", "--cpus", "0", "--listen", "127.0.0.1:0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    serve_url = re.search(r"http://[\d.:]+", serve.stderr.readline()).group(0) + "/"
    time.sleep(0.5)
    nginx_worker = children(nginx.pid)[0]
    dur = str(a.duration)
    rb = lambda url, conns, *extra: [str(BIN), "run", url, "--cpus", "1", "-c", str(conns), "-d", f"{dur}s", "-q",
                                     "--json", f"{d}/r.json", *extra]
    cases = []
    for name, argv, pid in (("keep-alive serve p1", rb(serve_url, 64, "-p", "1"), serve.pid),
                            ("keep-alive serve p16", rb(serve_url, 64, "-p", "16"), serve.pid),
                            ("churn nginx -c 1000, close every 10th", rb(f"http://127.0.0.1:{port}/", 1000), nginx_worker)):
        for mode in ("off", "on"):
            cases.append((name, mode, argv + ["--kernel-stats", mode], pid))
    rows = []

    def one(case, mode, argv, server_pid, rnd, stats_on):
        stats = BpfStats()
        if stats_on:
            subprocess.run(["sysctl", "-q", "-w", "kernel.bpf_stats_enabled=1"], check=True)
            stats.start()
        s0, t0 = ticks(server_pid), time.time()
        text, user, system = run_measured(argv, a.duration + 60)
        server_cpu = (ticks(server_pid) - s0) / TICK / (time.time() - t0)
        stats.stop.set()
        subprocess.run(["sysctl", "-q", "-w", "kernel.bpf_stats_enabled=0"], check=True)
        rep = json.loads(Path(f"{d}/r.json").read_text())
        n = rep["requests"]["responses"]
        bpf_ns = sum(t for t, _ in stats.last.values())
        bpf_runs = sum(c for _, c in stats.last.values())
        k = rep.get("kernel") or {}
        connects = rep["connections_detail"]["opened"]
        row = {"case": case, "kernel_stats": mode, "round": rnd, "bpf_stats": stats_on, "rps": rep["rps"],
               "responses": n, "errors": rep["requests"]["errors"], "client_user_s": user, "client_sys_s": system,
               "user_us_per_req": user / max(n, 1) * 1e6, "sys_us_per_req": system / max(n, 1) * 1e6,
               "cpu_us_per_req": (user + system) / max(n, 1) * 1e6, "server_cpu": round(server_cpu, 3),
               "connects": connects, "bpf_ns_per_req": bpf_ns / max(n, 1), "bpf_runs_per_req": bpf_runs / max(n, 1),
               "bpf_ns_per_connect": bpf_ns / max(connects, 1),
               "bpf_programs": {name: {"run_time_ns": t, "run_cnt": c} for name, (t, c) in stats.last.items()},
               "kernel": {key: k.get(key) for key in ("source", "handshakes", "handshake_us", "retransmits",
                                                      "resets", "drops", "purged_at_close", "connections")}}
        name = re.sub(r"[^\w.-]+", "_", f"{case}-{mode}-r{rnd}{'-bpfstats' if stats_on else ''}")
        (out / "raw" / f"{name}.txt").write_text(" ".join(argv) + "\n\n" + text)
        rows.append(row)
        print(json.dumps(row), flush=True)

    try:
        for rnd in range(a.rounds):
            for i in range(0, len(cases), 2):
                pair = cases[i:i + 2] if rnd % 2 == 0 else cases[i:i + 2][::-1]
                for case, mode, argv, server_pid in pair:
                    one(case, mode, argv, server_pid, rnd, False)
        for case, mode, argv, server_pid in cases:
            if mode == "on":
                one(case, mode, argv, server_pid, a.rounds, True)
    finally:
        subprocess.run(["sysctl", "-q", "-w", "kernel.bpf_stats_enabled=0"])
        nginx.terminate(); serve.terminate()
        nginx.wait(timeout=10); serve.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)
    summary = []
    print("\n| case | --kernel-stats | req/s (median) | client µs/req user + sys | server CPU | req/s on÷off | CPU/req on÷off | BPF ns/req | BPF ns/connection | hook runs/req |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in dict.fromkeys(c for c, *_ in cases):
        med = {}
        for mode in ("off", "on"):
            rs = [r for r in rows if r["case"] == case and r["kernel_stats"] == mode and not r["bpf_stats"]]
            med[mode] = {k: statistics.median(r[k] for r in rs) for k in
                         ("rps", "user_us_per_req", "sys_us_per_req", "cpu_us_per_req", "server_cpu")}
        probe = next(r for r in rows if r["case"] == case and r["bpf_stats"])
        for mode in ("off", "on"):
            m = med[mode]
            tail = (f"{m['rps'] / med['off']['rps']:.3f} | {m['cpu_us_per_req'] / med['off']['cpu_us_per_req']:.3f} | "
                    f"{probe['bpf_ns_per_req']:.1f} | {probe['bpf_ns_per_connect']:,.0f} | {probe['bpf_runs_per_req']:.3f}"
                    if mode == "on" else " | | | |")
            print(f"| {case} | {mode} | {m['rps']:,.0f} | {m['user_us_per_req']:.2f} + {m['sys_us_per_req']:.2f} | "
                  f"{100 * m['server_cpu']:.0f}% | {tail} |")
            summary.append({"case": case, "kernel_stats": mode, **m,
                            **({"bpf_ns_per_req": probe["bpf_ns_per_req"], "bpf_ns_per_connect": probe["bpf_ns_per_connect"],
                                "bpf_runs_per_req": probe["bpf_runs_per_req"]} if mode == "on" else {})})
    (out / "summary.json").write_text(json.dumps({"runs": rows, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
