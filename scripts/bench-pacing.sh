#!/usr/bin/env bash
# Open-loop pacing precision, measured at the target with kernel receive timestamps:
# ringblast -R vs wrk2 -R (when a wrk2 binary is given with WRK2=/path or found as `wrk2`).
# Results go to results/<date>-<host>-pacing/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q
out="results/$(date +%Y-%m-%d)-$(hostname -s)-pacing"
python3 scripts/bench_pacing.py --out "$out" ${WRK2:+--wrk2 "$WRK2"} "$@" | tee "$out.console.txt"
mv "$out.console.txt" "$out/console.txt"
echo "wrote $out"
