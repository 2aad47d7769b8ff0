import Foundation
import CPorterSys
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT, SIGTERM and SIGHUP for an executable that writes outputs through
/// `AtomicOutput`: every live temporary output is removed and the process exits with
/// 128 + the signal (130, 143, 129). The handlers only record the signal and wake a
/// cleanup thread (`porter_signals.c`); see `docs/security.md (output safety)`.
///
/// Libraries and tests need not install anything: temporary outputs are registered
/// either way, and without the handlers a signal ends the process as it always does.
public enum TerminationSignals {
    /// Installs the handlers and the cleanup thread (idempotent). A signal ignored when
    /// the process started (`nohup`) stays ignored.
    public static func install() throws {
        guard porter_signals_install() == 0 else {
            throw CoreError.storageFailed(source: "signal handlers", reason: posixMessage())
        }
    }

    /// The signal being handled, or nil.
    public static var pending: Int32? {
        let s = porter_signal_pending()
        return s == 0 ? nil : s
    }

    /// Exits with `status`, unless a termination signal is being handled: then the
    /// cleanup thread removes the temporary outputs and picks the exit status.
    public static func exit(_ status: Int32) -> Never {
        porter_signal_wait_if_pending()
        Glibc.exit(status)
    }
}

/// The interrupt tests' hook: with `PORTER_TEST_PAUSE_AFTER_BYTES=N` and
/// `PORTER_TEST_PAUSE_FILE=path` set, `OutputFile` stops once N bytes have been written
/// in this process, writes the path of the file it was writing to `path`, and sleeps
/// until a signal ends the process. Both variables are needed; without them this does
/// nothing.
enum TestPause {
    private static let limit: (bytes: Int, marker: String)? = {
        let env = ProcessInfo.processInfo.environment
        guard let n = env["PORTER_TEST_PAUSE_AFTER_BYTES"].flatMap(Int.init), n >= 0,
              let marker = env["PORTER_TEST_PAUSE_FILE"], !marker.isEmpty else { return nil }
        return (n, marker)
    }()

    private final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var written = 0
    }
    private static let counter = Counter()

    /// How many of `count` bytes may be written now (all of them when the hook is off).
    static func allowance(_ count: Int) -> Int {
        guard let limit else { return count }
        counter.lock.lock(); defer { counter.lock.unlock() }
        return max(0, min(count, limit.bytes - counter.written))
    }

    /// Records `count` written bytes to `path`; pauses for good once the limit is reached.
    static func wrote(_ count: Int, to path: String) {
        guard let limit else { return }
        counter.lock.lock()
        counter.written += count
        let reached = counter.written >= limit.bytes
        counter.lock.unlock()
        guard reached else { return }
        try? Data((path + "\n").utf8).write(to: URL(fileURLWithPath: limit.marker + ".part"))
        _ = rename(limit.marker + ".part", limit.marker)  // the marker appears whole
        while true { sleep(1000) }
    }
}
