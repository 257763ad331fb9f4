#!/usr/bin/env bash
# Issue 5's benchmark, release build, ratios from one run on this machine (loopback):
#   - one NAR downloaded over HTTP from `rookery seed` (read from the store path through a
#     NarIndex) vs the same NAR as a static file from nginx (sendfile), MiB/s, best of 3 each,
#     runs alternating
#   - narinfo requests per second (4 keep-alive clients), against nginx serving the same narinfo
#     as a static file
# Usage: Benchmarks/http-bench.sh [NAR_MIB (512)] [NARINFO_REQUESTS_PER_CLIENT (5000)]
set -euo pipefail
cd "$(dirname "$0")/.."
nar_mib=${1:-512}
requests=${2:-5000}
for tool in nginx curl python3 nix-build; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "http bench: needs $tool (apt-get install -y nginx-light curl python3 nix-bin)" >&2
    exit 2
  }
done
nginx=$(command -v nginx || echo /usr/sbin/nginx)

swift build -c release --product rookery >/dev/null
rookery=$PWD/.build/release/rookery
work=$(mktemp -d /tmp/rookery-http-bench-XXXXXX)
trap 'kill $(cat "$work/nginx.pid" 2>/dev/null) 2>/dev/null || true; pkill -f "rookery seed --state $work" 2>/dev/null || true; chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
. Benchmarks/nix-scratch.sh
nix_scratch "$work"
store=$work/store

cat > "$work/closure.nix" <<NIX
let $nix_builder
in mk "large" "mkdir -p \$out; head -c $((nar_mib * 1024 * 1024)) /dev/urandom > \$out/blob"
NIX
large=$(nix-build --store "$store" "$work/closure.nix" --no-out-link 2>/dev/null)
"$rookery" keygen bench-1 --secret "$work/sk" --public "$work/pk"
"$rookery" publish --state "$work/state" --store "$store" --key "$work/sk" "$large" >/dev/null
"$rookery" seed --state "$work/state" --store "$store" --listen 127.0.0.1:0 --http 127.0.0.1:0 --key "$work/sk" \
  > "$work/seed.log" 2>&1 &
for _ in $(seq 100); do grep -q 'listening on' "$work/seed.log" && break; sleep 0.1; done
http=$(grep -o 'HTTP (.*) on .*' "$work/seed.log" | awk '{print $NF}')

# The same NAR and narinfo as static files for nginx.
hash=$(basename "$large" | cut -c1-32)
curl -sf "http://$http/$hash.narinfo" > "$work/$hash.narinfo"
url=$(awk '/^URL:/ {print $2}' "$work/$hash.narinfo")
mkdir -p "$work/www/nar"
nix-store --store "$store" --dump "$store$large" > "$work/www/$url"
cp "$work/$hash.narinfo" "$work/www/"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
daemon on;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  client_body_temp_path $work/nginx-tmp; proxy_temp_path $work/nginx-tmp; fastcgi_temp_path $work/nginx-tmp;
  uwsgi_temp_path $work/nginx-tmp; scgi_temp_path $work/nginx-tmp;
  server { listen 127.0.0.1:$port; root $work/www; }
}
CONF
mkdir -p "$work/nginx-tmp"
chmod 755 "$work"  # nginx's workers run as www-data
"$nginx" -c "$work/nginx.conf"
curl -sf -o /dev/null "http://127.0.0.1:$port/$hash.narinfo" || { echo "http bench: nginx does not serve; see $work/nginx-error.log" >&2; cat "$work/nginx-error.log" >&2; exit 1; }

speed() { curl -sf -o /dev/null -w '%{speed_download}' "$1"; }
best_rookery=0
best_nginx=0
for _ in 1 2 3; do
  r=$(speed "http://$http/$url")
  n=$(speed "http://127.0.0.1:$port/$url")
  best_rookery=$(python3 -c "print(max($best_rookery, $r))")
  best_nginx=$(python3 -c "print(max($best_nginx, $n))")
done
cmp <(curl -sf "http://$http/$url") "$work/www/$url" || { echo "http bench: the NAR differs from nix-store --dump" >&2; exit 1; }

rate() { # URL -> requests per second over 4 keep-alive clients
  python3 - "$1" "$requests" <<'PY'
import http.client, sys, threading, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); n = int(sys.argv[2])
def client():
    c = http.client.HTTPConnection(u.hostname, u.port)
    for _ in range(n):
        c.request("GET", u.path); r = c.getresponse(); r.read()
        assert r.status == 200
threads = [threading.Thread(target=client) for _ in range(4)]
t = time.time()
for th in threads: th.start()
for th in threads: th.join()
print(round(4 * n / (time.time() - t)))
PY
}
ni_rookery=$(rate "http://$http/$hash.narinfo")
ni_nginx=$(rate "http://127.0.0.1:$port/$hash.narinfo")

mibs() { python3 -c "print(round($1 / 1048576))"; }
echo "nar     ${nar_mib} MiB NAR over loopback: rookery seed $(mibs "$best_rookery") MiB/s, nginx static file $(mibs "$best_nginx") MiB/s: rookery ÷ nginx = $(python3 -c "print(f'{$best_rookery / $best_nginx:.2f}')") (target ≥ 0.9)"
echo "narinfo $ni_rookery requests/s from rookery, $ni_nginx from nginx (same Python keep-alive clients, 4 × $requests): $(python3 -c "print(f'{$ni_rookery / $ni_nginx:.2f}')")"
