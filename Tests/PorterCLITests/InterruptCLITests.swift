import Foundation
import PorterTestSupport
import PorterVerifier
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A `porter` child started with the pause hook (`PORTER_TEST_PAUSE_AFTER_BYTES`,
/// `PORTER_TEST_PAUSE_FILE`): it stops mid-write and says where, so interrupts are
/// driven by the hook, not by timing.
struct PausedPorter {
    let pid: pid_t
    /// The file the writer was writing when it paused.
    let writing: String

    /// Starts `porter arguments`, pausing after `bytes` bytes, and waits (up to 60 s) for
    /// the pause. SIGINT, SIGTERM and SIGHUP start at their defaults in the child, whatever
    /// the test runner ignores.
    static func start(_ arguments: [String], pauseAfter bytes: Int, marker: URL, log: URL) throws -> PausedPorter {
        let pid = try spawn([CLI.executable.path] + arguments, extraEnvironment: [
            "PORTER_TEST_PAUSE_AFTER_BYTES": String(bytes), "PORTER_TEST_PAUSE_FILE": marker.path,
        ], log: log)
        for _ in 0..<600 {
            if let text = try? String(contentsOf: marker, encoding: .utf8) {
                return PausedPorter(pid: pid, writing: text.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                throw PauseFailure(reason: "porter ended (status \(status)) before pausing: \(output)")
            }
            usleep(100_000)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, nil, 0)
        throw PauseFailure(reason: "porter did not pause within 60 s")
    }

    /// Sends `signal` and returns the exit status (nil when the child died from a signal
    /// instead of exiting). Kills the child after 30 s.
    func interrupt(_ signal: Int32) -> Int32? {
        kill(pid, signal)
        return wait()
    }

    func wait() -> Int32? {
        var status: Int32 = 0
        for _ in 0..<300 {
            if waitpid(pid, &status, WNOHANG) == pid {
                let exited = (status & 0x7f) == 0
                return exited ? (status >> 8) & 0xff : nil
            }
            usleep(100_000)
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, nil, 0)
        return nil
    }

    static func spawn(_ argv: [String], extraEnvironment: [String: String], log: URL) throws -> pid_t {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in extraEnvironment { env[k] = v }
        let envStrings = env.map { "\($0.key)=\($0.value)" }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = envStrings.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], &actions, &attr, cArgs, cEnv)
        guard rc == 0 else { throw PauseFailure(reason: "posix_spawn: \(String(cString: strerror(rc)))") }
        return pid
    }
}

struct PauseFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Interrupts and stale temporary outputs through the real binary (docs/cli.md, "Output
/// safety"; docs/security.md (output safety)).
/// `--config FILE` for `--to hf` (the sources here are bare state dicts with no config).
func hfConfig(_ format: String) -> [String] {
    format == "hf" ? ["--config", Fixtures.url("safetensors/hf/bert/config.json").path] : []
}

@Suite struct InterruptCLITests {
    static let source = Fixtures.url("pytorch/dtypes.pt").path

    /// Entries of `dir` other than the test's own marker and log files.
    static func listing(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix("test-") }.sorted()
    }

    /// SIGINT, SIGTERM and SIGHUP mid-write: exit 130 / 143 / 129 and nothing beside the
    /// target — for a file output, and for folder outputs whose writer had already made
    /// files inside the staging folder.
    @Test(arguments: [("safetensors", "out.safetensors", SIGINT), ("hf", "out-hf", SIGTERM), ("porter", "out-porter", SIGHUP),
                      ("pytorch", "out.pt", SIGINT), ("hf", "out-hf2", SIGHUP)])
    func interruptRemovesTemporaryOutput(format: String, name: String, signal: Int32) throws {
        let dir = try Fixtures.scratchDirectory("porter-interrupt")
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent(name)
        let porter = try PausedPorter.start(["convert", Self.source, "-o", target.path, "--to", format] + hfConfig(format),
                                            pauseAfter: 300, marker: dir.appendingPathComponent("test-paused"),
                                            log: dir.appendingPathComponent("test-log"))
        // It really stopped mid-write, inside a staging folder beside the target.
        let staging = try Self.listing(dir)
        #expect(staging.count == 1 && staging[0].hasPrefix(".\(name).porter-") && staging[0].hasSuffix(".tmp"), "\(staging)")
        #expect(porter.writing.hasPrefix(dir.path + "/" + (staging.first ?? "?") + "/"))
        #expect(FileManager.default.fileExists(atPath: porter.writing))
        let status = porter.interrupt(signal)
        #expect(status == 128 + signal)
        #expect(try Self.listing(dir) == [])
    }

    /// A temporary output left by SIGKILL is removed by the next run and reported; with
    /// `--quiet` the report is hidden.
    @Test func staleUnlockedTemporaryIsRemovedAndReported() throws {
        let dir = try Fixtures.scratchDirectory("porter-stale")
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("out-hf")
        let stale = try Self.leaveStale(target: target, in: dir)

        let run = try CLI.run(["convert", Self.source, "-o", target.path, "--to", "hf"] + hfConfig("hf"))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("removed \(DisplayPath.relative(stale))"), "\(run.stdout)")
        #expect(run.stdout.contains("left by an interrupted run"))
        #expect(try Self.listing(dir) == ["out-hf"])

        // Again with --quiet: removed, and nothing printed.
        let stale2 = try Self.leaveStale(target: target, in: dir, forceOver: true)
        let quiet = try CLI.run(["convert", Self.source, "-o", target.path, "--to", "hf", "--force", "--quiet"] + hfConfig("hf"))
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(quiet.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: stale2))
        #expect(try Self.listing(dir) == ["out-hf"])
    }

    /// A temporary output another process holds locked is kept (and said so); once the
    /// lock is gone the next run removes it.
    @Test func staleLockedTemporaryIsKept() throws {
        let dir = try Fixtures.scratchDirectory("porter-locked")
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("out.safetensors")
        let stale = try Self.leaveStale(target: target, in: dir)
        // The lock is held by a child process (flock(1), which becomes `sleep` holding it), as another porter would hold it.
        let holder = try PausedPorter.spawn(["/usr/bin/flock", "--exclusive", "--no-fork", stale, "/bin/sleep", "300"], extraEnvironment: [:],
                                            log: dir.appendingPathComponent("test-flock"))
        defer { kill(holder, SIGKILL); _ = waitpid(holder, nil, 0) }
        try Self.waitUntilLocked(stale)

        let run = try CLI.run(["convert", Self.source, "-o", target.path, "--to", "safetensors"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("kept \(stale): another process is writing it"), "\(run.stdout)")
        #expect(FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: target.path))

        kill(holder, SIGKILL)
        _ = waitpid(holder, nil, 0)
        let again = try CLI.run(["convert", Self.source, "-o", target.path, "--to", "safetensors", "--force"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("removed \(DisplayPath.relative(stale))"), "\(again.stdout)")
        #expect(try Self.listing(dir) == ["out.safetensors"])
    }

    /// Makes a real leftover: a conversion paused mid-write and killed with SIGKILL.
    static func leaveStale(target: URL, in dir: URL, forceOver: Bool = false) throws -> String {
        let marker = dir.appendingPathComponent("test-paused")
        try? FileManager.default.removeItem(at: marker)
        let before = Set(try listing(dir))
        let porter = try PausedPorter.start(["convert", source, "-o", target.path, "--to", target.pathExtension == "safetensors" ? "safetensors" : "hf"]
                                            + hfConfig(target.pathExtension == "safetensors" ? "safetensors" : "hf") + (forceOver ? ["--force"] : []),
                                            pauseAfter: 300, marker: marker, log: dir.appendingPathComponent("test-log"))
        #expect(porter.interrupt(SIGKILL) == nil)
        let left = Set(try listing(dir)).subtracting(before)
        try #require(left.count == 1, "SIGKILL left \(left)")
        return dir.appendingPathComponent(left.first!).path
    }

    /// Waits until another process holds `path` locked (LOCK_NB fails), up to 10 s.
    static func waitUntilLocked(_ path: String) throws {
        for _ in 0..<100 {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                let locked = flock(fd, LOCK_EX | LOCK_NB) != 0
                close(fd)
                if locked { return }
            }
            usleep(100_000)
        }
        throw PauseFailure(reason: "\(path) never got locked")
    }
}

/// `--force` replaces only what the writer writes (docs/cli.md, "Output safety").
@Suite struct ForceCLITests {
    static let source = Fixtures.url("pytorch/dtypes.pt").path

    /// A folder holding a file no writer produced survives `--force`, with a typed error
    /// naming the first such file and exit 1, for folder writers. (A file writer given an
    /// existing folder writes into it, see `FirstHourCLITests`.) `config.json` is an hf
    /// file, no other's.
    @Test(arguments: [("hf", "notes.txt"), ("porter", "config.json")])
    func foreignFolderSurvivesForce(format: String, firstForeign: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-force")
        defer { try? FileManager.default.removeItem(at: dir) }
        let mine = dir.appendingPathComponent("mydir")
        try FileManager.default.createDirectory(at: mine, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: mine.appendingPathComponent("notes.txt"))
        try Data("{}".utf8).write(to: mine.appendingPathComponent("config.json"))
        let run = try CLI.run(["convert", Self.source, "-o", mine.path, "--to", format, "--force"] + hfConfig(format))
        #expect(run.status == 1)
        #expect(run.stderr.contains("\(mine.path)/\(firstForeign)"), "\(run.stderr)")
        #expect(run.stderr.contains("nothing was deleted"))
        #expect(try String(contentsOf: mine.appendingPathComponent("notes.txt"), encoding: .utf8) == "keep me")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mine.path).sorted() == ["config.json", "notes.txt"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["mydir"])
    }

    /// Porter's own folder output is replaced by `--force`; a file is not replaced by a folder.
    @Test func ownOutputIsReplacedAndKindsDoNotMix() throws {
        let dir = try Fixtures.scratchDirectory("porter-force")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("model")
        #expect(try CLI.run(["convert", Self.source, "-o", out.path, "--to", "hf"] + hfConfig("hf")).status == 0)
        let again = try CLI.run(["convert", Self.source, "-o", out.path, "--to", "hf", "--force"] + hfConfig("hf"))
        #expect(again.status == 0, "\(again.stderr)")
        // A nested foreign file in the porter form's assets/ folder blocks replacement too.
        let porterOut = dir.appendingPathComponent("pform")
        #expect(try CLI.run(["convert", Self.source, "-o", porterOut.path, "--to", "porter"]).status == 0)
        try FileManager.default.createDirectory(at: porterOut.appendingPathComponent("assets"), withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: porterOut.appendingPathComponent("assets/todo.md"))
        let nested = try CLI.run(["convert", Self.source, "-o", porterOut.path, "--to", "porter", "--force"])
        #expect(nested.status == 1)
        #expect(nested.stderr.contains("\(porterOut.path)/assets/todo.md"), "\(nested.stderr)")

        let file = dir.appendingPathComponent("weights.bin")
        try Data("user bytes".utf8).write(to: file)
        let run = try CLI.run(["convert", Self.source, "-o", file.path, "--to", "hf", "--force"] + hfConfig("hf"))
        #expect(run.status == 1)
        #expect(run.stderr.contains("\(file.path) is a file"), "\(run.stderr)")
        #expect(try Data(contentsOf: file) == Data("user bytes".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["model", "pform", "weights.bin"])
    }
}
