#!/usr/bin/env python3
"""HTTPS side by side on one client core: ringblast vs wrk and h2load (--h1), in one run, interleaved.

Targets, each pinned to CPU 0 (the client gets CPU 1): Debian's nginx with TLS (an ECDSA P-256
certificate made here by openssl, a shared session cache and tickets), and `ringblast serve --tls`.
  * keep-alive: 64 connections at pipeline depth 1 and 16, against both targets;
  * every tool sends the same request bytes (wrk and h2load get ringblast's User-Agent);
  * churn (ringblast and wrk; h2load cannot reconnect, see below): one request per connection against nginx (keepalive_requests 1 on that port, so every
    tool reconnects after each answer; ringblast also says --requests-per-conn 1): full and resumed
    handshakes per second, TLS 1.3 and 1.2. nginx logs $ssl_session_reused for every request, so
    the resumed share is the server's count, not the tool's. The same churn runs against
    `serve --tls` too, whose rate the client can reach (there the handshake counts are ringblast's).
CPU per request is the client's user+system time (rusage) over its responses; the server's CPU
share is read from /proc, to tell which side set the figure.
"""
import argparse, json, re, statistics, subprocess, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import BIN, TICK, children, common_args, free_port, keep, parse_h2load, parse_wrk, run_measured, start_nginx, stop, ticks, wrk_argv


HTTP = """  log_format reuse '$ssl_session_reused';
  ssl_certificate {d}/server.pem;
  ssl_certificate_key {d}/server.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_cache shared:bench:20m;
  ssl_session_tickets on;
  server {{
    listen 127.0.0.1:{keep} reuseport backlog=4096 ssl;
    keepalive_requests 1000000;
    access_log off;
    location / {{ return 200 "Hello, world!"; }}
  }}
  server {{
    listen 127.0.0.1:{churn} reuseport backlog=4096 ssl;
    keepalive_requests 1;
    access_log {d}/churn.log reuse;
    location / {{ return 200 "Hello, world!"; }}
  }}
"""


def sh(argv, cwd):
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)


def make_certs(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    sh(["openssl", "req", "-x509", "-days", "2", "-subj", "/CN=bench CA", *ec, "-keyout", "ca.key", "-out", "ca.pem"], d)
    Path(d, "ext").write_text("subjectAltName=DNS:localhost\n")
    sh(["openssl", "req", "-new", "-subj", "/CN=localhost", *ec, "-keyout", "server.key", "-out", "server.csr"], d)
    sh(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext", "-out", "server.pem"], d)




def main():
    a, out = common_args(argparse.ArgumentParser())
    d = tempfile.mkdtemp(prefix="ringblast-tls-")
    make_certs(d)
    keep_port, churn = free_port(), free_port()
    nginx = start_nginx(d, HTTP.format(d=d, keep=keep_port, churn=churn))
    serve = subprocess.Popen(["taskset", "-c", "0", str(BIN), "serve", "--tls", "--cpus", "0", "--listen", "127.0.0.1:0"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    line = serve.stderr.readline()
    serve_url = re.search(r"https://[\d.:]+", line).group(0) + "/"
    time.sleep(0.5)
    nginx_worker = children(nginx.pid)[0]
    ca = f"{d}/ca.pem"
    dur = str(a.duration)
    rb = lambda url, *extra: [str(BIN), "run", url, "--cpus", "1", "-c", "64", "-d", f"{dur}s", "-q", "--json", f"{d}/r.json", *extra]
    # Every tool sends the same request bytes: ringblast's User-Agent makes a batch of 16
    # requests 1,088 bytes, over nginx's 1 KiB client_header_buffer_size, which costs nginx
    # extra buffers; wrk's own request stays under it (see README).
    version = subprocess.run([str(BIN), "--version"], capture_output=True, text=True).stdout.split()[-1]
    ua = ["-H", f"User-Agent: ringblast/{version}"]
    wrk = lambda url, depth, *extra: wrk_argv(url, depth, dur, 1, *ua, *extra)
    h2 = lambda url, depth: ["taskset", "-c", "1", "h2load", "--h1", "-t1", "-c64", "-m", str(depth), "-D", dur, *ua, url]
    nk, sk, nc = f"https://localhost:{keep_port}/", serve_url, f"https://localhost:{churn}/"
    cases = []
    for depth in (1, 16):
        for target, url, trust, pid in (("nginx", nk, ["--cacert", ca], nginx_worker), ("serve", sk, ["-k"], serve.pid)):
            cases.append((f"keep-alive {target} p{depth}", "ringblast", rb(url, "-p", str(depth), *trust), pid))
            cases.append((f"keep-alive {target} p{depth}", "wrk", wrk(url, depth), pid))
            cases.append((f"keep-alive {target} p{depth}", "h2load", h2(url, depth), pid))
    for version in ("1.3", "1.2"):
        for resume in (True, False):
            extra = ["--cacert", ca, "--requests-per-conn", "1", "--tls-version", version] + ([] if resume else ["--no-tls-resume"])
            cases.append((f"churn TLS {version}", "ringblast" + ("" if resume else " --no-tls-resume"), rb(nc, *extra), nginx_worker))
    cases.append(("churn TLS default", "wrk", wrk(nc, 1), nginx_worker))
    # Against the built-in target, which the client can outrun: ringblast closes after each
    # answer itself; wrk asks the target to (serve honours Connection: close).
    for tlsv, resume in (("1.2", True), ("1.3", True), ("1.2", False)):
        extra = ["-k", "--requests-per-conn", "1", "--tls-version", tlsv] + ([] if resume else ["--no-tls-resume"])
        cases.append((f"churn serve TLS {tlsv}", "ringblast" + ("" if resume else " --no-tls-resume"), rb(sk, *extra), serve.pid))
    cases.append(("churn serve TLS default", "wrk", wrk(sk, 1, "-H", "Connection: close"), serve.pid))
    # h2load is left out of churn: within a -D run it does not reconnect after a server's
    # Connection: close (it waited past the duration and had to be killed), and it has no option
    # to close connections itself. wrk reconnects after each answer.
    rows = []
    try:
        for rnd in range(a.rounds):
            for case, tool, argv, server_pid in cases:
                log = Path(d, "churn.log")
                before = log.read_text().split() if log.exists() else []
                s0, t0 = ticks(server_pid), time.time()
                text, user, system = run_measured(argv, a.duration + 60)
                server_cpu = (ticks(server_pid) - s0) / TICK / (time.time() - t0)
                time.sleep(0.3)
                seen = (log.read_text().split() if log.exists() else [])[len(before):]
                row = {"case": case, "tool": tool, "round": rnd, "server_cpu": round(server_cpu, 3),
                       "client_user_s": user, "client_sys_s": system}
                if tool.startswith("ringblast"):
                    rep = json.loads(Path(f"{d}/r.json").read_text())
                    n, rps, errors = rep["requests"]["responses"], rep["rps"], rep["requests"]["errors"]
                    tls = rep["connections_detail"].get("tls") or {}
                    row.update(handshakes=tls.get("handshakes"), handshake_us=tls.get("handshake_us"),
                               connect_us=rep["connections_detail"]["connect_us"])
                else:
                    rps, n, errors = (parse_wrk if tool == "wrk" else parse_h2load)(text)
                row.update(rps=rps, responses=n, errors=errors, cpu_us_per_req=(user + system) / max(n, 1) * 1e6)
                if seen:
                    row.update(server_resumed=seen.count("r"), server_full=seen.count("."),
                               handshakes_per_s=len(seen) / a.duration)
                elif case.startswith("churn") and tool.startswith("ringblast"):
                    hs = row["handshakes"]
                    row.update(own_resumed=hs["resumed"], own_full=hs["full"],
                               handshakes_per_s=(hs["resumed"] + hs["full"]) / a.duration)
                keep(out, rows, row, argv, text)
    finally:
        stop(nginx, serve, tmp=d)
    summary = []
    print("\n| case | tool | req/s (median) | client CPU µs/req | server CPU | handshakes/s (nginx's count; ringblast's against serve) | resumed share | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for case, tool in dict.fromkeys((c, t) for c, t, _, _ in cases):
        rs = [r for r in rows if r["case"] == case and r["tool"] == tool]
        med = lambda k: statistics.median(r.get(k, 0) or 0 for r in rs)
        hs = med("handshakes_per_s")
        resumed = sum(r.get("server_resumed", r.get("own_resumed", 0)) for r in rs)
        total = resumed + sum(r.get("server_full", r.get("own_full", 0)) for r in rs)
        s = {"case": case, "tool": tool, "rps": med("rps"), "cpu_us_per_req": med("cpu_us_per_req"),
             "server_cpu": med("server_cpu"), "handshakes_per_s": hs,
             "resumed_share": resumed / total if total else None, "errors": med("errors")}
        summary.append(s)
        share = f"{100 * s['resumed_share']:.1f}%" if total else "–"
        print(f"| {case} | {tool} | {s['rps']:,.0f} | {s['cpu_us_per_req']:.2f} | {100 * s['server_cpu']:.0f}% | "
              f"{hs:,.0f} | {share} | {s['errors']:,.0f} |" if total else
              f"| {case} | {tool} | {s['rps']:,.0f} | {s['cpu_us_per_req']:.2f} | {100 * s['server_cpu']:.0f}% | – | – | {s['errors']:,.0f} |")
    (out / "summary.json").write_text(json.dumps({"runs": rows, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
