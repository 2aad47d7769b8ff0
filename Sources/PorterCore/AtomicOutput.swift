import Synchronization
import Foundation
import CPorterSys
#if canImport(Glibc)
import Glibc
#endif

/// Makes output appear all at once: work happens in a hidden staging folder beside the
/// target, `.NAME.porter-XXXXXXXX.tmp/`, and its `NAME` is renamed over the target only
/// when everything succeeded. On failure the staging folder is removed, so nothing
/// half-written is ever left behind; whatever a writer or a library (libhdf5, libzip)
/// creates next to its output lands inside it too.
///
/// Interrupts: the staging folder is registered (`porter_signals.h`) while it exists, so
/// SIGINT, SIGTERM and SIGHUP remove it when the executable installed
/// `TerminationSignals`. A process killed outright (SIGKILL, power loss) cannot clean up:
/// each staging folder holds an exclusive `flock` for as long as its writer lives, and
/// `removeStaleTemporaries(of:)` removes the unlocked ones of a target and keeps the
/// locked ones (another process is still writing them).
///
/// `--force`: the target is replaced only by output of the same kind, and a folder only
/// when every entry in it is one the writer produces (`OutputLayout`); the swap is one
/// `renameat2(RENAME_EXCHANGE)` where the file system supports it.
///
/// Like `cp`, `torch.save` and `safetensors`, output is left to the page cache by
/// default: an error or a killed process never leaves a partial file, but a power cut
/// soon after may. With `syncToDisk` every written file and folder is fsynced before the
/// rename and the parent folder after it, so the new output survives a power cut too.
public enum AtomicOutput {
    /// Runs `body` with a temporary path beside `target`, then moves it into place.
    ///
    /// - Throws: `CoreError.outputExists` when `target` exists and `force` is false,
    ///   `OutputError` when `force` would delete something `layout` does not describe
    ///   (both checked before any work starts and again before the swap),
    ///   `CoreError.cannotWrite` when staging or a sync fails, or whatever `body` throws.
    public static func write<R>(to target: URL, force: Bool, layout: OutputLayout = .file(producer: "Porter"), syncToDisk: Bool = false,
                                _ body: (URL) throws -> R) throws -> R {
        let fm = FileManager.default
        let target = target.standardizedFileURL
        let targetPath = target.path
        if exists(targetPath) {
            guard force else { throw CoreError.outputExists(path: targetPath) }
            try layout.checkReplaceable(target)
        }
        let parent = target.deletingLastPathComponent()
        if !fm.fileExists(atPath: parent.path) {
            do { try fm.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
                throw CoreError.cannotWrite(path: parent.path, reason: error.localizedDescription)
            }
        }
        let staging = try Staging(for: target)
        defer { staging.discard() }
        let result = try body(staging.output)
        guard exists(staging.output.path) else {
            throw CoreError.cannotWrite(path: targetPath, reason: "the writer produced no output")
        }
        if syncToDisk { try DiskSync.tree(staging.output.path) }
        try staging.commit(to: target, force: force, layout: layout)
        if syncToDisk { try DiskSync.file(parent.path) }
        return result
    }

    /// The staging folder name for outputs named `name`: `.NAME.porter-XXXXXXXX.tmp`
    /// (NAME cut to 200 bytes so the name fits the file system's limit).
    static func stagingName(for name: String, id: String) -> String {
        ".\(stagingStem(name)).porter-\(id).tmp"
    }

    static func stagingStem(_ name: String) -> String {
        var stem = ""
        var bytes = 0
        for c in name {
            bytes += c.utf8.count
            if bytes > 200 { break }
            stem.append(c)
        }
        return stem
    }

    /// True when `path` exists (a dangling link counts).
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Removes the temporary outputs of `target` that earlier runs left behind (killed
    /// by SIGKILL, a power cut): every `.NAME.porter-XXXXXXXX.tmp` sibling that no
    /// process holds locked. Locked ones belong to a live writer and are kept.
    public static func removeStaleTemporaries(of target: URL) -> StaleTemporaries {
        let target = target.standardizedFileURL
        let parent = target.deletingLastPathComponent().path
        let prefix = "." + stagingStem(target.lastPathComponent) + ".porter-"
        var report = StaleTemporaries()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return report }
        for name in names.sorted() where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            let id = name.dropFirst(prefix.count).dropLast(4)
            guard id.utf8.count == 8, id.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x46) || ($0 >= 0x61 && $0 <= 0x66) }) else { continue }
            let path = parent + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let kind = st.st_mode & S_IFMT
            guard kind == S_IFDIR || kind == S_IFREG else { continue }  // never ours: a link, a FIFO
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
            guard fd >= 0 else { report.failed.append(.init(path: path, reason: posixMessage())); continue }
            defer { close(fd) }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                if errno == EWOULDBLOCK { report.kept.append(path) } else { report.failed.append(.init(path: path, reason: "flock: \(posixMessage())")) }
                continue
            }
            var bytes: Int64 = 0
            if porter_remove_tree(path, &bytes) == 0 {
                report.removed.append(.init(path: path, bytes: Int(bytes)))
            } else {
                report.failed.append(.init(path: path, reason: posixMessage()))
            }
        }
        return report
    }
}

/// What `AtomicOutput.removeStaleTemporaries(of:)` found.
public struct StaleTemporaries: Sendable, Equatable {
    public struct Removed: Sendable, Equatable {
        public var path: String
        /// Bytes of the files removed.
        public var bytes: Int
        public init(path: String, bytes: Int) { self.path = path; self.bytes = bytes }
    }
    public struct Failed: Sendable, Equatable {
        public var path: String
        public var reason: String
        public init(path: String, reason: String) { self.path = path; self.reason = reason }
    }
    /// Unlocked leftovers of earlier runs, removed.
    public var removed: [Removed] = []
    /// Locked by a live writer (another Porter process), kept.
    public var kept: [String] = []
    /// Could not be checked or removed (permissions), left as they are.
    public var failed: [Failed] = []

    public init() {}
    public var isEmpty: Bool { removed.isEmpty && kept.isEmpty && failed.isEmpty }
}

/// One staging folder: created locked and registered for the signal cleanup, committed
/// by rename, removed otherwise.
final class Staging {
    /// `.NAME.porter-XXXXXXXX.tmp`
    let folder: URL
    /// `folder/NAME`: what the writer writes.
    let output: URL
    private let lockFD: Int32
    private var slot: Int32
    private var discarded = false

    init(for target: URL) throws {
        let parent = target.deletingLastPathComponent()
        let name = target.lastPathComponent
        porter_registry_lock()
        defer { porter_registry_unlock() }
        for _ in 0..<16 {
            let id = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(8)).lowercased()
            let final = parent.appendingPathComponent(AtomicOutput.stagingName(for: name, id: id))
            // Made under another name and locked before it gets its real one, so no other
            // run's stale sweep ever sees it unlocked.
            let fresh = parent.appendingPathComponent("." + AtomicOutput.stagingStem(name) + ".porter-\(id).new")
            let slot = porter_temp_register_locked(fresh.path)
            guard slot >= 0 else {
                throw CoreError.cannotWrite(path: target.path, reason: "more than \(PORTER_TEMP_SLOTS) outputs at once, or the path is too long")
            }
            guard mkdir(fresh.path, 0o700) == 0 else {
                let e = errno
                porter_temp_unregister_locked(slot)
                if e == EEXIST { continue }
                throw CoreError.cannotWrite(path: fresh.path, reason: "cannot create the staging folder: \(posixMessage(e))")
            }
            let fd = open(fresh.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0, flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let reason = posixMessage()
                if fd >= 0 { close(fd) }
                rmdir(fresh.path)
                porter_temp_unregister_locked(slot)
                throw CoreError.cannotWrite(path: fresh.path, reason: "cannot lock the staging folder: \(reason)")
            }
            let taken = AtomicOutput.exists(final.path)
            guard !taken, rename(fresh.path, final.path) == 0 else {
                let e = taken ? EEXIST : errno
                close(fd)
                rmdir(fresh.path)
                porter_temp_unregister_locked(slot)
                if e == EEXIST || e == ENOTEMPTY { continue }
                throw CoreError.cannotWrite(path: final.path, reason: "cannot name the staging folder: \(posixMessage(e))")
            }
            _ = porter_temp_rename_locked(slot, final.path)
            self.folder = final
            self.output = final.appendingPathComponent(name)
            self.lockFD = fd
            self.slot = slot
            return
        }
        throw CoreError.cannotWrite(path: target.path, reason: "no free staging folder name")
    }

    /// Moves the output over `target` (checking `layout` once more when it exists).
    func commit(to target: URL, force: Bool, layout: OutputLayout) throws {
        porter_registry_lock()
        defer { porter_registry_unlock() }
        let targetPath = target.path
        guard AtomicOutput.exists(targetPath) else {
            guard rename(output.path, targetPath) == 0 else { throw CoreError.cannotWrite(path: targetPath, reason: posixMessage()) }
            return
        }
        guard force else { throw CoreError.outputExists(path: targetPath) }
        try layout.checkReplaceable(target)
        // One atomic swap: the old output ends up in the staging folder, removed with it.
        if porter_rename_exchange(output.path, targetPath) == 0 { return }
        guard errno == EINVAL || errno == ENOSYS || errno == ENOTSUP else { throw CoreError.cannotWrite(path: targetPath, reason: posixMessage()) }
        // No RENAME_EXCHANGE here: move the old output aside (into the staging folder) first,
        // so a failed rename loses nothing.
        let old = folder.appendingPathComponent(".old").path
        guard rename(targetPath, old) == 0 else { throw CoreError.cannotWrite(path: targetPath, reason: "cannot move the old output aside: \(posixMessage())") }
        guard rename(output.path, targetPath) == 0 else {
            let reason = posixMessage()
            _ = rename(old, targetPath)
            throw CoreError.cannotWrite(path: targetPath, reason: reason)
        }
    }

    /// Removes the staging folder (and with it a replaced old output), then unregisters it.
    func discard() {
        guard !discarded else { return }
        discarded = true
        _ = porter_remove_tree(folder.path, nil)
        porter_registry_lock()
        porter_temp_unregister_locked(slot)
        porter_registry_unlock()
        close(lockFD)
    }
}

/// fsync for files and folders, with errors that name the path. Every fsync Porter makes
/// goes through here (and only when the user asked: `--fsync`); `counting` lets a test
/// observe how many a piece of work made.
public enum DiskSync {
    /// Counts fsyncs made inside `DiskSync.counting`.
    public final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        public init() {}
        public var count: Int { value.load(ordering: .relaxed) }
        func add() { value.add(1, ordering: .relaxed) }
    }

    @TaskLocal static var observer: Counter?

    /// Runs `body` and returns what it returned with the number of fsyncs made in it (by
    /// this task: other tests running in parallel do not count).
    public static func counting<R>(_ body: () throws -> R) rethrows -> (result: R, syncs: Int) {
        let counter = Counter()
        let result = try $observer.withValue(counter) { try body() }
        return (result, counter.count)
    }

    /// Syncs a file, or a folder's files and subfolders (deepest first) and then the folder.
    static func tree(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        if isDirectory.boolValue {
            let children = try FileManager.default.contentsOfDirectory(atPath: path)
            for child in children.sorted() { try tree(path + "/" + child) }
        }
        try file(path)
    }

    /// fsync of one file or folder.
    static func file(_ path: String) throws {
        observer?.add()
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)  // NONBLOCK: a FIFO must not hang us
        guard fd >= 0 else { throw CoreError.cannotWrite(path: path, reason: "cannot open to sync: \(posixMessage())") }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL {
            throw CoreError.cannotWrite(path: path, reason: "fsync failed: \(posixMessage())")
        }
    }
}
