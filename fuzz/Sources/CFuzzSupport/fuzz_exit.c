#include "fuzz_exit.h"

#include <sys/syscall.h>
#include <unistd.h>

void fuzz_exit_now(int status) {
    syscall(SYS_exit_group, status);
    _exit(status);
}
