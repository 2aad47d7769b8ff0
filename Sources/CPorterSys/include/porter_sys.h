#ifndef PORTER_SYS_H
#define PORTER_SYS_H
#include <sys/types.h>
#include <stdint.h>

/// copy_file_range(2) with input offset, output at the file position; returns bytes
/// copied or -1 with errno set (ENOSYS where the libc lacks it).
ssize_t porter_copy_file_range(int fd_in, int64_t *off_in, int fd_out, size_t len);

#endif
