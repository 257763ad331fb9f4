#pragma once

// Keeps chunk-sized allocations (64 KiB - 4 MiB) in the heap instead of a fresh mmap/munmap
// each. Why C: <malloc.h> (mallopt) is not part of Swift's Glibc module.
void rookery_tune_malloc_for_chunks(void);

// Sets IFF_UP on a network interface (the initrd's `lo` may be down). 0, or -errno.
// Why C: struct ifreq is a union Swift imports awkwardly.
int rookery_interface_up(const char *name);

// renameat2(RENAME_NOREPLACE): renames only if `newpath` does not exist (EEXIST otherwise), in
// one call. 0, or -errno (-EINVAL where the file system lacks the flag).
// Why C: Swift's Glibc module does not export renameat2.
int rookery_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
