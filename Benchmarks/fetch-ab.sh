#!/usr/bin/env bash
# Compares agent binaries on issue 3's small-paths measure, in alternating fetches (one binary
# measures differently from one stretch of this VM to the next: only pairs compare). One seed
# (this tree's release `rookery`, or $SEED), 1000 × 64 KiB paths and one path of the same size,
# each in a manifest of its own, every root fresh on a RAM-backed journaled ext4, the root of the
# fetch before last deleted and `sync` before each (see fetch-bench.sh). Prints each agent's medians.
# Usage: Benchmarks/fetch-ab.sh ROUNDS AGENT [AGENT...]   (an AGENT may be a wrapper script)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=$1
shift
[ "$(id -u)" = 0 ] || { echo "fetch-ab: needs root (mounts a loop device)" >&2; exit 2; }
swift build -c release --product rookery >/dev/null
seed_binary=${SEED:-$PWD/.build/release/rookery}
. Benchmarks/fetch-fixture.sh
fetch_fixture rookery-fetch-ab
write_closures_nix "$work/closures.nix" 1000 64
same=$(nix-build --store "$store" "$work/closures.nix" -A sameSize --no-out-link 2>/dev/null)
many=$(nix-build --store "$store" "$work/closures.nix" -A many --no-out-link 2>/dev/null)
"$seed_binary" keygen ab-1 --secret "$work/sk" --public "$work/pk" >/dev/null
for top in "$same" "$many"; do # a manifest each, as in fetch-bench.sh
  "$seed_binary" publish --state "$work/state" --store "$store" --key "$work/sk" "$top" >/dev/null
done
fetch_ext4
"$seed_binary" seed --state "$work/state" --store "$store" --listen 127.0.0.1:0 --http off > "$work/seed.log" 2>&1 &
for _ in $(seq 100); do grep -q 'listening on' "$work/seed.log" && break; sleep 0.1; done
seed=$(grep -o 'listening on .*' "$work/seed.log" | awk '{print $3}')
key=$(cat "$work/pk")

n=0
previous=()
elapsed=""
fetch() { # agent toplevel: sets $elapsed (not run in a subshell: it keeps count of the roots)
  n=$((n + 1))
  if [ "${#previous[@]}" -ge 2 ]; then
    chmod -R u+w "${previous[0]}" && rm -rf "${previous[0]}"
    previous=("${previous[@]:1}")
  fi
  local root=$work/ext4/root-$n t0 t1
  previous+=("$root")
  sync
  t0=$(date +%s.%N)
  "$1" --seed "$seed" --trusted-key "$key" --root "$root" "$2" >/dev/null 2>"$work/agent.err" || {
    echo "fetch-ab: $1 failed: $(tail -1 "$work/agent.err")" >&2
    exit 1
  }
  t1=$(date +%s.%N)
  elapsed=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
}
fetch "$1" "$same" # the seed indexes the paths as they are first asked for
fetch "$1" "$many"
declare -A times
for _ in $(seq "$rounds"); do
  for agent in "$@"; do
    fetch "$agent" "$same"
    times[$agent same]+="$elapsed "
    fetch "$agent" "$many"
    times[$agent many]+="$elapsed "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
for agent in "$@"; do
  s=$(median <<< "${times[$agent same]}")
  m=$(median <<< "${times[$agent many]}")
  echo "$agent: one 62 MiB path $s s, 1000 × 64 KiB paths $m s, ratio $(python3 -c "print(f'{$m / $s:.2f}')") (same: ${times[$agent same]}| many: ${times[$agent many]})"
done
