#!/usr/bin/env python3
"""The Locust report's burst scenario at full size (1000 users at 100/s, 4 min at peak) against the
built-in mock on this machine, keeping the report, the mock's output and the process's CPU and
memory (/usr/bin/time -v when present). Only loopback; bounded by the scenario's own duration.
"""
import argparse, shutil, subprocess, sys, time
from pathlib import Path

from benchlib import free_port

from benchlib import ROOT, BIN


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    a, extra = ap.parse_known_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with open(out / "mock.txt", "w") as mock_log:
        mock = subprocess.Popen([str(BIN), "serve", "--routes", str(ROOT / "examples/locust-report/routes.toml"),
                                 "--listen", f"127.0.0.1:{port}"], stdout=mock_log, stderr=subprocess.STDOUT)
        time.sleep(0.5)
        timer = ["/usr/bin/time", "-v"] if shutil.which("/usr/bin/time") else []
        argv = timer + [str(BIN), "run", "--scenario", str(ROOT / "examples/locust-report/burst.toml"),
                        "--host", f"http://127.0.0.1:{port}", "-q", "--json", str(out / "report.json")] + extra
        with open(out / "report.txt", "w") as report, open(out / "time.txt", "w") as timing:
            code = subprocess.run(argv, stdout=report, stderr=timing, timeout=900).returncode
        mock.send_signal(2)
        mock.wait(timeout=10)
    (out / "exit.txt").write_text(f"exit code {code} (0: every assertion held; 3: one failed)\n")
    print((out / "exit.txt").read_text() + (out / "report.txt").read_text())


if __name__ == "__main__":
    sys.exit(main())
