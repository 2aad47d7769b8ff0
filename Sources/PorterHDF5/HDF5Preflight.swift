import CHDF5Shim
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PorterCore

/// An optional pre-flight that lets libhdf5 parse a file's metadata in a child process
/// before Porter parses it in-process, so a file that crashes libhdf5 becomes
/// `HDF5Error.libraryCrashed` instead of killing the caller.
///
/// libhdf5 parses object headers, attribute messages and heaps itself; some corruptions
/// crash it before any API call returns (e.g. an attribute message whose data runs past its
/// header chunk, reached from `H5Aexists`). Those cannot be checked from outside the
/// library, so the only protection is isolation. The child runs the same reader
/// (`KerasH5Reader` / `KerasArchiveReader`) over the file — every group, attribute and
/// dataset header Porter touches, not tensor bytes — and exits; a child killed by a signal
/// means the file crashes libhdf5.
///
/// Off by default: a library user (tests, other hosts) is not necessarily an executable
/// that understands the child's argument. An executable opts in with
/// `enableSubprocess(executable:)` and routes `childArgument` to `runChild(arguments:)`
/// at the top of its `main`:
///
/// ```swift
/// if let status = HDF5Preflight.runChild(arguments: CommandLine.arguments) { exit(status) }
/// HDF5Preflight.enableSubprocess()
/// ```
public enum HDF5Preflight {
    /// The hidden first argument that makes an executable a pre-flight child:
    /// `<exe> --porter-internal-hdf5-preflight <format id> <file>`.
    public static let childArgument = "--porter-internal-hdf5-preflight"

    /// Exit status of a child that read the file, or hit a typed error (the parent then
    /// meets the same error in-process and reports it with its full context).
    static let childCompleted: Int32 = 0
    /// Exit status of a child given bad arguments.
    static let childUsage: Int32 = 64

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var executable: String?
    }
    private static let state = State()

    /// Runs the pre-flight in a child process of `executable` (default: this process's own
    /// executable, `/proc/self/exe`) for every HDF5 file read from now on.
    public static func enableSubprocess(executable: String = "/proc/self/exe") {
        state.lock.lock(); defer { state.lock.unlock() }
        state.executable = executable
    }

    /// Turns the pre-flight off (the default).
    public static func disable() {
        state.lock.lock(); defer { state.lock.unlock() }
        state.executable = nil
    }

    /// The executable the pre-flight runs, or nil when it is off.
    public static var executable: String? {
        state.lock.lock(); defer { state.lock.unlock() }
        return state.executable
    }

    /// What the pre-flight child may use: an address-space cap (`setrlimit(RLIMIT_AS)`, set
    /// by the child on itself before it opens anything) and a wall-clock limit (the parent
    /// kills the child with SIGKILL when it runs longer).
    public struct Limits: Sendable, Equatable {
        public var memoryBytes: UInt64
        public var seconds: Double

        public init(memoryBytes: UInt64, seconds: Double) {
            self.memoryBytes = memoryBytes
            self.seconds = seconds
        }

        /// Environment variables that override the defaults (bytes, optionally with a K/M/G
        /// suffix; seconds, decimals allowed).
        public static let memoryVariable = "PORTER_HDF5_PREFLIGHT_MEMORY"
        public static let timeVariable = "PORTER_HDF5_PREFLIGHT_TIMEOUT"
        /// The floor of the memory cap: Porter's own process (runtime, libhdf5) plus metadata work.
        public static let baseMemoryBytes: UInt64 = 2 << 30
        public static let defaultSeconds: Double = 30

        /// The defaults for a file of `fileSize` bytes: max(2 GiB, 4 × file size) of address
        /// space (the child maps the file and, for `.keras`, its extracted member), 30 s;
        /// each overridden by its environment variable when that is set and valid.
        public static func forFile(size fileSize: Int, environment: [String: String] = ProcessInfo.processInfo.environment) -> Limits {
            let (four, o) = UInt64(max(0, fileSize)).multipliedReportingOverflow(by: 4)
            var limits = Limits(memoryBytes: max(baseMemoryBytes, o ? UInt64.max : four), seconds: defaultSeconds)
            if let text = environment[memoryVariable], let bytes = parseBytes(text) { limits.memoryBytes = bytes }
            if let text = environment[timeVariable], let s = Double(text), s > 0, s.isFinite { limits.seconds = s }
            return limits
        }

        static func parseBytes(_ text: String) -> UInt64? {
            let t = text.trimmingCharacters(in: .whitespaces).uppercased()
            let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30]
            if let last = t.last, let unit = units[last], let n = UInt64(t.dropLast()) {
                let (v, o) = n.multipliedReportingOverflow(by: unit)
                return o || v == 0 ? nil : v
            }
            guard let n = UInt64(t), n > 0 else { return nil }
            return n
        }

        var memoryText: String { "address space of \(memoryBytes) bytes (\(String(format: "%.1f", Double(memoryBytes) / Double(1 << 30))) GiB); set \(Self.memoryVariable) to change it" }
        var timeText: String { "\(seconds) s of wall time; set \(Self.timeVariable) to change it" }
    }

    /// Exit status of a child whose libhdf5 ran out of its address-space cap.
    static let childMemoryLimit: Int32 = 66

    /// How errors name `url` read as `format`: a `.keras` archive's HDF5 is its member.
    static func label(_ url: URL, format: String) -> String {
        format == KerasArchiveReader().info.id ? KerasArchiveReader.memberLabel(url.path) : url.path
    }

    /// Called by the readers before libhdf5 opens `url` in-process. Throws
    /// `libraryCrashed` when the child died from a signal and `resourceLimit` when it ran out
    /// of memory or time.
    static func check(_ url: URL, format: String) throws {
        guard let exe = executable else { return }
        try check(url, format: format, executable: exe)
    }

    /// Runs one pre-flight of `url` in a child of `executable` now, whether or not the
    /// pre-flight is enabled, under `limits` (default: `Limits.forFile(size:)`).
    public static func check(_ url: URL, format: String, executable exe: String, limits: Limits? = nil) throws {
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        var limits = limits ?? Limits.forFile(size: size ?? 0)
        // The child inherits this process's hard limit; a lower one is the cap that applies.
        let inherited = porter_address_space_hard_limit()
        if inherited > 0, inherited < limits.memoryBytes { limits.memoryBytes = inherited }
        let name = label(url, format: format)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = [childArgument, format, url.path, String(limits.memoryBytes)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch {
            throw HDF5Error.operationFailed(file: name, path: "/", operation: "pre-flight child \(exe)", detail: error.localizedDescription)
        }
        if done.wait(timeout: .now() + limits.seconds) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            done.wait()
            throw HDF5Error.resourceLimit(file: name, resource: "time", limit: limits.timeText)
        }
        switch process.terminationReason {
        case .uncaughtSignal:
            throw HDF5Error.libraryCrashed(file: name, signal: process.terminationStatus)
        case .exit:
            switch process.terminationStatus {
            case childCompleted: return
            case childMemoryLimit: throw HDF5Error.resourceLimit(file: name, resource: "memory", limit: limits.memoryText)
            default:
                throw HDF5Error.operationFailed(file: name, path: "/", operation: "pre-flight child \(exe)",
                                                detail: "exited with status \(process.terminationStatus)")
            }
        @unknown default:
            return
        }
    }

    /// When `arguments` (`CommandLine.arguments`) ask for a pre-flight child, reads the
    /// file and returns the exit status to end the process with; otherwise nil.
    /// `<exe> --porter-internal-hdf5-preflight <format> <file> [<address-space bytes>]`: with
    /// the last argument the child caps its own address space before opening anything.
    public static func runChild(arguments: [String]) -> Int32? {
        guard arguments.count >= 2, arguments[1] == childArgument else { return nil }
        guard arguments.count == 4 || arguments.count == 5 else { return childUsage }
        let url = URL(fileURLWithPath: arguments[3])
        let reader: any ModelReader
        switch arguments[2] {
        case KerasH5Reader().info.id: reader = KerasH5Reader()
        case KerasArchiveReader().info.id: reader = KerasArchiveReader()
        default: return childUsage
        }
        if arguments.count == 5 {
            guard let bytes = UInt64(arguments[4]), bytes > 0, porter_limit_address_space(bytes) == 0 else { return childUsage }
        }
        // A typed error is the parent's to report; only surviving matters here — and whether
        // libhdf5 ran out of memory, which the parent must not retry in-process.
        do { _ = try reader.read(url, options: ReadOptions()) } catch {
            if porter_h5_saw_allocation_failure() != 0 { return childMemoryLimit }
        }
        return childCompleted
    }
}
