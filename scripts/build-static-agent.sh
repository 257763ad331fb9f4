#!/usr/bin/env bash
# Builds the initrd agent as it ships: release, fully static (Glibc only), stripped, into
# .build-static/release/rookery-agent. Every script that needs it builds it here, so all measure
# and test the same binary. Swift code is optimised for size (-Osize): the stripped binary went
# from 8 370 800 to 8 247 920 bytes (target ≤ 8 MiB) and a 512 MiB fetch over loopback was no
# slower in alternating runs (0.73–0.86 s against 0.76–1.11 s); hashing is libsodium's C code.
# The linker folds identical functions whose address no code takes (--icf=safe; generic
# specialisations repeat): 8 383 088 → 8 292 976 bytes, the 1000-path and one-path fetches as
# fast in 15 alternating rounds (0.109 / 0.071 s against 0.108 / 0.073 s), every integration
# test passing with it (ROOKERY_AGENT). --icf=all folds 60 KB more, but also functions whose
# address is compared.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --scratch-path .build-static --static-swift-stdlib -Xswiftc -static-executable \
  -Xswiftc -Osize --traits StaticDeps --product rookery-agent -Xlinker -s -Xlinker --icf=safe "$@"
