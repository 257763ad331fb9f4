#include "CSystemShims.h"
#include <malloc.h>

void rookery_tune_malloc_for_chunks(void) {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}
