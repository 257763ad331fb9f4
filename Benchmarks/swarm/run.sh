#!/usr/bin/env bash
# Issue 4's swarm benchmark on an emulated lab LAN (needs root: it makes network namespaces).
#
# One namespace per host (seed + clients) and one switch namespace with a bridge; each host sits
# on a veth pair shaped by tc HTB on both ends (upload on the host's eth0, download on its switch
# port), so every host has its own up and down rate. A real closure built by nix-bin (hundreds of
# paths, many small, a few large) is published; then, for each N, the seed and N static agents
# start at one moment and the script prints slowest completion ÷ T_min and seed bytes ÷ closure;
# in the same run, the baseline: the same N clients fetch the closure from a plain HTTP binary
# cache on the seed host (`nix copy --to file://…?compression=none`, busybox httpd,
# `nix-store --store ROOT -r`). Everything it makes (namespaces, veths, the safety route, the
# tmpfs files, processes) is removed on exit, also on failure. Last, a second generation that
# shares 90% of its paths with the first: one agent that holds generation 1 fetches it, and the
# script prints bytes fetched ÷ NAR bytes of the new paths; then that machine runs `rookery peer`
# and 4 new clients fetch generation 2 (seed bytes, bytes the peer served, its peak RSS).
#
# Usage: Benchmarks/swarm/run.sh [-n "4 8 16 24"] [-b "4 8 16 24"] [-r MBIT] [-s SEED_MBIT]
#                                [-m CLOSURE_MIB] [-p PATHS] [-c CHUNK_KIB] [-a ARGS] [-S ARGS] [-v] [-t CC]
#   -n  client counts for rookery          -b  client counts for the HTTP baseline ("" = none)
#   -r  client up = down rate (50)         -s  seed up/down rate (same as -r)
#   -m  closure size in MiB (128)          -p  store paths in the closure (300)
#   -c  chunk size in KiB (128)            -a  extra agent arguments
#   -S  extra seed arguments (e.g. "--in-flight-kib 1024")
#   -v  where the time goes: each second the seed's upload, the clients' downloads and how far
#       they are behind the seed; per client its finish, manifest and first-chunk times and
#       peer links; TCP retransmissions and shaping-queue drops of the run
#   -t  TCP congestion control in every host (bbr, this machine's default; one of
#       net.ipv4.tcp_allowed_congestion_control, the only ones a namespace may set)
# T_min = max(F/u_seed, F/d_min, N·F/(u_seed + Σu_i)) (Kumar & Ross 2006), from nominal rates.
set -euo pipefail
cd "$(dirname "$0")/../.."

counts="4 8 16 24"
baseline="4 8 16 24"
rate=50
seed_rate=""
closure_mib=128
paths=300
chunk_kib=128
agent_args=""
seed_args=""
cc=bbr
trace=""
while getopts "n:b:r:s:m:p:c:a:S:t:v" o; do
  case $o in
  n) counts=$OPTARG ;; b) baseline=$OPTARG ;; r) rate=$OPTARG ;; s) seed_rate=$OPTARG ;;
  m) closure_mib=$OPTARG ;; p) paths=$OPTARG ;; c) chunk_kib=$OPTARG ;; a) agent_args=$OPTARG ;; S) seed_args=$OPTARG ;; t) cc=$OPTARG ;; v) trace=1 ;;
  *) sed -n '2,29p' "$0" >&2; exit 2 ;;
  esac
done
seed_rate=${seed_rate:-$rate}
[ "$(id -u)" = 0 ] || { echo "swarm bench: needs root (network namespaces)" >&2; exit 2; }
for tool in ip tc nix-build busybox /usr/bin/time; do
  command -v "$tool" >/dev/null || {
    echo "swarm bench: needs $tool (scripts/bootstrap.sh; apt-get install -y iproute2 time)" >&2
    exit 2
  }
done
max_n=0
for n in $counts $baseline; do [ "$n" -gt "$max_n" ] && max_n=$n; done
[ "$max_n" -le 200 ] || { echo "swarm bench: at most 200 clients" >&2; exit 2; }

echo "building (release; static agent)…" >&2
swift build -c release --product rookery >/dev/null
scripts/build-static-agent.sh >/dev/null
rookery=$PWD/.build/release/rookery
agent=$PWD/.build-static/release/rookery-agent

# Names and addresses exist only in the namespaces made here; 10.231.0.0/16 is blackholed in the
# root namespace while the bench runs, so nothing started outside them by mistake leaves the host.
pfx=rkb
net=10.231
work=$(mktemp -d /dev/shm/rookery-swarm-XXXXXX)
hostns() { echo "${pfx}h$1"; } # host 0 is the seed
addr() { echo "$net.$(($1 / 250)).$(($1 % 250 + 1))"; }
cleanup() {
  set +e
  for pidfile in "$work"/pids/*; do [ -e "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; done
  for ns in $(ip netns list | awk '{print $1}' | grep "^${pfx}[hs]"); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns"
  done
  ip route del blackhole "$net.0.0/16" 2>/dev/null
  chmod -R u+w "$work" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Leftovers of an interrupted earlier run go first.
for ns in $(ip netns list | awk '{print $1}' | grep "^${pfx}[hs]" || true); do ip netns del "$ns"; done
ip route del blackhole "$net.0.0/16" 2>/dev/null || true
ip route add blackhole "$net.0.0/16"
mkdir -p "$work/pids"

# ---- the closure, built with real Nix in a chroot store --------------------------------------
. Benchmarks/nix-scratch.sh
nix_scratch "$work"
store=$work/store
# Sizes: PATHS-8 small paths log-uniform in 1 KiB…2 MiB, and 8 large ones sharing the rest.
awk -v n="$paths" -v total=$((closure_mib * 1048576)) 'BEGIN {
  srand(42); small = n - 8; sum = 0; printf "[ "
  for (i = 0; i < small; i++) { s = int(exp(log(1024) + rand() * (log(2097152) - log(1024)))); sum += s; printf "%d ", s }
  big = int((total - sum) / 8); if (big < 1048576) big = 1048576
  for (i = 0; i < 8; i++) printf "%d ", big
  print "]" }' >"$work/sizes.nix"
# Generation GEN renews the first tenth of the leaves (and so the toplevel).
cat >"$work/closure.nix" <<NIX
{ gen ? 1 }:
let $nix_builder
  renewed = i: if i < $paths / 10 then " # generation \${toString gen}" else "";
  leaf = i: size: mk "part-\${toString i}" "mkdir -p \$out; head -c \${toString size} /dev/urandom > \$out/data\${renewed i}";
  leaves = builtins.genList (i: leaf i (builtins.elemAt (import $work/sizes.nix) i)) $paths;
in mk "lab-system-\${toString gen}" "mkdir -p \$out; echo \${toString leaves} > \$out/refs"
NIX
echo "building a closure of $paths paths, $closure_mib MiB, with nix-build…" >&2
toplevel=$(nix-build --store "$store" "$work/closure.nix" --no-out-link --max-jobs 2 2>/dev/null)
closure_bytes=$(nix-store --store "$store" -qR "$toplevel" | xargs nix-store --store "$store" -q --size | awk '{ s += $1 } END { print s }')
closure_paths=$(nix-store --store "$store" -qR "$toplevel" | wc -l)
toplevel2=$(nix-build --store "$store" "$work/closure.nix" --arg gen 2 --no-out-link --max-jobs 2 2>/dev/null)
new_bytes=$(comm -13 <(nix-store --store "$store" -qR "$toplevel" | sort) <(nix-store --store "$store" -qR "$toplevel2" | sort) |
  xargs nix-store --store "$store" -q --size | awk '{ s += $1 } END { print s }')
"$rookery" keygen swarm-bench-1 --secret "$work/sk" --public "$work/pk" >/dev/null
"$rookery" publish --state "$work/state" --store "$store" --key "$work/sk" --chunk-size $((chunk_kib * 1024)) \
  "$toplevel" >/dev/null
"$rookery" publish --state "$work/state" --store "$store" --key "$work/sk" --chunk-size $((chunk_kib * 1024)) \
  "$toplevel2" >/dev/null
nix copy --store "$store" --to "file://$work/cache?compression=none" "$toplevel" 2>/dev/null

# ---- the LAN ---------------------------------------------------------------------------------
sw=${pfx}sw
ip netns add "$sw"
ip -n "$sw" link set lo up
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
# shape NS DEV MBIT: HTB rate = ceil, a byte-limited bfifo of about 50 ms (veth keeps GSO).
shape() {
  local limit=$(($3 * 125000 / 20))
  [ "$limit" -lt 262144 ] && limit=262144
  ip netns exec "$1" tc qdisc add dev "$2" root handle 1: htb default 10
  ip netns exec "$1" tc class add dev "$2" parent 1: classid 1:10 htb rate "${3}mbit" ceil "${3}mbit" quantum 60000
  ip netns exec "$1" tc qdisc add dev "$2" parent 1:10 handle 10: bfifo limit "$limit"
}
for i in $(seq 0 "$max_n"); do
  ns=$(hostns "$i")
  r=$rate
  [ "$i" = 0 ] && r=$seed_rate
  ip netns add "$ns"
  ip link add "${pfx}v$i" netns "$ns" type veth peer name "${pfx}p$i" netns "$sw"
  ip -n "$ns" link set "${pfx}v$i" name eth0
  ip -n "$ns" addr add "$(addr "$i")/16" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$sw" link set "${pfx}p$i" master br0 up
  ip netns exec "$ns" sysctl -qw net.ipv4.tcp_congestion_control=$cc
  shape "$ns" eth0 "$r"   # the host's upload
  shape "$sw" "${pfx}p$i" "$r" # its download
done
seed_ip=$(addr 0)

# ---- measuring -------------------------------------------------------------------------------
cpu() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat; } # busy idle
tmin() { # N -> the Kumar–Ross bound in seconds
  awk -v f="$closure_bytes" -v n="$1" -v u="$rate" -v s="$seed_rate" 'BEGIN {
    us = s * 125000; uc = u * 125000; t = f / us; if (f / uc > t) t = f / uc
    if (n * f / (us + n * uc) > t) t = n * f / (us + n * uc); printf "%.3f", t }'
}
tx_bytes() { ip netns exec "$(hostns 0)" cat /sys/class/net/eth0/statistics/tx_bytes; }
# losses N: the counters since the namespaces were made: TCP segments retransmitted and timeouts
# (RTOs) of the seed, the same summed over clients 1…N, and packets the shaping queues dropped on
# the seed's uplink and on the clients' downlinks (their switch ports).
losses() {
  local tcp='/^Tcp: [0-9]/ { r = $13 } /^TcpExt: [0-9]/ { t = $45 } END { print r + 0, t + 0 }'
  local drops='/^qdisc bfifo/ { f = 1; next } /^qdisc/ { f = 0 } f && /dropped/ { gsub(",", "", $7); d += $7 } END { print d + 0 }'
  local seed clients="0 0"
  seed=$(ip netns exec "$(hostns 0)" cat /proc/net/snmp /proc/net/netstat | awk "$tcp")
  for i in $(seq 1 "$1"); do
    clients=$(echo "$clients $(ip netns exec "$(hostns "$i")" cat /proc/net/snmp /proc/net/netstat | awk "$tcp")" |
      awk '{ print $1 + $3, $2 + $4 }')
  done
  echo "$seed $clients $(ip netns exec "$(hostns 0)" tc -s qdisc show dev eth0 | awk "$drops")" \
    "$(for i in $(seq 1 "$1"); do ip netns exec "$sw" tc -s qdisc show dev "${pfx}p$i"; done | awk "$drops")"
}
# start_all N DIR CMD…: runs CMD in hosts 1…N, released together through one FIFO; each writes
# DIR/I.done with its finish time. CMD may use $ROOT and $ME (the host's address).
start_all() {
  local n=$1 dir=$2
  shift 2
  mkfifo "$dir/go"
  for i in $(seq 1 "$n"); do
    ip netns exec "$(hostns "$i")" env ROOT="$dir/root$i" ME="$(addr "$i")" HOME="$dir/home$i" \
      XDG_CACHE_HOME="$dir/home$i/.cache" \
      sh -c 'read _ < "$0/go"; "$@" > "$0/'"$i"'.log" 2>&1; echo $? > "$0/'"$i"'.rc"; date +%s.%N > "$0/'"$i"'.done"' \
      "$dir" "$@" &
  done
  sleep 0.5 # every shell waits at the FIFO
  date +%s.%N >"$dir/t0"
  exec 3>"$dir/go"
  exec 3>&-
}
wait_for() { # N SECONDS DIR GLOB: until N files match DIR/GLOB, or a client failed (its .rc ≠ 0)
  local deadline=$(($(date +%s) + $2))
  # shellcheck disable=SC2086
  while [ "$(ls $3/$4 2>/dev/null | wc -l)" -lt "$1" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "swarm bench: timed out waiting for $3/$4" >&2; return 1; }
    ! grep -qvx 0 "$3"/*.rc 2>/dev/null || return 0
    sleep 0.1
  done
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
cpu_busy() { awk -v b0="$1" -v i0="$2" -v b1="$3" -v i1="$4" 'BEGIN { printf "%.0f", 100 * (b1 - b0) / (b1 - b0 + i1 - i0) }'; }

echo "closure: $closure_paths paths, $closure_bytes NAR bytes, ${chunk_kib} KiB chunks; links ${rate} Mbit/s up = down, seed ${seed_rate} Mbit/s; TCP $cc; $(nproc) cores"
printf "%-9s %4s %8s %8s %8s %9s %9s %9s %5s\n" system N T_min slowest ÷T_min seed÷F wire÷F fastest CPU%

run_rookery() {
  local n=$1 dir=$work/rk$n
  mkdir -p "$dir"
  # shellcheck disable=SC2086 # seed_args: words
  ip netns exec "$(hostns 0)" "$rookery" seed --state "$work/state" --store "$store" --listen "$seed_ip:7020" \
    --idle-timeout 120 $seed_args >"$dir/seed.log" 2>&1 &
  echo $! >"$work/pids/seed"
  for _ in $(seq 100); do grep -q 'listening on' "$dir/seed.log" && break; sleep 0.1; done
  local tx0 c0 losses0
  tx0=$(tx_bytes)
  [ -z "$trace" ] || read -r -a losses0 < <(losses "$n")
  read -r -a c0 < <(cpu)
  # shellcheck disable=SC2086,SC2016
  start_all "$n" "$dir" sh -c 'exec "$0" --seed "$1" --trusted-key "$2" --root "$ROOT" --listen "$ME:7021" --linger 10 '"$agent_args"' "$3"' \
    "$agent" "$seed_ip:7020" "$(cat "$work/pk")" "$toplevel"
  local t0 bound
  t0=$(cat "$dir/t0")
  bound=$(tmin "$n")
  if [ -n "$trace" ]; then
    (
      # t: seconds since the agents were released (the clock of slowest and fastest); rates are
      # over the time since the previous sample (a sample takes a little over a second). Each
      # client's download is its switch port's tx counter; "behind" is the seed's bytes sent
      # since the start minus a client's bytes received: a client whose downlink idles (or takes
      # duplicates) falls behind the seed and, with download rate = seed rate, never catches up.
      ports=$(for i in $(seq 1 "$n"); do printf '/sys/class/net/%sp%d/statistics/tx_bytes ' "$pfx" "$i"; done)
      # shellcheck disable=SC2086
      down0=$(ip netns exec "$sw" cat $ports | tr '\n' ' ')
      last=$tx0 last_t=$t0 last_down=$down0
      for _ in $(seq 1 600); do
        sleep 1
        [ -e "$dir/t0" ] || break
        # shellcheck disable=SC2086
        now=$(tx_bytes) now_t=$(date +%s.%N) down=$(ip netns exec "$sw" cat $ports | tr '\n' ' ')
        echo "  $(awk -v a="$now_t" -v b="$t0" -v p="$last_t" -v x=$((now - last)) -v s=$((now - tx0)) \
          -v d0="$down0" -v dl="$last_down" -v d="$down" '
          function sort(v, k,   i, j, t) { for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t } }
          BEGIN {
            k = split(d0, z); split(dl, l); split(d, c); dt = a - p
            for (i = 1; i <= k; i++) { r[i] = (c[i] - l[i]) * 8 / 1e6 / dt; g[i] = (s - (c[i] - z[i])) / 1e6 }
            sort(r, k); sort(g, k)
            printf "t=%.1fs seed up %.0f Mbit/s; clients down %.0f/%.0f/%.0f Mbit/s (min/median/max), behind the seed %.1f…%.1f MB",
              a - b, x * 8 / 1e6 / dt, r[1], r[int((k + 1) / 2)], r[k], g[1], g[k] }'), done $(ls "$dir"/root*/nix/var/rookery/registration 2>/dev/null | wc -l)/$n" >&2
        last=$now last_t=$now_t last_down=$down
      done
    ) &
    echo $! >"$work/pids/trace"
  fi
  wait_for "$n" "$(awk -v t="$bound" 'BEGIN { printf "%d", 20 * t + 120 }')" "$dir" "root*/nix/var/rookery/registration"
  [ -z "$trace" ] || kill "$(cat "$work/pids/trace")" 2>/dev/null || true
  local c1 tx1
  read -r -a c1 < <(cpu)
  tx1=$(tx_bytes)
  wait_for "$n" 120 "$dir" "*.done" # they linger, serving, until idle
  kill "$(cat "$work/pids/seed")"
  wait 2>/dev/null || true
  local slowest=0 fastest=1e18 seed_bytes=0 duplicates=0 stalls=0
  for i in $(seq 1 "$n"); do
    [ "$(cat "$dir/$i.rc")" = 0 ] || { echo "agent $i failed: $(cat "$dir/$i.log")" >&2; return 1; }
    # Done = the registration written (the agent lingers to serve after that).
    local done
    done=$(awk -v t="$(stat -c %.9Y "$dir/root$i/nix/var/rookery/registration")" -v t0="$t0" 'BEGIN { print t - t0 }')
    slowest=$(awk -v a="$slowest" -v b="$done" 'BEGIN { print (b > a ? b : a) }')
    fastest=$(awk -v a="$fastest" -v b="$done" 'BEGIN { print (b < a ? b : a) }')
    seed_bytes=$((seed_bytes + $(grep -o 'seed_bytes=[0-9]*' "$dir/$i.log" | cut -d= -f2)))
    duplicates=$((duplicates + $(grep -o 'duplicates=[0-9]*' "$dir/$i.log" | cut -d= -f2)))
    stalls=$((stalls + $(grep -o 'stalls=[0-9]*' "$dir/$i.log" | cut -d= -f2)))
    [ -z "$trace" ] || echo "  client $i done $(printf %.2f "$done") s: $(grep -o 'seed_bytes=.*' "$dir/$i.log" | head -1)" >&2
  done
  printf "%-9s %4d %8.1f %8.1f %8s %9s %9s %9.1f %5s\n" rookery "$n" "$bound" "$slowest" "$(ratio "$slowest" "$bound")" \
    "$(ratio "$seed_bytes" "$closure_bytes")" "$(ratio $((tx1 - tx0)) "$closure_bytes")" "$fastest" \
    "$(cpu_busy "${c0[0]}" "${c0[1]}" "${c1[0]}" "${c1[1]}")"
  if [ -n "$trace" ]; then
    echo "  over all clients: $duplicates chunks received twice, $stalls stalls" >&2
    # Losses: TCP retransmissions and timeouts (RTOs) of the seed and of all clients; packets
    # the shaping queues dropped (the seed's uplink; all clients' downlinks, the switch ports).
    local losses1
    read -r -a losses1 < <(losses "$n")
    # Why the seed retransmits (counters since the namespaces were made, so summed over the Ns
    # run so far): fast retransmits (SACK), tail loss probes, D-SACKs received (spurious
    # retransmits), sends refused by its own full shaping queue (RetransFail), RTOs.
    echo "  seed TCP: $(ip netns exec "$(hostns 0)" nstat -asz 2>/dev/null |
      awk '/^TcpExt(TCPFastRetrans|TCPLossProbes|TCPDSACKRecv|TCPRetransFail|TCPTimeouts) / { printf "%s=%s ", substr($1, 10), $2 }')" >&2
    echo "  this run: TCP segments retransmitted / timeouts: seed $((losses1[0] - losses0[0])) / $((losses1[1] - losses0[1])), clients $((losses1[2] - losses0[2])) / $((losses1[3] - losses0[3])); shaping queue drops: seed up $((losses1[4] - losses0[4])), client downs $((losses1[5] - losses0[5]))" >&2
  fi
  rm -rf "$dir"
}

run_http() {
  local n=$1 dir=$work/http$n
  mkdir -p "$dir"
  ip netns exec "$(hostns 0)" busybox httpd -f -p "$seed_ip:8080" -h "$work/cache" &
  echo $! >"$work/pids/httpd"
  sleep 0.3
  local tx0 c0
  tx0=$(tx_bytes)
  read -r -a c0 < <(cpu)
  start_all "$n" "$dir" sh -c 'mkdir -p "$HOME"; exec nix-store --store "$ROOT" -r "$1" --option substituters "$0" --option require-sigs false' \
    "http://$seed_ip:8080" "$toplevel"
  local t0 bound
  t0=$(cat "$dir/t0")
  bound=$(tmin "$n")
  wait_for "$n" "$(awk -v t="$bound" -v n="$n" 'BEGIN { printf "%d", 3 * n * t + 120 }')" "$dir" "*.done"
  local c1 tx1
  read -r -a c1 < <(cpu)
  tx1=$(tx_bytes)
  kill "$(cat "$work/pids/httpd")"
  wait 2>/dev/null || true
  local slowest=0 fastest=1e18
  for i in $(seq 1 "$n"); do
    [ "$(cat "$dir/$i.rc")" = 0 ] || { echo "nix-store $i failed: $(cat "$dir/$i.log")" >&2; return 1; }
    local done
    done=$(awk -v t="$(cat "$dir/$i.done")" -v t0="$t0" 'BEGIN { print t - t0 }')
    slowest=$(awk -v a="$slowest" -v b="$done" 'BEGIN { print (b > a ? b : a) }')
    fastest=$(awk -v a="$fastest" -v b="$done" 'BEGIN { print (b < a ? b : a) }')
  done
  printf "%-9s %4d %8.1f %8.1f %8s %9s %9s %9.1f %5s\n" http-nix "$n" "$bound" "$slowest" "$(ratio "$slowest" "$bound")" \
    "$n.000" "$(ratio $((tx1 - tx0)) "$closure_bytes")" "$fastest" "$(cpu_busy "${c0[0]}" "${c0[1]}" "${c1[0]}" "${c1[1]}")"
  chmod -R u+w "$dir"
  rm -rf "$dir"
}

# One agent holds generation 1 and fetches generation 2 (90% of its paths shared).
run_generation() {
  local dir=$work/gen
  mkdir -p "$dir"
  ip netns exec "$(hostns 0)" "$rookery" seed --state "$work/state" --store "$store" --listen "$seed_ip:7020" >"$dir/seed.log" 2>&1 &
  echo $! >"$work/pids/seed"
  for _ in $(seq 100); do grep -q 'listening on' "$dir/seed.log" && break; sleep 0.1; done
  local g
  for g in "$toplevel" "$toplevel2"; do
    ip netns exec "$(hostns 1)" "$agent" --seed "$seed_ip:7020" --trusted-key "$(cat "$work/pk")" --root "$dir/root" "$g" \
      >"$dir/agent.log" 2>&1 || { echo "agent failed: $(cat "$dir/agent.log")" >&2; return 1; }
  done
  kill "$(cat "$work/pids/seed")"
  wait 2>/dev/null || true
  local fetched
  fetched=$(grep -o ' bytes=[0-9]*' "$dir/agent.log" | cut -d= -f2)
  echo "generation 2 over generation 1: $(comm -13 <(nix-store --store "$store" -qR "$toplevel" | sort) <(nix-store --store "$store" -qR "$toplevel2" | sort) | wc -l) new paths, $new_bytes NAR bytes; fetched $fetched bytes = $(ratio "$fetched" "$new_bytes") × (target ≤ 1.02)"
  # That machine booted: `rookery peer` serves generation 2 from its store to 4 clients.
  ip netns exec "$(hostns 0)" "$rookery" seed --state "$work/state" --store "$store" --listen "$seed_ip:7020" >"$dir/seed2.log" 2>&1 &
  echo $! >"$work/pids/seed"
  for _ in $(seq 100); do grep -q 'listening on' "$dir/seed2.log" && break; sleep 0.1; done
  ip netns exec "$(hostns 1)" /usr/bin/env time -f "%M" -o "$dir/peer.rss" "$rookery" peer --seed "$seed_ip:7020" \
    --trusted-key "$(cat "$work/pk")" --root "$dir/root" --listen "$(addr 1):7021" "$toplevel2" >"$dir/peer.log" 2>&1 &
  echo $! >"$work/pids/peer"
  for _ in $(seq 100); do grep -q 'rookery peer: serving' "$dir/peer.log" 2>/dev/null && break; sleep 0.1; done
  local i seed_bytes=0 agents=()
  for i in 2 3 4 5; do
    # The agents end on their own: done and idle for 3 s, or 30 s without progress.
    ip netns exec "$(hostns "$i")" "$agent" --seed "$seed_ip:7020" --trusted-key "$(cat "$work/pk")" --root "$dir/r$i" \
      --listen "$(addr "$i"):7021" --linger 3 "$toplevel2" >"$dir/a$i.log" 2>&1 &
    agents+=($!)
  done
  wait "${agents[@]}"
  for i in 2 3 4 5; do
    seed_bytes=$((seed_bytes + $(grep -o 'seed_bytes=[0-9]*' "$dir/a$i.log" | cut -d= -f2)))
  done
  pkill -TERM -f -- "^$rookery peer --seed $seed_ip:7020" || true # SIGTERM: it prints what it served
  kill "$(cat "$work/pids/seed")"
  wait 2>/dev/null || true
  echo "a booted peer (rookery peer) and 4 new clients of generation 2: seed sent $(ratio "$seed_bytes" "$closure_bytes") × F, the peer $(ratio "$(grep -o 'served_bytes=[0-9]*' "$dir/peer.log" | cut -d= -f2)" "$closure_bytes") × F; peer peak RSS $(($(cat "$dir/peer.rss") / 1024)) MiB"
}

for n in $counts; do run_rookery "$n"; done
for n in $baseline; do run_http "$n"; done
run_generation
echo "seed÷F: chunk bytes the seed sent (agents' seed_bytes; for HTTP every client gets F from it) ÷ closure NAR bytes;"
echo "wire÷F: bytes leaving the seed's interface (headers, control traffic included) ÷ closure NAR bytes."
