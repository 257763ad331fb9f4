#define _GNU_SOURCE
#include "CSystemShims.h"
#include <malloc.h>

void rookery_tune_malloc_for_chunks(void) {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int rookery_interface_up(const char *name) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strncpy(request.ifr_name, name, IFNAMSIZ - 1);
    int rc = 0;
    if (ioctl(fd, SIOCGIFFLAGS, &request) < 0) {
        rc = -errno;
    } else if (!(request.ifr_flags & IFF_UP)) {
        request.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &request) < 0) rc = -errno;
    }
    close(fd);
    return rc;
}

#include <fcntl.h>
#include <stdio.h>

int rookery_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE) == 0 ? 0 : -errno;
}

#include <sys/vfs.h>

int rookery_file_system_type(const char *path, long long *type) {
    struct statfs fs;
    if (statfs(path, &fs) != 0) return -errno;
    *type = (long long)fs.f_type;
    return 0;
}

int rookery_punch_hole(int fd, long long offset, long long length) {
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length) != 0) return -errno;
    return 0;
}
