#ifndef FUZZ_EXIT_H
#define FUZZ_EXIT_H

/// Ends the process at once with `status`, through the exit_group system call rather than
/// `_exit`, which the sanitizers intercept to run LeakSanitizer's scan of the whole heap.
/// For harness child processes whose leaks are checked elsewhere.
__attribute__((noreturn)) void fuzz_exit_now(int status);

#endif
