#!/usr/bin/env bash
# Users with a 1 s think time (1,000 and 10,000): ringblast's CPU cost vs Locust's, same target,
# same machine. Installs Locust into .bench-venv/ when missing. Results: results/<date>-<host>-users/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-locust.sh
cargo build --release --locked -q
out="results/$(date +%Y-%m-%d)-$(hostname -s)-users"
mkdir -p "$out"
.bench-venv/bin/locust --version > "$out/locust-version.txt"
python3 scripts/bench_users.py --out "$out" --locust "$PWD/.bench-venv/bin/locust" "$@" | tee "$out/console.txt"
echo "wrote $out"
