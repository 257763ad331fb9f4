#!/usr/bin/env bash
# The most disk a fetching client takes: runs `rookery demo` (a seed and N clients on loopback,
# chunks from peers in any order) and samples every client root's allocated bytes (store, chunk
# cache, staging trees) every 20 ms; prints the peak per client and over all clients, against the
# closure's NAR bytes (the demo's summary) and what a finished client's root takes on this disk.
# Usage: Benchmarks/disk-peak.sh [ROOKERY (this tree's release build)] [CLIENTS (8)]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${1:-}" ]; then swift build -c release --product rookery >/dev/null; fi
bin=${1:-$PWD/.build/release/rookery}
clients=${2:-8}
out=$(mktemp /tmp/disk-peak-XXXXXX)
before=$(ls -d /tmp/rookery-demo-* 2>/dev/null | sort || true)
"$bin" demo --clients "$clients" --keep > "$out" 2>&1 &
demo=$!
dir=""
trap 'kill $demo 2>/dev/null || true; rm -f "$out"; [ -z "$dir" ] || rm -rf "$dir"' EXIT
for _ in $(seq 400); do # the demo's folder, once it is made
  dir=$(comm -13 <(echo "$before") <(ls -d /tmp/rookery-demo-* 2>/dev/null | sort) | head -1)
  [ -n "$dir" ] && break
  sleep 0.05
done
[ -n "$dir" ] || { echo "disk-peak: the demo made no folder" >&2; exit 1; }
peak_one=0
peak_all=0
for _ in $(seq 30000); do # 10 min at most
  kill -0 $demo 2>/dev/null || break
  all=0
  for c in "$dir"/client*; do
    [ -d "$c" ] || continue
    b=$(du -s --block-size=1 "$c" 2>/dev/null | cut -f1 || true)
    b=${b:-0}
    all=$((all + b))
    [ "$b" -gt "$peak_one" ] && peak_one=$b
  done
  [ "$all" -gt "$peak_all" ] && peak_all=$all
  sleep 0.02
done
wait $demo
grep -E 'fetched the closure|seed sent' "$out"
closure=$(grep -o 'closure ([0-9.]* MiB)' "$out" | grep -o '[0-9.]*' | head -1)
final=$(du -s --block-size=1 "$dir/client0" | cut -f1)
python3 -c "
one, all_, c, n, f = $peak_one / 2**20, $peak_all / 2**20, $closure, $clients, $final / 2**20
print(f'peak disk per client {one:.1f} MiB = {one / c:.2f} x the closure\'s NAR bytes ({c} MiB)'
      f' = {one / f:.2f} x a finished root ({f:.1f} MiB); all {n} clients {all_:.0f} MiB')"
