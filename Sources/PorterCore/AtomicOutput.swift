import Foundation

/// Makes output appear all at once: work happens at a hidden sibling path that is
/// renamed over the target only when everything succeeded. On failure the sibling is
/// removed, so nothing half-written is ever left behind.
public enum AtomicOutput {
    /// Runs `body` with a temporary sibling of `target`, then moves it into place.
    ///
    /// - Throws: `CoreError.outputExists` when `target` exists and `force` is false
    ///   (checked before any work starts), or whatever `body` throws.
    public static func write<R>(to target: URL, force: Bool, _ body: (URL) throws -> R) throws -> R {
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
            return result
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
    }
}
