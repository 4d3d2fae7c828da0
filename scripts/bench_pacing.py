#!/usr/bin/env python3
"""How evenly does an open-loop generator pace its requests? Measured at the target, not by the tool.

A one-connection HTTP server on loopback takes the kernel's receive timestamp (SO_TIMESTAMPNS) of
every request and answers at once. Each generator then runs at a fixed rate over one connection,
pinned to the other CPU. From the arrival times we compute the inter-arrival jitter (|interval -
1/rate|) and the drift from the ideal grid, over the steady middle of the run. Only loopback.
"""
import argparse, json, os, shutil, socket, statistics, struct, subprocess, threading, time
from pathlib import Path

from benchlib import ROOT, BIN
SO_TIMESTAMPNS = 35  # Linux; SCM_TIMESTAMPNS has the same value
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def serve(listener, arrivals, stop):
    os.sched_setaffinity(0, {0})  # this thread only: the target on CPU 0
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        conn.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=handle, args=(conn, arrivals, stop), daemon=True).start()


def handle(conn, arrivals, stop):
    os.sched_setaffinity(0, {0})
    buf = b""
    conn.settimeout(0.5)
    while not stop.is_set():
        try:
            data, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(16))
        except socket.timeout:
            continue
        except OSError:
            return
        if not data:
            return
        stamp = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", payload[:16])
                stamp = sec * 1_000_000_000 + nsec
        buf += data
        while b"\r\n\r\n" in buf:
            _, buf = buf.split(b"\r\n\r\n", 1)
            if stamp is not None:
                arrivals.append(stamp)
            conn.sendall(RESPONSE)


def analyse(arrivals, rate, skip_s, duration):
    period = 1e9 / rate
    t0 = arrivals[0]
    steady = [a for a in arrivals if t0 + skip_s * 1e9 <= a <= t0 + (duration - 1) * 1e9]
    intervals = [(b - a) for a, b in zip(steady, steady[1:])]
    jitter = sorted(abs(i - period) / 1000 for i in intervals)
    base = steady[0]
    drift = sorted(abs((a - base) - k * period) / 1000 for k, a in enumerate(steady))
    q = lambda xs, p: xs[min(len(xs) - 1, int(p * len(xs)))]
    achieved = (len(steady) - 1) / ((steady[-1] - steady[0]) / 1e9)
    return {
        "requests": len(arrivals), "steady_requests": len(steady), "achieved_rps": round(achieved, 1),
        "jitter_us": {"p50": round(q(jitter, .5), 1), "p90": round(q(jitter, .9), 1), "p99": round(q(jitter, .99), 1), "max": round(jitter[-1], 1)},
        "grid_drift_us": {"p50": round(q(drift, .5), 1), "p99": round(q(drift, .99), 1), "max": round(drift[-1], 1)},
        "interval_us_mean": round(statistics.mean(intervals) / 1000, 1),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=12)
    ap.add_argument("--rates", default="1000,4000")
    ap.add_argument("--wrk2", default=shutil.which("wrk2") or "", help="path to a wrk2 binary, if any")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for rate in [int(r) for r in args.rates.split(",")]:
        tools = [("ringblast", lambda url: [str(BIN), "run", url, "-R", str(rate), "-c", "1", "--cpus", "1", "-d", f"{args.duration}s", "-q"])]
        if args.wrk2:
            tools.append(("wrk2", lambda url: ["taskset", "-c", "1", args.wrk2, "-t1", "-c1", f"-d{args.duration}s", f"-R{rate}", url]))
        for name, argv in tools:
            listener = socket.socket()
            # Set before accept: accepted sockets inherit it, so even the first request is stamped.
            listener.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            listener.bind(("127.0.0.1", 0))
            listener.listen(8)
            url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
            arrivals, stop = [], threading.Event()
            server = threading.Thread(target=serve, args=(listener, arrivals, stop), daemon=True)
            server.start()
            p = subprocess.run(argv(url), capture_output=True, text=True, timeout=args.duration + 60)
            stop.set()
            server.join(timeout=2)
            listener.close()
            (out / f"{name}-{rate}.txt").write_text(" ".join(argv(url)) + "\n\n" + p.stdout + p.stderr)
            row = {"tool": name, "rate": rate, **analyse(arrivals, rate, 3, args.duration)}
            results.append(row)
            print(json.dumps(row), flush=True)
    (out / "pacing.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
