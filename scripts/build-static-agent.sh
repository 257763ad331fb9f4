#!/usr/bin/env bash
# Builds the initrd agent as it ships: release, fully static (Glibc only), stripped, into
# .build-static/release/rookery-agent. Every script that needs it builds it here, so all measure
# and test the same binary. Swift code is optimised for size (-Osize): the stripped binary went
# from 8 370 800 to 8 247 920 bytes (target ≤ 8 MiB) and a 512 MiB fetch over loopback was no
# slower in alternating runs (0.73–0.86 s against 0.76–1.11 s); hashing is libsodium's C code.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --scratch-path .build-static --static-swift-stdlib -Xswiftc -static-executable \
  -Xswiftc -Osize --traits StaticDeps --product rookery-agent -Xlinker -s "$@"
