#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>
#include "porter_sys.h"

ssize_t porter_copy_file_range(int fd_in, int64_t *off_in, int fd_out, size_t len) {
#if defined(__linux__)
    loff_t off = (loff_t)*off_in;
    ssize_t n = copy_file_range(fd_in, &off, fd_out, NULL, len, 0);
    if (n > 0) *off_in = (int64_t)off;
    return n;
#else
    (void)fd_in; (void)off_in; (void)fd_out; (void)len;
    errno = ENOSYS;
    return -1;
#endif
}
