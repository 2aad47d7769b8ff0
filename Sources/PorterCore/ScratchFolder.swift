import Foundation
import CPorterSys
#if canImport(Glibc)
import Glibc
#endif

/// A private working folder under the temporary directory (`porter-NAME-XXXXXX`, mode
/// 0700), registered with the signal cleanup like `AtomicOutput`'s staging folders, so
/// SIGINT, SIGTERM and SIGHUP remove it too. `remove()` (or deinit) deletes it and all it
/// holds; files still open elsewhere stay readable until closed.
public final class ScratchFolder: @unchecked Sendable {
    public let url: URL
    private var slot: Int32
    private var removed = false

    /// Creates the folder. Throws `CoreError.cannotWrite` when it cannot be made.
    public init(purpose: String) throws {
        let base = FileManager.default.temporaryDirectory.path
        var template = Array("\(base)/porter-\(purpose)-XXXXXX".utf8CString)
        porter_registry_lock()
        defer { porter_registry_unlock() }
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw CoreError.cannotWrite(path: base, reason: "cannot create a scratch folder: \(posixMessage())") }
        let path = String(cString: template)
        let slot = porter_temp_register_locked(path)
        guard slot >= 0 else {
            rmdir(path)
            throw CoreError.cannotWrite(path: path, reason: "more than \(PORTER_TEMP_SLOTS) temporary folders at once, or the path is too long")
        }
        self.url = URL(fileURLWithPath: path, isDirectory: true)
        self.slot = slot
    }

    /// Deletes the folder and everything in it (idempotent).
    public func remove() {
        guard !removed else { return }
        removed = true
        _ = porter_remove_tree(url.path, nil)
        porter_registry_lock()
        porter_temp_unregister_locked(slot)
        porter_registry_unlock()
    }

    deinit { remove() }
}
