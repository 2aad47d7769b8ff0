#ifndef FUZZ_EXIT_H
#define FUZZ_EXIT_H

/// Ends the process at once with `status`, through the exit_group system call rather than
/// `_exit`, which the sanitizers intercept to run LeakSanitizer's scan of the whole heap.
/// For harness child processes whose leaks are checked elsewhere.
__attribute__((noreturn)) void fuzz_exit_now(int status);

/// Clears libFuzzer's sanitizer death callback in a forked child: a child inherits it, and
/// a sanitizer report there (libhdf5's own, contained) would otherwise make the child write
/// libFuzzer's crash artifact for whatever input the parent held when it forked.
void fuzz_child_forget_fuzzer(void);

#endif
