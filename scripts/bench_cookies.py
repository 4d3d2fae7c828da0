#!/usr/bin/env python3
"""Cost of cookies: requests that carry a session cookie from each user's jar, vs the same static
request with the Cookie header given on the command line, same target, same machine.

The built-in target serves bench/cookie-routes.toml on CPU 0 (a login that sets a session cookie;
/items without Set-Cookie; /refresh that sends the same Set-Cookie on every response); ringblast
runs on CPU 1. Variants, alternating over several rounds at -p 1 and -p 16:
- static: `run URL/items -H "Cookie: sessionid=…"` (the request the jar produces, byte for byte);
- cookies: bench/cookies.toml, the jar's Cookie header, cookies unchanged after the login;
- refreshed: the same against /refresh, where every response's head goes to the jar, unchanged.
CPU is the process's rusage divided by the responses the report counted. Only loopback.
"""
import argparse, json, statistics, subprocess, tempfile, time
from pathlib import Path

from benchlib import BIN, ROOT, free_port, run_measured

COOKIE = "sessionid=0123456789abcdef"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    out = Path(a.out)
    (out / "raw").mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="rb-cookies-"))
    scenario = (ROOT / "bench" / "cookies.toml").read_text()
    for name, path in (("items", "/items"), ("refresh", "/refresh")):
        (tmp / f"{name}.toml").write_text(scenario.replace('"PATH"', f'"{path}"'))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    target = subprocess.Popen([str(BIN), "serve", "--cpus", "0", "--listen", f"127.0.0.1:{port}",
                               "--routes", str(ROOT / "bench" / "cookie-routes.toml")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    rows = []
    try:
        for depth in (1, 16):
            for rnd in range(a.rounds):
                for variant in ("static", "cookies", "refreshed"):
                    report = tmp / "r.json"
                    common = ["--cpus", "1", "-p", str(depth), "-d", f"{a.duration}s", "-q", "--json", str(report)]
                    argv = {
                        "static": [str(BIN), "run", f"{base}/items", "-c", "64", "-H", f"Cookie: {COOKIE}"],
                        "cookies": [str(BIN), "run", "--scenario", str(tmp / "items.toml"), "--host", base],
                        "refreshed": [str(BIN), "run", "--scenario", str(tmp / "refresh.toml"), "--host", base],
                    }[variant] + common
                    text, user, system = run_measured(argv, a.duration + 60)
                    (out / "raw" / f"p{depth}-{variant}-r{rnd}.txt").write_text(" ".join(argv) + "\n\n" + text)
                    r = json.loads(report.read_text())
                    n = r["requests"]["responses"]
                    row = {"depth": depth, "variant": variant, "round": rnd, "responses": n,
                           "rps": r["requests"]["responses"] / a.duration,
                           "cpu_ns_per_req": (user + system) * 1e9 / max(n, 1),
                           "user_ns_per_req": user * 1e9 / max(n, 1)}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    finally:
        target.terminate()
        target.wait(timeout=10)
    lines = ["| depth | variant | req/s | user ns/req | CPU ns/req | CPU ÷ static | user ÷ static |", "|---|---|---|---|---|---|---|"]
    for depth in (1, 16):
        med = {v: {k: statistics.median(r[k] for r in rows if r["depth"] == depth and r["variant"] == v)
                   for k in ("rps", "cpu_ns_per_req", "user_ns_per_req")} for v in ("static", "cookies", "refreshed")}
        for v, m in med.items():
            lines.append(f"| p{depth} | {v} | {m['rps']:,.0f} | {m['user_ns_per_req']:,.0f} | {m['cpu_ns_per_req']:,.0f} | "
                         f"{m['cpu_ns_per_req'] / med['static']['cpu_ns_per_req']:.3f} | "
                         f"{m['user_ns_per_req'] / med['static']['user_ns_per_req']:.3f} |")
    (out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
