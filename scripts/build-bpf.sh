#!/usr/bin/env bash
# Rebuilds the committed BPF object from bpf/kstats.bpf.c and records the hashes that
# tests/kstats.rs checks. Needs clang (any version with BPF CO-RE, Debian 12's 14 is used) and
# libbpf's headers: apt-get install clang llvm libbpf-dev.
set -euo pipefail
cd "$(dirname "$0")/../bpf"
clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I. -c kstats.bpf.c -o kstats.bpf.o.tmp
# DWARF carries build paths; BTF and its line info (.BTF, .BTF.ext) stay for CO-RE and the verifier.
llvm-strip -g kstats.bpf.o.tmp
mv kstats.bpf.o.tmp kstats.bpf.o
{
  echo "# sha256 of the BPF source and of the object built from it (scripts/build-bpf.sh)"
  echo "clang $(clang --version | head -1 | sed 's/.*version \([0-9.]*\).*/\1/')"
  sha256sum kstats.bpf.c kstats.h kstats.bpf.o
} > kstats.bpf.sha256
echo "built bpf/kstats.bpf.o ($(stat -c %s kstats.bpf.o) bytes)"
