#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Plumbing shared by the harnesses: the readers under test take files, as the pipeline
/// gives them, so each input is written to a file in a per-process scratch folder on
/// /dev/shm (memory, not disk) and the reader is handed its URL.
public enum FuzzInput {
    /// `/dev/shm/porter-fuzz-<pid>` (or `$TMPDIR` when /dev/shm is missing), removed at exit.
    public static let scratch: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: base).appendingPathComponent("porter-fuzz-\(getpid())")
        try? FileManager.default.removeItem(at: url)
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: FuzzInput.scratch) }
        return url
    }()

    /// The repository's `fixtures/` folder (found from this file's own path at build time),
    /// for harnesses whose input needs fixed sibling files.
    public static let fixtures: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures")

    /// Writes `size` bytes at `data` to `relative` inside the scratch folder (creating its
    /// folders) and returns the file's URL.
    @discardableResult
    public static func write(_ data: UnsafePointer<UInt8>, _ size: Int, to relative: String) -> URL {
        let url = scratch.appendingPathComponent(relative)
        let folder = url.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: folder.path) {
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "cannot create \(url.path)")
        var done = 0
        while done < size {
            let n = Glibc.write(fd, data + done, size - done)
            precondition(n > 0, "cannot write \(url.path)")
            done += n
        }
        close(fd)
        return url
    }

    /// Copies a fixture file into the scratch folder once (for fixed siblings of the input).
    public static func copyFixture(_ fixture: String, to relative: String) {
        let source = fixtures.appendingPathComponent(fixture)
        let target = scratch.appendingPathComponent(relative)
        try? FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: target)
        do { try FileManager.default.copyItem(at: source, to: target) } catch {
            fatalError("fuzz harness setup: cannot copy fixture \(source.path): \(error)")
        }
    }

    /// The input as a byte array.
    public static func bytes(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: data, count: size))
    }
}
