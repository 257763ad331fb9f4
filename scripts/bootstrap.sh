#!/usr/bin/env bash
# Installs what rookery builds and tests with, on Debian 12 as root: the C libraries it links
# (libuv, libsodium), real Nix 2.8 as the format reference, busybox-static for hermetic Nix
# builds in the tests. Idempotent; safe to run again.
set -euo pipefail
packages=(libuv1-dev libsodium-dev libhttp-parser-dev pkg-config nix-bin busybox-static curl tmux python3-prometheus-client e2fsprogs)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi
