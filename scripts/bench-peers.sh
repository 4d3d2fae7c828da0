#!/usr/bin/env bash
# Whole-process comparison of ringblast with wrk (and h2load/oha when present) on this machine.
# Target pinned to CPU 0, generators to CPU 1; results go to results/<date>-<host>-peers/.
# Usage: scripts/bench-peers.sh [--duration 10] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)" >&2
  apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
if [ "$(nproc)" -lt 2 ]; then
  echo "bench-peers needs 2 CPUs (target on one, generator on the other)" >&2
  exit 1
fi
cargo build --release --locked -q
out="results/$(date +%Y-%m-%d)-$(hostname -s)-peers"
mkdir -p "$out"
python3 scripts/bench_peers.py --out "$out" "$@" | tee "$out/console.txt"
echo "wrote $out"
