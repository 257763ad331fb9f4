#pragma once

// Keeps chunk-sized allocations (64 KiB - 4 MiB) in the heap instead of a fresh mmap/munmap
// each. Why C: <malloc.h> (mallopt) is not part of Swift's Glibc module.
void rookery_tune_malloc_for_chunks(void);
