import Foundation
import PorterCore
#if canImport(Glibc)
import Glibc
#endif

/// Progress on standard error for long work: a single rewritten line, shown only when
/// standard error is a terminal. Redraws at most ten times a second.
public final class TerminalProgress: ProgressSink, @unchecked Sendable {
    private let lock = NSLock()
    private var label = ""
    private var total: Int64 = 0
    private var done: Int64 = 0
    private var lastDraw = Date.distantPast

    public init() {}

    /// A sink for the current process: terminal progress on a TTY unless `quiet`.
    public static func forStandardError(quiet: Bool) -> any ProgressSink {
        (!quiet && isatty(2) == 1) ? TerminalProgress() : SilentProgress()
    }

    public func begin(_ label: String, totalUnits: Int64) {
        lock.lock(); defer { lock.unlock() }
        self.label = label
        total = totalUnits
        done = 0
        draw(force: true)
    }

    public func advance(_ units: Int64) {
        lock.lock(); defer { lock.unlock() }
        done += units
        draw(force: false)
    }

    public func end() {
        lock.lock(); defer { lock.unlock() }
        draw(force: true)
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw(force: Bool) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let pct = total > 0 ? Int(done * 100 / total) : 0
        let line = "\r\u{1B}[2K\(label) \(pct)% (\(ByteCountText.format(Int(done))) of \(ByteCountText.format(Int(total))))"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Parses sizes like `500MB`, `5GB`, `10GiB`, `4096` (bytes).
public enum ByteSize {
    public static func parse(_ text: String) -> Int? {
        let t = text.trimmingCharacters(in: .whitespaces).uppercased()
        let units: [(String, Int)] = [("KIB", 1 << 10), ("MIB", 1 << 20), ("GIB", 1 << 30), ("TIB", 1 << 40),
                                      ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000), ("B", 1)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), v > 0 else { return nil }
            let bytes = v * Double(factor)
            return bytes < Double(Int.max) ? Int(bytes) : nil
        }
        guard let v = Int(t), v > 0 else { return nil }
        return v
    }
}
