// Why C: Swift cannot declare a weak undefined symbol. LLVMFuzzerRunDriver resolves only when
// libFuzzer is linked in, so one rookery-fuzz source serves both the plain build and the
// coverage-guided build.
#include "CFuzzDriver.h"

extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t))
    __attribute__((weak));

int rookery_libfuzzer_available(void) { return LLVMFuzzerRunDriver != NULL; }

int rookery_libfuzzer_run(int *argc, char ***argv, rookery_fuzz_callback callback) {
    return LLVMFuzzerRunDriver(argc, argv, callback);
}
