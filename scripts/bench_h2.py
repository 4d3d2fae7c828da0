#!/usr/bin/env python3
"""HTTP/2 (h2c) side by side on one client core: ringblast vs h2load and shb, in one run, interleaved.

Targets, each pinned to CPU 0 (every client runs alone on CPU 1, one thread):
  * `ringblast serve --http2` (the built-in target; HTTP/2 by its preface);
  * Debian's nginx, one worker, `listen … http2`, keepalive_requests 1000000 (no GOAWAY churn).
shb is installed by bench_peers' shb_binary (cargo, pinned to SHB_VERSION, into .bench-tools/).
Each tool opens 4 connections with M concurrent streams each (h2load -m, shb -p, ringblast
--streams), for M in 1, 10 and 100, and runs --duration seconds; the cases go round-robin, so
every round sees the machine in the same state for every tool.
CPU per request is the client's user+system time (rusage) over its responses; the target's CPU
share is read from /proc, to tell which side set the rate.
"""
import argparse, json, re, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import BIN, TICK, children, common_args, free_port, keep, parse_h2load, run_measured, start_nginx, stop, ticks
from bench_peers import SHB_VERSION, shb_binary

NGINX = """  access_log off;
  keepalive_requests 1000000;
  http2_max_concurrent_streams 128;
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096 http2;
    location / {{ return 200 "Hello, world!"; }}
  }}
"""

CONNECTIONS = 4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--streams", default="1,10,100", help="concurrent streams per connection to try")
    a, out = common_args(ap)
    streams = [int(m) for m in a.streams.split(",")]
    shb = shb_binary()
    if shb is None:
        return 1
    d = tempfile.mkdtemp(prefix="ringblast-h2-")
    port = free_port()
    nginx = start_nginx(d, NGINX.format(port=port))
    serve = subprocess.Popen(["taskset", "-c", "0", str(BIN), "serve", "--http2", "--cpus", "0",
                              "--listen", "127.0.0.1:0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    serve_url = re.search(r"http://[\d.:]+", serve.stderr.readline()).group(0) + "/"
    time.sleep(0.5)
    nginx_worker = children(nginx.pid)[0]
    dur = str(a.duration)
    c = str(CONNECTIONS)
    tools = {
        "ringblast": lambda url, m: [str(BIN), "run", url, "--http2", "--streams", str(m), "-c", c,
                                     "--cpus", "1", "-d", f"{dur}s", "-q", "--json", f"{d}/r.json"],
        "h2load": lambda url, m: ["taskset", "-c", "1", "h2load", "-t1", "-c", c, "-m", str(m), "-D", dur, url],
        f"shb {SHB_VERSION}": lambda url, m: ["taskset", "-c", "1", shb, "--http2", "-t", "1", "-c", c, "-p", str(m),
                               "-z", f"{dur}s", "--json", url],
    }
    cases = [(f"{target} m{m}", tool, make(url, m), pid)
             for target, url, pid in (("serve", serve_url, serve.pid), ("nginx", f"http://127.0.0.1:{port}/", nginx_worker))
             for m in streams for tool, make in tools.items()]
    rows = []
    try:
        for rnd in range(a.rounds):
            for case, tool, argv, server_pid in cases:
                s0, t0 = ticks(server_pid), time.time()
                text, user, system = run_measured(argv, a.duration + 60)
                server_cpu = (ticks(server_pid) - s0) / TICK / (time.time() - t0)
                if tool == "ringblast":
                    rep = json.loads(Path(f"{d}/r.json").read_text())
                    rps, n, errors = rep["rps"], rep["requests"]["responses"], rep["requests"]["errors"]
                elif tool == "h2load":
                    rps, n, errors = parse_h2load(text)
                else:  # shb
                    rep = json.loads(text[text.index("{"):text.rindex("}") + 1])
                    rps, n = rep["requestsPerSec"], rep["requests"]["ok"]
                    errors = rep["requests"]["errors"] + rep["requests"]["connectErrors"]
                row = {"case": case, "tool": tool, "round": rnd, "rps": rps, "responses": n, "errors": errors,
                       "client_user_s": user, "client_sys_s": system, "server_cpu": round(server_cpu, 3),
                       "cpu_us_per_req": (user + system) / max(n, 1) * 1e6,
                       "user_ns_per_req": user / max(n, 1) * 1e9}
                keep(out, rows, row, argv, text)
    finally:
        stop(nginx, serve, tmp=d)
    summary = []
    print("\n| case | tool | req/s (median) | × h2load | client CPU µs/req | × h2load | user ns/req | target CPU | errors |")
    print("|---|---|---|---|---|---|---|---|---|")
    for case, tool in dict.fromkeys((c, t) for c, t, _, _ in cases):
        med = lambda k, t=tool: statistics.median(r[k] for r in rows if r["case"] == case and r["tool"] == t)
        s = {"case": case, "tool": tool, "rps": med("rps"), "cpu_us_per_req": med("cpu_us_per_req"),
             "user_ns_per_req": med("user_ns_per_req"), "server_cpu": med("server_cpu"), "errors": med("errors"),
             "rps_vs_h2load": med("rps") / med("rps", "h2load"),
             "cpu_vs_h2load": med("cpu_us_per_req") / med("cpu_us_per_req", "h2load")}
        summary.append(s)
        print(f"| {case} | {tool} | {s['rps']:,.0f} | {s['rps_vs_h2load']:.2f} | {s['cpu_us_per_req']:.2f} | "
              f"{s['cpu_vs_h2load']:.2f} | {s['user_ns_per_req']:,.0f} | {100 * s['server_cpu']:.0f}% | {s['errors']:,.0f} |")
    (out / "summary.json").write_text(json.dumps({"runs": rows, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
