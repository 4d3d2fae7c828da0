#!/usr/bin/env bash
# Runs the Locust report's burst scenario at full size (1000 users at 100/s, 4 min peak) against the
# built-in mock on this machine, and keeps the report: results/<date>-<host>-burst/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q
out="results/$(date +%Y-%m-%d)-$(hostname -s)-burst"
mkdir -p "$out"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
./target/release/ringblast serve --routes examples/locust-report/routes.toml --listen "127.0.0.1:$port" \
  > "$out/mock.txt" 2>&1 &
mock=$!
sleep 0.5
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -v)   # Debian package `time`, for CPU and memory figures
set +e
"${timer[@]}" ./target/release/ringblast run --scenario examples/locust-report/burst.toml \
  --host "http://127.0.0.1:$port" -q --json "$out/report.json" "$@" > "$out/report.txt" 2> "$out/time.txt"
code=$?
set -e
kill -INT "$mock"; wait "$mock" || true
echo "exit code $code (0: every assertion held; 3: one failed)" | tee "$out/exit.txt"
cat "$out/report.txt"
