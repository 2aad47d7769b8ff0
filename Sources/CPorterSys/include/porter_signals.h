#ifndef PORTER_SIGNALS_H
#define PORTER_SIGNALS_H
#include <stdint.h>
#include <sys/types.h>

/// Live temporary outputs and what happens to them on SIGINT, SIGTERM and SIGHUP.
///
/// The registry is a fixed table guarded by one mutex. `porter_signals_install` gives
/// the three signals a handler that only records the signal and writes one byte to a
/// pipe (async-signal-safe). A dedicated cleanup thread reads the pipe; it then takes the
/// registry mutex (so a rename into place finishes first), parks every thread that
/// registered a temporary output (a real-time signal whose handler sleeps forever, so
/// no writer creates files while they are removed), removes every registered path with
/// system calls only (no allocation: a parked thread may hold malloc's lock), and ends
/// the process with `_exit(128 + signal)`.

/// Maximum number of temporary outputs live at once.
#define PORTER_TEMP_SLOTS 32

/// Installs the handlers and starts the cleanup thread (once; later calls return 0).
/// A signal that was ignored when the process started (`nohup`) stays ignored.
/// Returns 0, or -1 with errno set.
int porter_signals_install(void);

/// The signal being handled (SIGINT, SIGTERM, SIGHUP), or 0.
int porter_signal_pending(void);

/// Blocks the calling thread forever when a termination signal is being handled, so
/// the cleanup thread decides the exit status; returns at once otherwise.
void porter_signal_wait_if_pending(void);

/// Takes / releases the registry mutex. Hold it around steps that must not be
/// interleaved with the signal cleanup (creating, renaming into place).
void porter_registry_lock(void);
void porter_registry_unlock(void);

/// Adds `path` (removed on a signal) for the calling thread; the registry mutex must be
/// held. Returns the slot, or -1 when the table is full or the path too long.
int porter_temp_register_locked(const char *path);
/// Replaces the path of `slot` (mutex held). Returns 0 or -1 when the path is too long.
int porter_temp_rename_locked(int slot, const char *path);
/// Forgets `slot` (mutex held).
void porter_temp_unregister_locked(int slot);

/// Removes a file or folder tree without following symbolic links, using only system
/// calls (safe from the cleanup thread). `bytes` (may be NULL) receives the sizes of
/// the regular files removed. Returns 0, or -1 with errno set; a missing path is 0.
int porter_remove_tree(const char *path, int64_t *bytes);

/// Sum of the sizes of the regular files under `path` (not following links), or -1.
int64_t porter_tree_bytes(const char *path);

/// renameat2(RENAME_EXCHANGE): swaps two paths atomically. Returns 0, or -1 with errno
/// (EINVAL / ENOSYS where the file system or kernel lacks it).
int porter_rename_exchange(const char *a, const char *b);

/// The calling thread's kernel id.
pid_t porter_gettid(void);

#endif
