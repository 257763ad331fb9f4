#!/usr/bin/env bash
# Coverage-guided fuzzing of one decoder with libFuzzer (from the Swift toolchain's clang).
#   scripts/fuzz.sh TARGET [SECONDS]     e.g. scripts/fuzz.sh nar-parser 60
#   scripts/fuzz.sh --list               builds, then prints every target's name
# Builds rookery-fuzz with ASan and libFuzzer's coverage into .build-fuzz, keeps the corpus in
# .build-fuzz/corpus/TARGET, and exits non-zero on a finding (crash-* file in the corpus folder).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}
seconds=${2:-60}
clang_lib=$(ls -d "$(dirname "$(command -v swiftc)")"/../lib/clang/*/lib/linux | head -n 1)
swift build -c release --scratch-path .build-fuzz --product rookery-fuzz \
  -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters \
  -Xlinker --whole-archive -Xlinker "$clang_lib/libclang_rt.fuzzer_no_main-x86_64.a" -Xlinker --no-whole-archive \
  -Xlinker -lstdc++ >&2
if [ "$target" = --list ]; then
  exec .build-fuzz/release/rookery-fuzz --list
fi
corpus=.build-fuzz/corpus/$target
mkdir -p "$corpus"
.build-fuzz/release/rookery-fuzz "$target" --write-seeds "$corpus"
# The Swift backtracer would wait on a crash; libFuzzer reports the input itself.
SWIFT_BACKTRACE=enable=no .build-fuzz/release/rookery-fuzz "$target" -max_total_time="$seconds" \
  -artifact_prefix="$corpus/" -print_final_stats=1 "$corpus"
