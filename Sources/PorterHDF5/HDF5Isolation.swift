import CHDF5Shim
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import PorterCore
import PorterNeutralFormat

/// Runs every libhdf5 read of an input file in a child process, so nothing libhdf5 does
/// with a file's bytes happens in the process that writes Porter's outputs.
///
/// libhdf5 parses object headers, attribute messages, heaps and chunk indexes itself, and
/// Debian's 1.10 has memory errors on corrupt files that Porter cannot check from outside
/// the library: some crash it (an attribute message whose data runs past its header
/// chunk), others read past a heap buffer without crashing (found by `fuzz-hdf5`). A
/// pre-flight that only watched a child for crashes therefore did not protect the parent,
/// which then parsed the same file in-process. Now the child does the whole read — the
/// reader (`KerasH5Reader` / `KerasArchiveReader`, shards included), every tensor's bytes,
/// or the hazard walk of `porter scan` — and hands the result back as a Porter model
/// folder (`model.json` + safetensors, read by Porter's own bounds-checked parsers) in a
/// private scratch folder. A child killed by a signal becomes `HDF5Error.libraryCrashed`;
/// one over its memory or time cap `HDF5Error.resourceLimit`; a typed error in the child
/// reaches the user with the child's message (`HDF5Error.reported`).
///
/// Off by default: a library user (tests, other hosts) is not necessarily an executable
/// that understands the child's argument, and then reads in-process as before. An
/// executable opts in with `enableSubprocess(executable:)` and routes `childArgument` to
/// `runChild(arguments:)` at the top of its `main`:
///
/// ```swift
/// if let status = HDF5Isolation.runChild(arguments: CommandLine.arguments) { exit(status) }
/// HDF5Isolation.enableSubprocess()
/// ```
public enum HDF5Isolation {
    /// The hidden first argument that makes an executable an HDF5 reader child:
    /// `<exe> --porter-internal-hdf5-read <read|hazards> <format id> <file> <result folder>
    /// <address-space bytes> [KEY=VALUE read options…]`.
    public static let childArgument = "--porter-internal-hdf5-read"

    /// What a child is asked to do.
    public enum Task: String, Sendable {
        /// Read the model and write it to the result folder as a Porter model folder.
        case read
        /// Walk the file for hazards and write them to `hazards.json`.
        case hazards
    }

    /// Exit status of a child that wrote its result.
    static let childCompleted: Int32 = 0
    /// Exit status of a child given bad arguments.
    static let childUsage: Int32 = 64
    /// Exit status of a child that met a typed error and wrote its message to `error.txt`.
    static let childReportedError: Int32 = 65
    /// Exit status of a child whose libhdf5 ran out of its address-space cap.
    static let childMemoryLimit: Int32 = 66

    static let modelFolder = "model"
    static let hazardsFile = "hazards.json"
    static let errorFile = "error.txt"
    /// The longest error message a child may hand back.
    static let maxErrorBytes = 64 << 10
    /// The largest hazard list a child may hand back.
    static let maxHazardsBytes = 16 << 20

    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var executable: String?
    }
    private static let state = State()

    /// Reads every HDF5 file in a child process of `executable` (default: this process's
    /// own executable, `/proc/self/exe`) from now on.
    public static func enableSubprocess(executable: String = "/proc/self/exe") {
        state.lock.lock(); defer { state.lock.unlock() }
        state.executable = executable
    }

    /// Turns isolation off (the default): HDF5 files are read in-process.
    public static func disable() {
        state.lock.lock(); defer { state.lock.unlock() }
        state.executable = nil
    }

    /// The executable the children run, or nil when isolation is off.
    public static var executable: String? {
        state.lock.lock(); defer { state.lock.unlock() }
        return state.executable
    }

    /// What a child may use: an address-space cap (`setrlimit(RLIMIT_AS)`, set by the child on
    /// itself before it opens anything) and a wall-clock limit (the parent kills the child with
    /// SIGKILL when it runs longer).
    public struct Limits: Sendable, Equatable {
        public var memoryBytes: UInt64
        public var seconds: Double

        public init(memoryBytes: UInt64, seconds: Double) {
            self.memoryBytes = memoryBytes
            self.seconds = seconds
        }

        /// Environment variables that override the defaults (bytes, optionally with a K/M/G
        /// suffix; seconds, decimals allowed).
        public static let memoryVariable = "PORTER_HDF5_CHILD_MEMORY"
        public static let timeVariable = "PORTER_HDF5_CHILD_TIMEOUT"
        /// The floor of the memory cap: Porter's own process (runtime, libhdf5) plus metadata work.
        public static let baseMemoryBytes: UInt64 = 2 << 30
        /// The floor of the time limit.
        public static let defaultSeconds: Double = 30
        /// The time limit grows by a second for each this many bytes of file (the child
        /// copies every tensor out).
        public static let bytesPerSecond: Double = 16 * 1024 * 1024

        /// The defaults for a file of `fileSize` bytes: max(2 GiB, 4 × file size) of address
        /// space (the child maps the file and, for `.keras`, its extracted member), and 30 s
        /// plus 1 s per 16 MiB; each overridden by its environment variable when that is set
        /// and valid.
        public static func forFile(size fileSize: Int, environment: [String: String] = ProcessInfo.processInfo.environment) -> Limits {
            let size = UInt64(max(0, fileSize))
            let (four, o) = size.multipliedReportingOverflow(by: 4)
            var limits = Limits(memoryBytes: max(baseMemoryBytes, o ? UInt64.max : four),
                                seconds: defaultSeconds + Double(size) / bytesPerSecond)
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

    /// How errors name `url` read as `format`: a `.keras` archive's HDF5 is its member.
    static func label(_ url: URL, format: String) -> String {
        format == KerasArchiveReader().info.id ? KerasArchiveReader.memberLabel(url.path) : url.path
    }

    /// Reads `url` as `format` in a child of `executable` (see the type's notes) under
    /// `limits` (default: `Limits.forFile(size:)`).
    public static func read(_ url: URL, format: String, options: ReadOptions = ReadOptions(), executable exe: String,
                            limits: Limits? = nil) throws -> NeutralModel {
        try run(.read, url, format: format, options: options, executable: exe, limits: limits) { scratch in
            try PorterModelReader().read(scratch.appendingPathComponent(modelFolder))
        }
    }

    /// The hazards of `url` (`HDF5Hazards.scan`), found in a child of `executable`.
    public static func hazards(_ url: URL, format: String, executable exe: String, limits: Limits? = nil) throws -> [String] {
        try run(.hazards, url, format: format, options: ReadOptions(), executable: exe, limits: limits) { scratch in
            let file = try OpenFile(path: scratch.appendingPathComponent(hazardsFile).path)
            guard file.size <= maxHazardsBytes else {
                throw HDF5Error.operationFailed(file: label(url, format: format), path: "/", operation: "hazard scan", detail: "the reader process returned more than \(maxHazardsBytes) bytes")
            }
            let json = try JSONValue.parse(Data(try file.read(offset: 0, count: file.size)))
            guard let list = json.arrayValue?.compactMap(\.stringValue), list.count == json.arrayValue?.count else {
                throw HDF5Error.operationFailed(file: label(url, format: format), path: "/", operation: "hazard scan", detail: "the reader process returned no list of hazards")
            }
            return list
        }
    }

    /// The bytes the child reads for `url`: the file, or for a folder or shard index the
    /// `.h5` files beside it.
    static func inputBytes(_ url: URL) -> Int {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return 0 }
        let folder: URL
        if isDirectory.boolValue { folder = url } else if url.lastPathComponent.hasSuffix(TFShardIndex.fileName) {
            folder = url.deletingLastPathComponent()
        } else {
            return (try? fm.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        }
        let names = (try? fm.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".h5") }.reduce(0) { total, name in
            let size = (try? fm.attributesOfItem(atPath: folder.appendingPathComponent(name).path)[.size] as? Int) ?? 0
            return total.addingReportingOverflow(size).overflow ? Int.max : total + size
        }
    }

    /// Runs one child for `task` and hands its scratch folder to `collect` once it exited
    /// cleanly; the folder is removed afterwards whatever happens (files `collect` keeps
    /// open stay readable).
    static func run<R>(_ task: Task, _ url: URL, format: String, options: ReadOptions, executable exe: String, limits: Limits?,
                       collect: (URL) throws -> R) throws -> R {
        var limits = limits ?? Limits.forFile(size: inputBytes(url))
        // The child inherits this process's hard limit; a lower one is the cap that applies.
        let inherited = porter_address_space_hard_limit()
        if inherited > 0, inherited < limits.memoryBytes { limits.memoryBytes = inherited }
        let name = label(url, format: format)
        let scratch = try ScratchFolder(purpose: "hdf5")
        defer { scratch.remove() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = [childArgument, task.rawValue, format, url.path, scratch.url.path, String(limits.memoryBytes)]
            + options.extra.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\($0.value)" }
        // The interrupt tests' pause hook counts this process's output bytes, not the child's.
        var environment = ProcessInfo.processInfo.environment
        for key in ["PORTER_TEST_PAUSE_AFTER_BYTES", "PORTER_TEST_PAUSE_FILE"] { environment[key] = nil }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch {
            throw HDF5Error.operationFailed(file: name, path: "/", operation: "reader process \(exe)", detail: error.localizedDescription)
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
            case childCompleted: return try collect(scratch.url)
            case childMemoryLimit: throw HDF5Error.resourceLimit(file: name, resource: "memory", limit: limits.memoryText)
            case childReportedError:
                let message = (try? OpenFile(path: scratch.url.appendingPathComponent(errorFile).path)).flatMap { f in
                    try? f.read(offset: 0, count: min(f.size, maxErrorBytes))
                }.map { String(decoding: $0, as: UTF8.self) }
                throw HDF5Error.reported(file: name, message: message ?? "the reader process failed without saying why")
            default:
                throw HDF5Error.operationFailed(file: name, path: "/", operation: "reader process \(exe)",
                                                detail: "exited with status \(process.terminationStatus)")
            }
        @unknown default:
            throw HDF5Error.operationFailed(file: name, path: "/", operation: "reader process \(exe)", detail: "ended in an unknown way")
        }
    }

    /// When `arguments` (`CommandLine.arguments`) ask for a reader child, does its task and
    /// returns the exit status to end the process with; otherwise nil.
    public static func runChild(arguments: [String]) -> Int32? {
        guard arguments.count >= 2, arguments[1] == childArgument else { return nil }
        guard arguments.count >= 7, let task = Task(rawValue: arguments[2]),
              let bytes = UInt64(arguments[6]), bytes > 0 else { return childUsage }
        let reader: any ModelReader
        switch arguments[3] {
        case KerasH5Reader().info.id: reader = KerasH5Reader()
        case KerasArchiveReader().info.id: reader = KerasArchiveReader()
        default: return childUsage
        }
        var extra: [String: String] = [:]
        for pair in arguments.dropFirst(7) {
            guard let eq = pair.firstIndex(of: "=") else { return childUsage }
            extra[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        // Ends with the parent, and with a capped address space before it opens anything.
        guard porter_die_with_parent() == 0, porter_limit_address_space(bytes) == 0 else { return childUsage }
        let url = URL(fileURLWithPath: arguments[4])
        let result = URL(fileURLWithPath: arguments[5], isDirectory: true)
        return work(task, reader: reader, url: url, options: ReadOptions(extra: extra), result: result)
    }

    /// The child's task, in this process: writes the result into `result` and returns the
    /// exit status (`childCompleted`, `childReportedError` or `childMemoryLimit`).
    public static func work(_ task: Task, reader: any ModelReader, url: URL, options: ReadOptions, result: URL) -> Int32 {
        do {
            switch task {
            case .read:
                let model = try reader.read(url, options: options)
                try PorterModelWriter().write(model, to: result.appendingPathComponent(modelFolder), options: WriteOptions())
            case .hazards:
                guard let checker = reader as? any HazardChecking else { return childUsage }
                let list = try checker.hazards(of: url).map { JSONValue.string($0) }
                try JSONValue.array(list).encoded(pretty: false).write(to: result.appendingPathComponent(hazardsFile))
            }
            return childCompleted
        } catch {
            if porter_h5_saw_allocation_failure() != 0 { return childMemoryLimit }
            let message = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            try? Data(message.utf8.prefix(maxErrorBytes)).write(to: result.appendingPathComponent(errorFile))
            return childReportedError
        }
    }
}

/// The `porter` binary reads every HDF5 input (`.h5`, `.keras`, `tf_model.h5`) in a reader
/// child (`HDF5Isolation`); the `.h5` reader answers the child invocation for all of them.
extension KerasH5Reader: ChildProcessReading {
    public func runChild(arguments: [String]) -> Int32? { HDF5Isolation.runChild(arguments: arguments) }
    public func enableChildProcesses(executable: String) { HDF5Isolation.enableSubprocess(executable: executable) }
}
