#!/usr/bin/env bash
# ringblast vs wrk against Debian's nginx (keepalive_requests 1000) at p1 and p16; with and without
# re-sending. Results go to results/<date>-<host>-nginx/. Usage: scripts/bench-nginx.sh [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in nginx wrk; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench-nginx needs $tool: apt-get install $tool" >&2
    exit 1
  fi
done
cargo build --release --locked -q
out="results/$(date +%Y-%m-%d)-$(hostname -s)-nginx"
mkdir -p "$out"
python3 scripts/bench_nginx.py --out "$out" "$@" | tee "$out/console.txt"
echo "wrote $out"
