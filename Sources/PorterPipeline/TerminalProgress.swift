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
        let line = "\r\u{1B}[2K\(label) \(pct)%"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Passes progress on with one name in labels replaced (a temporary path by the real one).
struct RenamingProgress: ProgressSink {
    let base: any ProgressSink
    let from: String
    let to: String

    init(_ base: any ProgressSink, from: String, to: String) {
        self.base = base
        self.from = from
        self.to = to
    }

    func begin(_ label: String, totalUnits: Int64) { base.begin(label.replacingOccurrences(of: from, with: to), totalUnits: totalUnits) }
    func advance(_ units: Int64) { base.advance(units) }
    func end() { base.end() }
}

/// Parses sizes like `500MB`, `5GB`, `10GiB`, `4096` (bytes).
public enum ByteSize {
    public static func parse(_ text: String) -> Int? { FormatOption.parseSize(text) }
}
