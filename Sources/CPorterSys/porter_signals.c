#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "porter_signals.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

// MARK: - Tree removal with system calls only

struct porter_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/// Deepest folder nesting removed; Porter's outputs are two levels deep.
enum { max_depth = 64 };

static int remove_at(int dirfd, const char *name, int depth, int64_t *bytes, int dry_run);

/// Removes (or, dry run, measures) every entry of the open folder `fd`. Entries that
/// appear while it runs are removed by a further pass.
static int empty_dir(int fd, int depth, int64_t *bytes, int dry_run) {
    char buf[2048] __attribute__((aligned(8)));
    for (int pass = 0; pass < 1000; pass++) {
        if (lseek(fd, 0, SEEK_SET) < 0) return -1;
        int removed = 0;
        for (;;) {
            long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
            if (n < 0) {
                if (errno == EINTR) continue;
                return -1;
            }
            if (n == 0) break;
            for (long off = 0; off < n;) {
                struct porter_dirent64 *d = (struct porter_dirent64 *)(buf + off);
                off += d->d_reclen;
                if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) continue;
                if (remove_at(fd, d->d_name, depth + 1, bytes, dry_run) != 0) return -1;
                removed++;
            }
        }
        if (!removed || dry_run) return 0;
    }
    errno = ENOTEMPTY;
    return -1;
}

static int remove_at(int dirfd, const char *name, int depth, int64_t *bytes, int dry_run) {
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode)) {
        if (!dry_run && unlinkat(dirfd, name, 0) != 0) return errno == ENOENT ? 0 : -1;
        if (bytes && S_ISREG(st.st_mode)) *bytes += (int64_t)st.st_size;
        return 0;
    }
    if (depth > max_depth) {
        errno = ELOOP;
        return -1;
    }
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    int rc = empty_dir(fd, depth, bytes, dry_run);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        errno = saved;
        return -1;
    }
    if (!dry_run && unlinkat(dirfd, name, AT_REMOVEDIR) != 0) return errno == ENOENT ? 0 : -1;
    return 0;
}

int porter_remove_tree(const char *path, int64_t *bytes) {
    int64_t total = 0;
    int rc = remove_at(AT_FDCWD, path, 0, &total, 0);
    if (bytes) *bytes = total;
    return rc;
}

int64_t porter_tree_bytes(const char *path) {
    int64_t total = 0;
    return remove_at(AT_FDCWD, path, 0, &total, 1) == 0 ? total : -1;
}

int porter_rename_exchange(const char *a, const char *b) {
#if defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
#else
    (void)a; (void)b;
    errno = ENOSYS;
    return -1;
#endif
}

pid_t porter_gettid(void) { return (pid_t)syscall(SYS_gettid); }

// MARK: - Registry

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int used;
    pid_t tid;
    char path[PATH_MAX];
} slots[PORTER_TEMP_SLOTS];

void porter_registry_lock(void) { pthread_mutex_lock(&registry_mutex); }
void porter_registry_unlock(void) { pthread_mutex_unlock(&registry_mutex); }

int porter_temp_register_locked(const char *path) {
    size_t n = strlen(path);
    if (n >= PATH_MAX) return -1;
    for (int i = 0; i < PORTER_TEMP_SLOTS; i++) {
        if (slots[i].used) continue;
        memcpy(slots[i].path, path, n + 1);
        slots[i].tid = porter_gettid();
        slots[i].used = 1;
        return i;
    }
    return -1;
}

int porter_temp_rename_locked(int slot, const char *path) {
    if (slot < 0 || slot >= PORTER_TEMP_SLOTS || !slots[slot].used) return -1;
    size_t n = strlen(path);
    if (n >= PATH_MAX) return -1;
    memcpy(slots[slot].path, path, n + 1);
    return 0;
}

void porter_temp_unregister_locked(int slot) {
    if (slot < 0 || slot >= PORTER_TEMP_SLOTS) return;
    slots[slot].used = 0;
    slots[slot].path[0] = 0;
}

// MARK: - Signals

static volatile sig_atomic_t pending_signal = 0;
static int pipe_read = -1, pipe_write = -1;
static int park_signal = 0;
static atomic_int parked_threads = 0;

static void on_termination(int sig) {
    int saved = errno;
    if (!pending_signal) pending_signal = sig;
    unsigned char b = (unsigned char)sig;
    ssize_t r = write(pipe_write, &b, 1);  // a full pipe already holds a wake-up
    (void)r;
    errno = saved;
}

static void on_park(int sig) {
    (void)sig;
    atomic_fetch_add(&parked_threads, 1);
    for (;;) pause();
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

static void *cleanup_thread(void *arg) {
    (void)arg;
    unsigned char b = 0;
    for (;;) {
        ssize_t n = read(pipe_read, &b, 1);
        if (n == 1) break;
        if (n < 0 && errno == EINTR) continue;
        return NULL;
    }
    int sig = pending_signal ? pending_signal : b;
    // Waits for a creation or a rename into place in progress to finish.
    pthread_mutex_lock(&registry_mutex);
    pid_t self = porter_gettid(), pid = getpid();
    pid_t signalled[PORTER_TEMP_SLOTS];
    int sent = 0;
    for (int i = 0; i < PORTER_TEMP_SLOTS; i++) {
        if (!slots[i].used || slots[i].tid == self) continue;
        int seen = 0;
        for (int j = 0; j < sent; j++) seen |= signalled[j] == slots[i].tid;
        if (seen) continue;
        if (syscall(SYS_tgkill, pid, slots[i].tid, park_signal) == 0) signalled[sent++] = slots[i].tid;
    }
    // A thread in an uninterruptible write parks when the write returns; give it 2 s.
    for (int waited = 0; atomic_load(&parked_threads) < sent && waited < 2000; waited++) sleep_ms(1);
    for (int i = 0; i < PORTER_TEMP_SLOTS; i++) {
        if (slots[i].used) porter_remove_tree(slots[i].path, NULL);
    }
    _exit(128 + sig);
}

static int install_result = -1;
static int install_errno = 0;

static void install_once(void) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) { install_errno = errno; return; }
    pipe_read = fds[0];
    pipe_write = fds[1];
    fcntl(pipe_write, F_SETFL, fcntl(pipe_write, F_GETFL) | O_NONBLOCK);

    park_signal = SIGRTMIN + 5;
    struct sigaction park;
    memset(&park, 0, sizeof park);
    park.sa_handler = on_park;
    sigfillset(&park.sa_mask);
    if (sigaction(park_signal, &park, NULL) != 0) { install_errno = errno; return; }

    // The cleanup thread takes no signals itself: it only reads the pipe.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&thread, &attr, cleanup_thread, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) { install_errno = rc; return; }

    const int handled[] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        struct sigaction previous;
        if (sigaction(handled[i], NULL, &previous) == 0 && previous.sa_handler == SIG_IGN) continue;  // nohup
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_termination;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        for (int j = 0; j < 3; j++) sigaddset(&sa.sa_mask, handled[j]);
        if (sigaction(handled[i], &sa, NULL) != 0) { install_errno = errno; return; }
    }
    // The thread that will write must be able to park.
    sigset_t unpark;
    sigemptyset(&unpark);
    sigaddset(&unpark, park_signal);
    pthread_sigmask(SIG_UNBLOCK, &unpark, NULL);
    install_result = 0;
}

int porter_signals_install(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_once);
    if (install_result != 0) errno = install_errno;
    return install_result;
}

int porter_signal_pending(void) { return pending_signal; }

void porter_signal_wait_if_pending(void) {
    if (!pending_signal) return;
    for (;;) pause();
}
