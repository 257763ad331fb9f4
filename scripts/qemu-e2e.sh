#!/usr/bin/env bash
# End to end in QEMU (TCG; KVM does not work on these machines), as root:
#   a network namespace with a bridge and two taps; dnsmasq (DHCP, boot file = raven's boot.ipxe);
#   `rookery seed` serving a published system whose kernel is Debian's cloud kernel and whose
#   initrd holds busybox, the virtio modules, mke2fs, the static rookery-agent and a layout;
#   two VMs with blank disks PXE-boot together (iPXE → boot.ipxe → kernel/initrd over HTTP),
#   lay out their disks, fetch the closure from the seed and from each other, and power off.
#   A second boot of one VM must repartition nothing and fetch nothing; failures give one line; a
#   VM whose power is cut during its fetch, and again 8 s after the fetch that follows, must boot
#   whole; then real Nix loads each disk's registration and verifies every path's contents.
# Prints per VM: boot-to-fetched time, bytes from the seed and from the peer.
# Usage: scripts/qemu-e2e.sh   (builds the static agent and rookery first)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "qemu-e2e: run as root (network namespaces)" >&2; exit 2; }

export DEBIAN_FRONTEND=noninteractive
need=(qemu-system-x86 ipxe-qemu dnsmasq-base busybox-static nix-bin e2fsprogs cpio bc zstd iproute2)
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q && apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi

agent=$PWD/.build-static/release/rookery-agent
scripts/build-static-agent.sh >/dev/null
swift build --product rookery >/dev/null
rookery=$PWD/.build/debug/rookery

work=$(mktemp -d /tmp/rookery-e2e-XXXXXX)
ns=rke2e$$
net=10.232.$(($$ % 200 + 20))
cleanup() {
  set +e
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
  ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
  sleep 0.5
  ip netns del "$ns" 2>/dev/null
  mountpoint -q "$work/mnt" && umount "$work/mnt"
  chmod -R u+w "$work" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# --- Debian's cloud kernel (LZ4: quick under TCG) and its virtio modules
mkdir -p "$work/kernel" && (cd "$work/kernel" && apt-get download -q "$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image/ {print $2; exit}')" >/dev/null 2>&1)
dpkg-deb -x "$work"/kernel/*.deb "$work/kernel/x"
kver=$(ls "$work/kernel/x/lib/modules")
vmlinuz=$(ls "$work"/kernel/x/boot/vmlinuz-*)

# --- the initrd: busybox, modules (in load order), mke2fs with its libraries, the agent, the layout
r=$work/initrd
mkdir -p "$r"/{bin,sbin,etc,proc,sys,dev,tmp,mnt-root,lib/modules,usr/share/udhcpc}
cp "$(command -v busybox)" "$r/bin/busybox"
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net virtio_blk"
for m in $modules; do cp "$(find "$work/kernel/x/lib/modules/$kver" -name "$m.ko")" "$r/lib/modules/"; done
cp /usr/sbin/mke2fs "$r/sbin/mke2fs"
for lib in $(ldd /usr/sbin/mke2fs | grep -o '/[^ ]*'); do mkdir -p "$r$(dirname "$lib")"; cp -L "$lib" "$r$lib"; done
cp "$agent" "$r/bin/rookery-agent"
printf 'disk /dev/vda\npartition nixos ext4 rest\n' > "$r/etc/rookery-layout"
cat > "$r/usr/share/udhcpc/default.script" <<'SH'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/${mask:-24}" dev "$interface"
[ -n "$router" ] && ip route add default via "${router%% *}"
exit 0
SH
cat > "$r/init" <<SH
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $modules; do insmod /lib/modules/\$m.ko || echo "E2E: insmod \$m failed"; done
ip link set eth0 up
udhcpc -i eth0 -n -q -t 20 -T 1 -s /usr/share/udhcpc/default.script >/dev/null 2>&1 || echo "E2E: no DHCP lease"
rookery-agent layout > /tmp/layout.log 2>&1
rc=\$?
sed 's/^/E2E-LAYOUT /' /tmp/layout.log
if [ \$rc != 0 ]; then
  echo "E2E-RESULT rc=\$rc step=layout \$(tail -n 1 /tmp/layout.log)"
  poweroff -f
fi
mount -t ext4 /dev/vda1 /mnt-root || echo "E2E: mount failed"
rookery-agent > /tmp/agent.log 2>&1
rc=\$?
cat /tmp/agent.log
echo "E2E-STORE entries=\$(ls -A /mnt-root/nix/store 2>/dev/null | wc -l)"
echo "E2E-RESULT rc=\$rc uptime=\$(cut -d' ' -f1 /proc/uptime) \$(tail -n 1 /tmp/agent.log)"
# e2e.hold: wait with what was written unsynced, for the harness to cut the power.
if grep -q e2e.hold /proc/cmdline; then echo E2E-HOLD; sleep 3600; fi
umount /mnt-root; sync
poweroff -f
SH
chmod +x "$r/init" "$r/usr/share/udhcpc/default.script"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -9) > "$work/initrd.gz"
agent_size=$(stat -c %s "$agent")
agent_gz=$(gzip -9c "$agent" | wc -c)
agent_zst=$(zstd -19 -c "$agent" 2>/dev/null | wc -c)
mib() { python3 -c "print(round($1 / 1048576, 2))"; }
echo "static rookery-agent: $agent_size bytes stripped ($(mib "$agent_size") MiB, target ≤ 8); compressed in an initrd (target ≤ 3 MiB): zstd -19 (NixOS's default initrd compressor) $agent_zst bytes = $(mib "$agent_zst") MiB, gzip -9 $agent_gz bytes = $(mib "$agent_gz") MiB; this test's initrd.gz $(stat -c %s "$work/initrd.gz") bytes"

# --- the system closure, built by nix-bin: kernel, initrd and some payload under a toplevel
. Benchmarks/nix-scratch.sh
nix_scratch "$work"
store=$work/store
cp "$vmlinuz" "$work/bzImage"
cat > "$work/system.nix" <<NIX
let $nix_builder
  kernel = builtins.path { path = $work/bzImage; name = "linux-$kver-bzImage"; };
  initrd = builtins.path { path = $work/initrd.gz; name = "initrd.gz"; };
  lib = i: mk "lib-\${toString i}" "mkdir -p \$out/lib; head -c \$((4096 * (i + 1))) /dev/urandom > \$out/lib/l.so";
  libs = builtins.genList lib 40;
  big = mk "payload" "mkdir -p \$out/share; head -c 6291456 /dev/urandom > \$out/share/blob";
in mk "nixos-system-e2e" "mkdir -p \$out; ln -s \${kernel} \$out/kernel; ln -s \${initrd} \$out/initrd; echo \${toString libs} \${big} > \$out/deps; echo 'console=ttyS0 panic=-1 rookery.linger=4' > \$out/kernel-params; ln -s \${bb}/bin/sh \$out/init"
NIX
toplevel=$(nix-build --store "$store" "$work/system.nix" --no-out-link 2>/dev/null)
"$rookery" keygen raven-e2e-1 --secret "$work/sk" --public "$work/pk" >/dev/null
"$rookery" publish --state "$work/state" --store "$store" --key "$work/sk" --label e2e "$toplevel"
closure_bytes=$(nix-store --store "$store" -qR "$toplevel" | xargs nix-store --store "$store" -q --size | paste -sd+ | bc)

# --- the lab LAN: a namespace with a bridge, two taps, dnsmasq and raven's seed
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add br0 type bridge
ip -n "$ns" addr add "$net.1/24" dev br0
ip -n "$ns" addr add fd32::1/64 dev br0 nodad
ip -n "$ns" link set br0 up
for i in 0 1 2 3 4; do
  ip -n "$ns" tuntap add dev "tap$i" mode tap
  ip -n "$ns" link set "tap$i" master br0
  ip -n "$ns" link set "tap$i" up
done
# DHCP names a TFTP file; QEMU's NIC ROM is iPXE, which fetches that chain script over TFTP and
# then raven's menu over HTTP.
mkdir -p "$work/tftp"
printf '#!ipxe\nchain http://%s:7080/boot.ipxe\n' "$net.1" > "$work/tftp/rookery.ipxe"
ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --interface=br0 --bind-interfaces \
  --dhcp-range="$net.100,$net.150,255.255.255.0,1h" --dhcp-boot=rookery.ipxe --enable-tftp \
  --tftp-root="$work/tftp" --no-ping \
  --enable-ra --dhcp-range=fd32::,ra-only,64 --dhcp-leasefile="$work/leases" --pid-file="$work/dnsmasq.pid" \
  --log-facility="$work/dnsmasq.log" --user=root --group=root &
ip netns exec "$ns" "$rookery" seed --state "$work/state" --store "$store" --listen "$net.1:7020" \
  --http "$net.1:7080" --key "$work/sk" > "$work/seed.log" 2>&1 &
echo $! > "$work/seed.pid"
for _ in $(seq 100); do grep -q 'listening on' "$work/seed.log" && break; sleep 0.1; done

vm() { # index disk log [kernel command line: boot the kernel directly instead of PXE]
  local boot=(-boot n)
  [ $# -lt 4 ] || boot=(-kernel "$vmlinuz" -initrd "$work/initrd.gz" -append "$4")
  ip netns exec "$ns" qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -nodefaults -no-reboot "${boot[@]}" \
    -serial "file:$3" -netdev "tap,id=n0,ifname=tap$1,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=n0,mac=52:54:00:32:00:1$1" -drive "file=$2,format=raw,if=virtio" &
  echo $! > "$work/vm$1.pid"
}
wait_vm() { # index log seconds -> waits for poweroff; notes when the result line appeared
  local deadline=$((SECONDS + $3)) started=$EPOCHREALTIME
  while kill -0 "$(cat "$work/vm$1.pid")" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "qemu-e2e: VM $1 still running after $3 s; its console:" >&2; tail -n 40 "$2" >&2; exit 1; }
    if [ ! -e "$work/vm$1.fetched" ] && grep -qs 'E2E-RESULT' "$2"; then
      python3 -c "print(round($EPOCHREALTIME - $started, 1))" > "$work/vm$1.fetched"
    fi
    sleep 0.2
  done
}
field() { grep -o "$1=[0-9]*" <<<"$2" | head -n 1 | cut -d= -f2; }

for i in 0 1; do truncate -s 512M "$work/disk$i.img"; done
start=$SECONDS
for i in 0 1; do vm "$i" "$work/disk$i.img" "$work/vm$i.log"; done
wait_vm 0 "$work/vm0.log" 600 &
watcher=$!
wait_vm 1 "$work/vm1.log" 600
wait "$watcher"
echo "two VMs booted together in $((SECONDS - start)) s (host); closure $closure_bytes NAR bytes"
for i in 0 1; do
  line=$(grep 'E2E-RESULT' "$work/vm$i.log" || true)
  [ -n "$line" ] || { echo "qemu-e2e: VM $i printed no result; its console:" >&2; tail -n 60 "$work/vm$i.log" >&2; exit 1; }
  grep -q 'rc=0' <<<"$line" || { echo "qemu-e2e: VM $i failed: $line" >&2; tail -n 60 "$work/vm$i.log" >&2; exit 1; }
  grep -q 'E2E-LAYOUT rookery-agent: partitioned and formatted /dev/vda' "$work/vm$i.log" || { echo "qemu-e2e: VM $i did not lay out its disk" >&2; exit 1; }
  echo "VM $i: boot-to-fetched $(cat "$work/vm$i.fetched" 2>/dev/null || echo '?') s from power-on (host; PXE, menu, kernel, layout, fetch), $(grep -o 'uptime=[0-9.]*' <<<"$line" | cut -d= -f2) s of it after the kernel started; from seed $(field seed_bytes "$line") B, from peer $(field peer_bytes "$line") B"
done

# A second boot of VM 0 on the same disk: the layout is left alone, nothing is fetched.
rm -f "$work/vm0.fetched"
vm 0 "$work/disk0.img" "$work/vm0-again.log"
wait_vm 0 "$work/vm0-again.log" 600
again=$(grep 'E2E-RESULT' "$work/vm0-again.log" || true)
grep -q 'E2E-LAYOUT rookery-agent: /dev/vda already has the declared layout; left alone' "$work/vm0-again.log" || { echo "qemu-e2e: the second boot touched the layout" >&2; tail -n 40 "$work/vm0-again.log" >&2; exit 1; }
[ "$(field bytes "$again")" = 0 ] && grep -q 'rc=0' <<<"$again" || { echo "qemu-e2e: the second boot fetched: $again" >&2; exit 1; }
echo "VM 0 again: layout left alone, 0 bytes fetched ($(grep -o '([0-9]* were present)' <<<"$again"))"

# Each failure gives its one line on the console, a non-zero exit and nothing in the store:
# a disk too small (PXE as before), a wrong key and an unreachable seed on the command line.
truncate -s 32M "$work/disk2.img"
for i in 3 4; do truncate -s 256M "$work/disk$i.img"; done
wrong="raven-e2e-1:ebVWLo/mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ="
vm 2 "$work/disk2.img" "$work/vm2.log"
vm 3 "$work/disk3.img" "$work/vm3.log" "console=ttyS0 panic=-1 init=$toplevel/init rookery.seed=$net.1:7020 rookery.key=$wrong"
vm 4 "$work/disk4.img" "$work/vm4.log" "console=ttyS0 panic=-1 init=$toplevel/init rookery.seed=$net.1:9 rookery.key=$(cat "$work/pk") rookery.retries=2"
for i in 2 3 4; do wait_vm "$i" "$work/vm$i.log" 600; done
expect_failure() { # index what-the-line-says
  local line
  line=$(grep 'E2E-RESULT' "$work/vm$1.log" || true)
  if ! grep -q 'rc=1' <<<"$line" || ! grep -q "$2" <<<"$line"; then
    echo "qemu-e2e: VM $1 should have failed with '$2': $line" >&2; tail -n 30 "$work/vm$1.log" >&2; exit 1
  fi
  if grep -q 'E2E-STORE' "$work/vm$1.log" && ! grep -q 'E2E-STORE entries=0' "$work/vm$1.log"; then
    echo "qemu-e2e: VM $1 left something in its store" >&2; exit 1
  fi
  echo "VM $1: $(sed 's/.*E2E-RESULT rc=1 \(step=layout \)\{0,1\}\(uptime=[0-9.]* \)\{0,1\}//' <<<"$line") (exit 1)"
}
expect_failure 2 "is too small: 32 MiB"
cmp -s "$work/disk2.img" <(head -c 33554432 /dev/zero) || { echo "qemu-e2e: the small disk was written to" >&2; exit 1; }
expect_failure 3 "manifest refused"
expect_failure 4 "cannot reach the seed"

# A power cut: on VM 2's tap again, a blank disk; QEMU is killed 8 s after the fetch, while the
# guest holds what it wrote unsynced (ext4 commits its journal every 5 s, writes data back after
# 30): paths renamed into the store can be empty on the disk. The next boot must mend them.
# Before that, its power is cut in the middle of its first fetch: its link held to 20 Mbit/s
# (28.6 MB take ~11 s), the cut 6 s after its layout is done; the boot that follows goes on from
# what the disk kept.
truncate -s 256M "$work/disk5.img"
cut_line="console=ttyS0 panic=-1 init=$toplevel/init rookery.seed=$net.1:7020 rookery.key=$(cat "$work/pk")"
ip netns exec "$ns" tc qdisc add dev tap2 root tbf rate 20mbit burst 32kb latency 400ms
vm 2 "$work/disk5.img" "$work/vm5-mid.log" "$cut_line"
for _ in $(seq 3000); do grep -qs 'E2E-LAYOUT rookery-agent: partitioned' "$work/vm5-mid.log" && break; sleep 0.05; done
sleep 6
kill -9 "$(cat "$work/vm2.pid")"
wait "$(cat "$work/vm2.pid")" 2>/dev/null || true
ip netns exec "$ns" tc qdisc del dev tap2 root
grep -q 'E2E-RESULT' "$work/vm5-mid.log" && echo "qemu-e2e: (the first fetch of VM 5 ended before its power was cut)"
vm 2 "$work/disk5.img" "$work/vm5.log" "$cut_line e2e.hold"
for _ in $(seq 3000); do grep -qs E2E-HOLD "$work/vm5.log" && break; sleep 0.2; done
resumed=$(grep 'E2E-RESULT' "$work/vm5.log" || true)
grep -q 'rc=0' <<<"$resumed" || { echo "qemu-e2e: the power-cut VM did not fetch" >&2; tail -n 40 "$work/vm5.log" >&2; exit 1; }
echo "VM 5: power cut during its first fetch; the next boot found $(field incomplete "$resumed") paths not whole, kept $(field reused "$resumed") chunks and fetched $(field bytes "$resumed") B"
sleep 8
kill -9 "$(cat "$work/vm2.pid")"
wait "$(cat "$work/vm2.pid")" 2>/dev/null || true
vm 2 "$work/disk5.img" "$work/vm5-again.log" "$cut_line"
wait_vm 2 "$work/vm5-again.log" 600
mended=$(grep 'E2E-RESULT' "$work/vm5-again.log" || true)
grep -q 'rc=0' <<<"$mended" || { echo "qemu-e2e: the boot after the power cut failed: $mended" >&2; tail -n 40 "$work/vm5-again.log" >&2; exit 1; }
echo "VM 5: power cut 8 s after its fetch; the next boot found $(field incomplete "$mended") paths not whole on the disk and fetched $(field bytes "$mended") B again"

# Real Nix on each disk's store: load the registration, verify every path's contents.
mkdir -p "$work/mnt"
for i in 0 1 5; do
  mount -o loop,offset=1048576 "$work/disk$i.img" "$work/mnt"
  nix-store --store "$work/mnt" --load-db < "$work/mnt/nix/var/rookery/registration"
  nix-store --store "$work/mnt" --verify --check-contents 2>&1 | tail -n 1
  [ "$(nix-store --store "$work/mnt" -qR "$toplevel" | wc -l)" = "$(nix-store --store "$store" -qR "$toplevel" | wc -l)" ]
  umount "$work/mnt"
  echo "VM $i disk: Nix loaded the registration and verified every path (nix-store --verify --check-contents)"
done
echo "qemu-e2e: passed"
