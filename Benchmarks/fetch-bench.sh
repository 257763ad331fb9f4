#!/usr/bin/env bash
# Issue 3's benchmark, release builds, all ratios from one run on this machine:
#   - fetch+verify+restore of a >= 512 MiB closure over loopback, MiB/s ÷ BLAKE2b MiB/s
#   - the agent's peak RSS, the stripped static agent's size
#   - 1000 small paths ÷ one large path of the same total size (wall time)
#   - publish time ÷ one `nix-store --dump` of every path, and the SHA-256 floor under it; the
#     small paths' publish ÷ one `nix-store --export` of them all; the publish of the large
#     closure's next generation (one new path) ÷ its first
# Usage: Benchmarks/fetch-bench.sh [LARGE_MIB (512)] [SMALL_PATHS (1000)] [SMALL_KIB (64)]
set -euo pipefail
cd "$(dirname "$0")/.."
large_mib=${1:-512}
small_paths=${2:-1000}
small_kib=${3:-64}
command -v /usr/bin/time >/dev/null || { echo "fetch bench: needs /usr/bin/time (apt-get install -y time)" >&2; exit 2; }

swift build -c release --product rookery >/dev/null
swift build -c release --product rookery-bench >/dev/null
scripts/build-static-agent.sh >/dev/null
rookery=$PWD/.build/release/rookery
agent=$PWD/.build-static/release/rookery-agent

. Benchmarks/fetch-fixture.sh
fetch_fixture rookery-fetch-bench

# Closures: one large path (+ busybox), and many small paths under one toplevel.
# `next`: the large closure's generation N+1, one new path over the large one.
write_closures_nix "$work/closures.nix" "$small_paths" "$small_kib" \
  "  large = mk \"large\" \"mkdir -p \$out; head -c $((large_mib * 1024 * 1024)) /dev/urandom > \$out/blob\";
  next = mk \"next\" \"mkdir -p \$out; echo \${large} > \$out/refs\";"
large=$(nix-build --store "$store" "$work/closures.nix" -A large --no-out-link 2>/dev/null)
next=$(nix-build --store "$store" "$work/closures.nix" -A next --no-out-link 2>/dev/null)
same=$(nix-build --store "$store" "$work/closures.nix" -A sameSize --no-out-link 2>/dev/null)
many=$(nix-build --store "$store" "$work/closures.nix" -A many --no-out-link 2>/dev/null)
"$rookery" keygen bench-1 --secret "$work/sk" --public "$work/pk"

now() { date +%s.%N; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

# Publish vs one nix-store --dump of every path of the large closure. The publishes timed against
# Nix read every path (`--rehash`: no path is taken from an earlier publish's manifest).
t0=$(now); "$rookery" publish --state "$work/state" --store "$store" --key "$work/sk" --rehash "$large" >/dev/null; t1=$(now)
publish=$(python3 -c "print($t1 - $t0)")
# Generation N+1: only its new path is read.
t0=$(now); "$rookery" publish --state "$work/state" --store "$store" --key "$work/sk" "$next" >/dev/null; t1=$(now)
publish_next=$(python3 -c "print($t1 - $t0)")
t0=$(now)
for p in $(nix-store --store "$store" -qR "$large"); do nix-store --store "$store" --dump "$store$p" > /dev/null; done
t1=$(now); dump=$(python3 -c "print($t1 - $t0)")
# Each small-paths closure gets a manifest of its own, as each system does (one manifest of both
# made the one-path fetch decode the 1001 paths' manifest too, ~10 ms of its 90).
"$rookery" publish --state "$work/state" --store "$store" --key "$work/sk" "$same" >/dev/null
# A closure of many paths, whose NARs one `nix-store --export` writes in one process (a --dump
# of each path starts a process per path: 17 s for these 1001 paths, a measure of nix's start).
t0=$(now); "$rookery" publish --state "$work/state" --store "$store" --key "$work/sk" --rehash "$many" >/dev/null; t1=$(now)
publish_many=$(python3 -c "print($t1 - $t0)")
t0=$(now); nix-store --store "$store" --export $(nix-store --store "$store" -qR "$many") > /dev/null; t1=$(now)
export_many=$(python3 -c "print($t1 - $t0)")

"$rookery" seed --state "$work/state" --store "$store" --listen 127.0.0.1:0 --http off > "$work/seed.log" 2>&1 &
seed_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/seed.log" && break; sleep 0.1; done
seed=$(grep -o 'listening on .*' "$work/seed.log" | awk '{print $3}')

seed_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$seed_pid/stat"; }
fetch() { # toplevel root -> prints "seconds maxrss_kib agent_cpu_ms seed_cpu_ms"
  # Dirty pages of what was built, published or fetched before are written back first, so the
  # disk's writeback does not land inside the timed fetch (it made runs vary by 2x).
  sync
  local key t0 t1 c0 c1 rss user system
  key=$(cat "$work/pk")
  # Wall time to the millisecond (time's %e has 10 ms steps, a tenth of a small fetch).
  c0=$(seed_cpu_ms)
  t0=$(now)
  /usr/bin/env time -f "%M %U %S" -o "$work/time" "$agent" --seed "$seed" --trusted-key "$key" --root "$2" "$1" >/dev/null
  t1=$(now)
  c1=$(seed_cpu_ms)
  read -r rss user system < "$work/time"
  echo "$(python3 -c "print(f'{$t1 - $t0:.3f} $rss {($user + $system) * 1000:.0f} {$c1 - $c0:.0f}')")"
}
# Every timed root is on an ext4 with a journal, as `rookery-agent layout` makes a client's root
# (mke2fs defaults), on a loop device backed by RAM (when root; else beside the rest): a client's
# own disk, not this VM's, is what the agent writes to. This VM's disk made the same fetch vary
# 2x: a 512 MiB file written onto blocks never written before (the first fetch, right after
# nix-build's 574 MiB) took 1.3-1.8 s, onto freed ones 0.15 s (bare dd, docs/benchmarks.md); one
# fetch into this disk is still printed, for reference. And this machine's ext4 has no journal,
# and then its inode allocator skips every inode freed in the last 30 s by reading its inode
# table block: after nix-build's 1000 temporary directories or a deleted root, 43 % of a
# 1000-path fetch under perf went to __ext4_new_inode → recently_deleted, and small ÷ large
# ranged 1.25–2.17 over runs.
fs="$work"
if [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null && [ -d /dev/shm ]; then
  # Allocated up front, as a disk's blocks are (sparse, the first fetch paid for tmpfs pages).
  fetch_ext4 && fs="$work/ext4"
fi
where=$([ "$fs" = "$work/ext4" ] && echo "journaled ext4 in RAM" || echo "this disk")
# This VM's hypervisor backs guest RAM only when the guest first touches it: writing into pages
# this machine never used runs at a third of the speed of reused ones (dd of 2 GiB into
# /dev/shm: 5.5 s, then 1.3 and 0.8 s). 61 % of a first fetch under perf was the kernel copying
# into fresh page-cache pages, and it took 1.6-1.8 s against 0.6 s into pages used before. A lab
# client's RAM is its own, so the fetches below write into pages touched once first, right
# before the first fetch: this VM also hands freed pages back to its host within seconds (free
# page reporting; DAMON pages out cold page cache), after which they are slow again. The line
# "memory" shows the effect, measured here.
touch_mib=4096
touched=""
avail_mib=$(awk '$1 == "MemAvailable:" {print int($2 / 1024)}' /proc/meminfo)
if [ -d /dev/shm ] && [ "$avail_mib" -gt $((touch_mib + 4096)) ]; then
  for pass in first again; do
    t0=$(now); dd if=/dev/zero of="$image.touch" bs=1M count=$touch_mib status=none; t1=$(now)
    rm -f "$image.touch"
    touched="$touched $pass $(python3 -c "print(f'{$t1 - $t0:.2f}')") s"
  done
fi
# The first fetch: the seed indexes the path as it is first asked for.
read -r large_s large_rss _ < <(fetch "$large" "$fs/root-large")
# Small ÷ large: fifteen alternating fetches each into a fresh root, medians (seven printed
# 1.40–1.78 over five runs where 30 rounds by hand gave 1.54). The root of the fetch before last
# goes first (after a sync), so each fetch writes into page-cache pages freed a moment before, as
# a client's RAM is reused, rather than pages this VM's host took back (see "memory" below).
# Three fetches each with every root kept left the medians to this VM's noise.
same_all=()
many_all=()
declare -A cpu=([same_agent]=0 [same_seed]=0 [many_agent]=0 [many_seed]=0)
previous=()
rounds=15
for i in $(seq $rounds); do
  for kind in same many; do
    if [ "${#previous[@]}" -ge 2 ]; then
      chmod -R u+w "${previous[0]}" && rm -rf "${previous[0]}"
      previous=("${previous[@]:1}")
    fi
    root="$fs/root-$kind-$i"
    previous+=("$root")
    top=$same
    [ "$kind" = many ] && top=$many
    read -r s _ agent_ms seed_ms < <(fetch "$top" "$root")
    if [ "$kind" = same ]; then same_all+=("$s"); else many_all+=("$s"); fi
    cpu[${kind}_agent]=$((cpu[${kind}_agent] + agent_ms))
    cpu[${kind}_seed]=$((cpu[${kind}_seed] + seed_ms))
  done
done
same_s=$(printf '%s\n' "${same_all[@]}" | sort -n | sed -n "$(((rounds + 1) / 2))p")
many_s=$(printf '%s\n' "${many_all[@]}" | sort -n | sed -n "$(((rounds + 1) / 2))p")
# What writing the same trees costs without rookery: `cp -a` of the store paths (page cache warm)
# into the same file system, three alternating times, medians.
many_paths=$(nix-store --store "$store" -qR "$many" | sed "s|^|$store|")
cp_many=()
cp_same=()
for i in 1 2 3; do
  mkdir -p "$fs/cp-many-$i" "$fs/cp-same-$i"
  sync
  t0=$(now); cp -a $many_paths "$fs/cp-many-$i/"; t1=$(now)
  cp_many+=("$(python3 -c "print(f'{$t1 - $t0:.3f}')")")
  sync
  t0=$(now); cp -a "$store$same" "$fs/cp-same-$i/"; t1=$(now)
  cp_same+=("$(python3 -c "print(f'{$t1 - $t0:.3f}')")")
done
cp_many_s=$(printf '%s\n' "${cp_many[@]}" | sort -n | sed -n 2p)
cp_same_s=$(printf '%s\n' "${cp_same[@]}" | sort -n | sed -n 2p)
# Three more fetches of the large closure into fresh roots (the seed's index and page cache
# warm), each after the roots before it were deleted (the 2 GiB file system holds one large root
# beside the small ones).
for root in "$fs/root-large" "$fs"/root-same-* "$fs"/root-many-* "$fs"/cp-*; do chmod -R u+w "$root" && rm -rf "$root"; done
warm=()
for i in 1 2 3; do
  read -r s _ < <(fetch "$large" "$fs/root-large-$i")
  warm+=("$s")
  chmod -R u+w "$fs/root-large-$i" && rm -rf "$fs/root-large-$i"
done
# For reference: one more into a root on this VM's disk (nothing of it written before).
sync
read -r disk_s _ < <(fetch "$large" "$work/root-disk")
warm_median=$(printf '%s\n' "${warm[@]}" | sort -n | sed -n 2p)
large_bytes=$(nix-store --store "$store" -qR "$large" | xargs nix-store --store "$store" -q --size | paste -sd+ | bc)
.build/release/rookery-bench --hash-only > "$work/hash"
blake=$(awk '$1 == "hash" {print $3}' "$work/hash")
lanes=$(awk '$1 == "lanes" {print $(NF - 1)}' "$work/hash")
sha=$(awk '$1 == "sha" {print $3}' "$work/hash")
fetch_mibs=$(python3 -c "print(round($large_bytes / 1048576 / $large_s))")
warm_mibs=$(python3 -c "print(round($large_bytes / 1048576 / $warm_median))")

echo "fetch   ${large_mib} MiB closure over loopback into a root on ${where}: ${large_s} s = ${fetch_mibs} MiB/s; BLAKE2b ${blake} MiB/s; fetch ÷ BLAKE2b = $(ratio "$fetch_mibs" "$blake") (target ≥ 0.8)"
echo "fetch   again into fresh roots (median of 3: ${warm[*]} s): ${warm_mibs} MiB/s; ÷ BLAKE2b = $(ratio "$warm_mibs" "$blake")"
echo "fetch   into a root on this VM's disk instead (for reference): ${disk_s} s = $(python3 -c "print(round($large_bytes / 1048576 / $disk_s))") MiB/s"
echo "fetch   (the agent hashes chunks in vector lanes: ${lanes} MiB/s; the again-fetch ÷ that = $(ratio "$warm_mibs" "$lanes"))"
[ -n "$touched" ] && echo "memory  ${touch_mib} MiB written into /dev/shm before the fetches:${touched} (first touch of this VM's RAM)"
echo "rss     agent peak RSS $((large_rss / 1024)) MiB (target ≤ 48)"
echo "size    static stripped agent $(stat -c %s "$agent") bytes = $(python3 -c "print(round($(stat -c %s "$agent") / 1048576, 2))") MiB (target ≤ 8)"
echo "small   ${small_paths} × ${small_kib} KiB paths ${many_s} s vs one $((small_paths * small_kib / 1024)) MiB path ${same_s} s (medians of ${many_all[*]} / ${same_all[*]}, roots on ${where}): $(ratio "$many_s" "$same_s") (target ≤ 1.5)"
# How far one run can tell: each round's two fetches ran back to back, so their ratio is a
# paired measure; its quartiles over the rounds show the spread that a single ratio hides.
echo "small   (each round's 1000 paths ÷ its one path: $(python3 -c "
import statistics
r = sorted(m / s for m, s in zip([${many_all[*]/%/,}], [${same_all[*]/%/,}]))
q = statistics.quantiles(r, n=4)
print(f'median {statistics.median(r):.2f}, quartiles {q[0]:.2f}–{q[2]:.2f}, {sum(x <= 1.5 for x in r)} of {len(r)} rounds ≤ 1.5')
"))"
# The CPU both processes spend (means of the rounds; `time`'s user + system, the seed's /proc
# stat): on this machine's cores, the 1000 paths cannot take less than their sum ÷ the cores.
cores=$(nproc)
mean_cpu() { echo $((cpu[$1] / rounds)); }
many_cpu=$(($(mean_cpu many_agent) + $(mean_cpu many_seed)))
echo "small   CPU per fetch (means of $rounds): 1000 paths agent $(mean_cpu many_agent) + seed $(mean_cpu many_seed) ms, one path agent $(mean_cpu same_agent) + seed $(mean_cpu same_seed) ms; on $cores cores the 1000 paths need ≥ $((many_cpu / cores)) ms = $(ratio "$many_cpu / $cores / 1000" "$same_s") × the one path"
echo "small   (cp -a of the same trees into the same file system: ${cp_many_s} s vs ${cp_same_s} s, medians of ${cp_many[*]} / ${cp_same[*]}; the 1000 paths' fetch ÷ their cp -a = $(ratio "$many_s" "$cp_many_s"))"
echo "publish ${publish} s vs nix-store --dump of every path ${dump} s: $(ratio "$publish" "$dump") (target ≤ 1.2)"
# What no publish can go below: Nix's NAR hash must be checked, and SHA-256 of one NAR is one
# sequential stream (this machine's fastest, the SHA extensions, measured above).
sha_floor=$(python3 -c "print(round($large_bytes / 1048576 / $sha, 3))")
echo "publish floor: SHA-256 of every NAR alone at ${sha} MiB/s = ${sha_floor} s = $(ratio "$sha_floor" "$dump") × the dump"
echo "publish generation N+1 of the large closure (one new path; the rest checked by the first publish): ${publish_next} s = $(ratio "$publish_next" "$publish") × the first publish, $(ratio "$publish_next" "$dump") × the dump"
echo "publish ${small_paths} small paths' closure: ${publish_many} s vs one nix-store --export of all its paths ${export_many} s: $(ratio "$publish_many" "$export_many")"
