import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Makes output appear all at once: work happens at a hidden sibling path that is
/// renamed over the target only when everything succeeded. On failure the sibling is
/// removed, so nothing half-written is ever left behind.
///
/// Like `cp`, `torch.save` and `safetensors`, output is left to the page cache by
/// default: an error or a killed process never leaves a partial file, but a power cut
/// soon after may. With `syncToDisk` every written file and folder is fsynced before the
/// rename and the parent folder after it, so the new output survives a power cut too.
public enum AtomicOutput {
    /// Runs `body` with a temporary sibling of `target`, then moves it into place.
    ///
    /// - Throws: `CoreError.outputExists` when `target` exists and `force` is false
    ///   (checked before any work starts), `CoreError.cannotWrite` when a sync fails,
    ///   or whatever `body` throws.
    public static func write<R>(to target: URL, force: Bool, syncToDisk: Bool = false, _ body: (URL) throws -> R) throws -> R {
        let fm = FileManager.default
        let targetPath = target.standardizedFileURL.path
        if fm.fileExists(atPath: targetPath) && !force {
            throw CoreError.outputExists(path: target.path)
        }
        let parent = target.standardizedFileURL.deletingLastPathComponent()
        if !fm.fileExists(atPath: parent.path) {
            do { try fm.createDirectory(at: parent, withIntermediateDirectories: true) } catch {
                throw CoreError.cannotWrite(path: parent.path, reason: error.localizedDescription)
            }
        }
        let temp = parent.appendingPathComponent(".\(target.lastPathComponent).porter-\(UUID().uuidString.prefix(8)).tmp")
        do {
            let result = try body(temp)
            guard fm.fileExists(atPath: temp.path) else {
                throw CoreError.cannotWrite(path: target.path, reason: "the writer produced no output")
            }
            if syncToDisk { try DiskSync.tree(temp.path) }
            if fm.fileExists(atPath: targetPath) {
                // --force: move the old output aside first so a failed rename loses nothing.
                let old = parent.appendingPathComponent(".\(target.lastPathComponent).porter-old-\(UUID().uuidString.prefix(8))")
                try fm.moveItem(atPath: targetPath, toPath: old.path)
                do { try fm.moveItem(at: temp, to: URL(fileURLWithPath: targetPath)) } catch {
                    try? fm.moveItem(at: old, to: URL(fileURLWithPath: targetPath))
                    throw error
                }
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: temp, to: URL(fileURLWithPath: targetPath))
            }
            if syncToDisk { try DiskSync.file(parent.path) }
            return result
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
    }
}

/// fsync for files and folders, with errors that name the path.
enum DiskSync {
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
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)  // NONBLOCK: a FIFO must not hang us
        guard fd >= 0 else { throw CoreError.cannotWrite(path: path, reason: "cannot open to sync: \(posixMessage())") }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL {
            throw CoreError.cannotWrite(path: path, reason: "fsync failed: \(posixMessage())")
        }
    }
}
