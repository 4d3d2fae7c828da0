#!/usr/bin/env bash
# Peak RSS of a 1-minute vs a 10-minute run with --csv --csv-full-history --hlog and 10 endpoints.
# Results go to results/<date>-<host>-memory/. Usage: scripts/bench-memory.sh [--long 600]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q
out="results/$(date +%Y-%m-%d)-$(hostname -s)-memory"
mkdir -p "$out"
python3 scripts/bench_memory.py --out "$out" "$@" | tee "$out/console.txt"
echo "wrote $out"
