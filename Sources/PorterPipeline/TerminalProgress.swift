import Foundation
import PorterCore
#if canImport(Glibc)
import Glibc
#endif

/// What a progress phase counts: bytes (writing, verifying weights) or items (tensors
/// indexed, forward passes run). Writers report bytes; readers report their own items.
public enum ProgressUnit: Sendable, Equatable {
    case bytes, items
}

/// A sink that can be told what the units of a phase are. Sinks that are not get the
/// plain `begin(_:totalUnits:)`.
public protocol UnitProgressSink: ProgressSink {
    func begin(_ label: String, totalUnits: Int64, unit: ProgressUnit)
}

extension ProgressSink {
    /// Begins a phase in `unit`, telling the sink the unit when it can take it.
    public func begin(_ label: String, totalUnits: Int64, unit: ProgressUnit) {
        if let s = self as? any UnitProgressSink { s.begin(label, totalUnits: totalUnits, unit: unit) } else { begin(label, totalUnits: totalUnits) }
    }
}

/// Progress on standard error for long work: a single rewritten line with what is done
/// of the total, the rate and the time left (bytes: `writing model.safetensors  1.2 MB /
/// 4.8 MB  25%  3.0 MB/s  ETA 1s`), shown only when standard error is a terminal (or
/// `PORTER_PROGRESS=always`). Redraws at most ten times a second; the last draw of a
/// phase says how long it took.
public final class TerminalProgress: UnitProgressSink, @unchecked Sendable {
    private let lock = NSLock()
    private var label = ""
    private var unit = ProgressUnit.bytes
    private var total: Int64 = 0
    private var done: Int64 = 0
    private var started = 0.0
    private var lastDraw = -Double.infinity
    private let clock: @Sendable () -> Double
    private let output: @Sendable (String) -> Void
    private let minimumInterval: Double

    /// `clock` gives seconds (monotonic); `output` receives each redraw.
    public init(clock: @escaping @Sendable () -> Double = TerminalProgress.monotonicSeconds,
                output: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) },
                minimumInterval: Double = 0.1) {
        self.clock = clock
        self.output = output
        self.minimumInterval = minimumInterval
    }

    /// A sink for the current process: terminal progress on a TTY unless `quiet`.
    /// `PORTER_PROGRESS=always` draws even when standard error is no terminal and
    /// `never` never draws (tests, logs); `PORTER_PROGRESS_CLOCK=step:S` replaces the
    /// clock by one that advances S seconds at each reading, so rate and ETA are
    /// reproducible (tests only).
    public static func forStandardError(quiet: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> any ProgressSink {
        guard !quiet else { return SilentProgress() }
        switch environment["PORTER_PROGRESS"] {
        case "always"?: break
        case "never"?: return SilentProgress()
        default: guard isatty(2) == 1 else { return SilentProgress() }
        }
        if let spec = environment["PORTER_PROGRESS_CLOCK"], spec.hasPrefix("step:"), let step = Double(spec.dropFirst(5)), step > 0 {
            let ticks = SteppingClock(step: step)
            return TerminalProgress(clock: { ticks.next() }, minimumInterval: 0)
        }
        return TerminalProgress()
    }

    public static let monotonicSeconds: @Sendable () -> Double = {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public func begin(_ label: String, totalUnits: Int64) { begin(label, totalUnits: totalUnits, unit: .bytes) }

    public func begin(_ label: String, totalUnits: Int64, unit: ProgressUnit) {
        lock.lock(); defer { lock.unlock() }
        self.label = label
        self.unit = unit
        total = totalUnits
        done = 0
        started = clock()
        lastDraw = -Double.infinity
        draw(force: true, finished: false)
    }

    public func advance(_ units: Int64) {
        lock.lock(); defer { lock.unlock() }
        done += units
        draw(force: false, finished: false)
    }

    public func end() {
        lock.lock(); defer { lock.unlock() }
        draw(force: true, finished: true)
        output("\n")
    }

    private func draw(force: Bool, finished: Bool) {
        let now = clock()
        guard force || now - lastDraw >= minimumInterval else { return }
        lastDraw = now
        output("\r\u{1B}[2K" + Self.line(label: label, done: done, total: total, unit: unit, elapsed: now - started, finished: finished))
    }

    /// One progress line (without the carriage return and erase that precede it).
    public static func line(label: String, done: Int64, total: Int64, unit: ProgressUnit, elapsed: Double, finished: Bool) -> String {
        var parts = [label]
        // A phase of no known size (reading an index) shows its label and, at the end, its time.
        if total == 0 && done == 0 { return (parts + (finished ? ["in " + duration(elapsed)] : [])).joined(separator: "  ") }
        let count: (Int64) -> String = { unit == .bytes ? ByteCountText.format(Int($0)) : String($0) }
        parts.append(total > 0 ? "\(count(done)) / \(count(total))" : count(done))
        if total > 0 { parts.append("\(min(100, max(0, done * 100 / total)))%") }
        let rate = elapsed > 0 ? Double(done) / elapsed : nil
        if unit == .bytes, let rate { parts.append(ByteCountText.format(Int(rate)) + "/s") }
        if finished {
            parts.append("in " + duration(elapsed))
        } else if let rate, rate > 0, total > done {
            parts.append("ETA " + duration(Double(total - done) / rate))
        } else if total > done {
            parts.append("ETA –")
        }
        return parts.joined(separator: "  ")
    }

    /// `0.4s`, `12s`, `2m05s`, `1h02m`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "–" }
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}

/// A clock for tests: each reading is `step` seconds after the previous one.
final class SteppingClock: @unchecked Sendable {
    private let lock = NSLock()
    private var now = 0.0
    private let step: Double
    init(step: Double) { self.step = step }
    func next() -> Double {
        lock.lock(); defer { lock.unlock() }
        now += step
        return now
    }
}

/// Passes progress on with one name in labels replaced (a temporary path by the real one),
/// counting in `unit` (writers report bytes).
struct RenamingProgress: ProgressSink {
    let base: any ProgressSink
    let from: String
    let to: String
    let unit: ProgressUnit

    init(_ base: any ProgressSink, from: String, to: String, unit: ProgressUnit = .bytes) {
        self.base = base
        self.from = from
        self.to = to
        self.unit = unit
    }

    func begin(_ label: String, totalUnits: Int64) {
        base.begin(label.replacingOccurrences(of: from, with: to), totalUnits: totalUnits, unit: unit)
    }
    func advance(_ units: Int64) { base.advance(units) }
    func end() { base.end() }
}

/// Passes progress on, counting in `unit` (readers report their own items).
struct CountingProgress: ProgressSink {
    let base: any ProgressSink
    let unit: ProgressUnit

    func begin(_ label: String, totalUnits: Int64) { base.begin(label, totalUnits: totalUnits, unit: unit) }
    func advance(_ units: Int64) { base.advance(units) }
    func end() { base.end() }
}

/// Parses sizes like `500MB`, `5GB`, `10GiB`, `4096` (bytes).
public enum ByteSize {
    public static func parse(_ text: String) -> Int? { FormatOption.parseSize(text) }
}
