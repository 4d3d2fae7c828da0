#!/usr/bin/env bash
# Templated scenarios (UUID and captured token; values of varying width) vs the static request:
# CPU per request and requests/s, side by side. Results: results/<date>-<host>-templates/.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q
out="results/$(date +%Y-%m-%d)-$(hostname -s)-templates"
mkdir -p "$out"
python3 scripts/bench_templates.py --out "$out" "$@" | tee "$out/console.txt"
echo "wrote $out"
