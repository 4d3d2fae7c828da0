#!/usr/bin/env python3
"""ringblast against nginx, side by side with wrk: keep-alive limits in the real world.

nginx (Debian's package) runs with its own config on loopback, one worker pinned to CPU 0, its
default `keepalive_requests 1000`, so every connection is closed after 1,000 requests. Generators
run on CPU 1, 64 connections, unpipelined and with 16 pipelined, interleaved over rounds.
ringblast runs twice: by default (unanswered idempotent requests behind the close are sent again)
and with --no-resend (they are `closed` errors, as before). For each: requests/s, CPU per request,
errors, and what ringblast re-sent; nginx's access log would be the server's count, so it is on and
counted per run to check ringblast's responses against it. Only loopback; every run is bounded.
"""
import argparse, json, re, statistics, subprocess, sys, tempfile, time
from pathlib import Path

from benchlib import common_args, free_port, parse_wrk, run_measured, wrk_argv

from benchlib import ROOT, BIN, start_nginx, stop

HTTP = """  log_format counted '$status';
  access_log {dir}/access.log counted;
  keepalive_requests 1000;
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    location / {{ return 200 "Hello, world!"; }}
  }}
"""


def lines(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except FileNotFoundError:
        return 0


def main():
    a, out = common_args(argparse.ArgumentParser())
    port = free_port()
    d = tempfile.mkdtemp(prefix="ringblast-nginx-")
    nginx = start_nginx(d, HTTP.format(dir=d, port=port))
    time.sleep(0.5)
    url = f"http://127.0.0.1:{port}/"
    rows = []
    try:
        for depth in (1, 16):
            rb = [str(BIN), "run", url, "--cpus", "1", "-c", "64", "-p", str(depth), "-d", f"{a.duration}s",
                  "--json", f"{d}/r.json"]
            tools = {"ringblast": rb, "ringblast --no-resend": rb + ["--no-resend"],
                     "wrk": wrk_argv(url, depth, a.duration, 1)}
            for rnd in range(a.rounds):
                for name, argv in tools.items():
                    before = lines(f"{d}/access.log")
                    text, user, system = run_measured(argv, a.duration + 60)
                    time.sleep(0.3)
                    served = lines(f"{d}/access.log") - before
                    row = {"depth": depth, "tool": name, "round": rnd, "nginx_answered": served}
                    if name.startswith("ringblast"):
                        rep = json.loads(Path(f"{d}/r.json").read_text())
                        q = rep["requests"]
                        row.update(rps=rep["rps"], responses=q["responses"], errors=q["errors"], resent=q["resent"],
                                   unfinished=q["unfinished"], closed=rep["errors"]["closed"])
                        n = q["responses"]
                    else:
                        rps, n, errors = parse_wrk(text)
                        n = n or rps * a.duration
                        row.update(rps=rps, responses=n, errors=errors)
                    row.update(cpu_us_per_req=(user + system) / max(n, 1) * 1e6)
                    (out / "raw" / f"p{depth}-{name.replace(' ', '')}-r{rnd}.txt").write_text(" ".join(argv) + "\n\n" + text)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        stop(nginx, tmp=d)
    print("\n| depth | tool | req/s (median) | CPU µs/req | errors | resent | nginx answered − responses |")
    print("|---|---|---|---|---|---|---|")
    summary = []
    for depth in (1, 16):
        for tool in ("ringblast", "ringblast --no-resend", "wrk"):
            rs = [r for r in rows if r["depth"] == depth and r["tool"] == tool]
            med = lambda k: statistics.median(r.get(k, 0) for r in rs)
            gap = max(r["nginx_answered"] - r["responses"] for r in rs)
            summary.append({"depth": depth, "tool": tool, "rps": med("rps"), "cpu_us_per_req": med("cpu_us_per_req"),
                            "errors": med("errors"), "resent": med("resent"), "max_answered_minus_responses": gap})
            print(f"| p{depth} | {tool} | {med('rps'):,.0f} | {med('cpu_us_per_req'):.3f} | {med('errors'):,.0f} | "
                  f"{med('resent'):,.0f} | {gap} |")
    (out / "summary.json").write_text(json.dumps({"runs": rows, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
