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

// The magic number of the file system that holds `path` (statfs's f_type, linux/magic.h) into
// `type`. 0, or -errno.
// Why C: Swift's Glibc module does not export <sys/vfs.h>.
int rookery_file_system_type(const char *path, long long *type);

// Frees the blocks of `length` bytes of `fd` from `offset` on (they read as zeros after; the
// file keeps its size). 0, or -errno (-EOPNOTSUPP where the file system cannot).
// Why C: Swift's Glibc module does not export fallocate's FALLOC_FL_* flags.
int rookery_punch_hole(int fd, long long offset, long long length);
