#pragma once
#include <stddef.h>
#include <stdint.h>

typedef int (*rookery_fuzz_callback)(const uint8_t *data, size_t size);

// libFuzzer's driver entry point when the binary is linked with libclang_rt.fuzzer_no_main
// (scripts/fuzz.sh); NULL in an ordinary build, where rookery-fuzz mutates on its own.
int rookery_libfuzzer_available(void);
int rookery_libfuzzer_run(int *argc, char ***argv, rookery_fuzz_callback callback);
