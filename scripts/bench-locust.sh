#!/usr/bin/env bash
# Locust vs ringblast on the Locust report's four scenarios (same mock, same CPU), plus the highest
# rate each reaches on one core. Installs Locust into .bench-venv/ when missing.
# Results: results/<date>-<host>-locust/. The burst at full size: scripts/run-burst.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure-locust.sh
cargo build --release --locked -q
out="results/$(date +%Y-%m-%d)-$(hostname -s)-locust"
mkdir -p "$out"
.bench-venv/bin/locust --version > "$out/locust-version.txt"
python3 scripts/bench_locust.py --out "$out" --locust "$PWD/.bench-venv/bin/locust" "$@" | tee "$out/console.txt"
echo "wrote $out"
