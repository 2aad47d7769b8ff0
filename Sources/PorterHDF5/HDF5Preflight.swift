import Foundation
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

    /// Called by the readers before libhdf5 opens `url` in-process. Throws
    /// `libraryCrashed` when the child died from a signal.
    static func check(_ url: URL, format: String) throws {
        guard let exe = executable else { return }
        try check(url, format: format, executable: exe)
    }

    /// Runs one pre-flight of `url` in a child of `executable` now, whether or not the
    /// pre-flight is enabled. Throws `libraryCrashed` when the child died from a signal.
    public static func check(_ url: URL, format: String, executable exe: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = [childArgument, format, url.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw HDF5Error.operationFailed(file: url.path, path: "/", operation: "pre-flight child \(exe)", detail: error.localizedDescription)
        }
        process.waitUntilExit()
        switch process.terminationReason {
        case .uncaughtSignal:
            throw HDF5Error.libraryCrashed(file: url.path, signal: process.terminationStatus)
        case .exit:
            guard process.terminationStatus == childCompleted else {
                throw HDF5Error.operationFailed(file: url.path, path: "/", operation: "pre-flight child \(exe)",
                                                detail: "exited with status \(process.terminationStatus)")
            }
        @unknown default:
            return
        }
    }

    /// When `arguments` (`CommandLine.arguments`) ask for a pre-flight child, reads the
    /// file and returns the exit status to end the process with; otherwise nil.
    public static func runChild(arguments: [String]) -> Int32? {
        guard arguments.count >= 2, arguments[1] == childArgument else { return nil }
        guard arguments.count == 4 else { return childUsage }
        let url = URL(fileURLWithPath: arguments[3])
        let reader: any ModelReader
        switch arguments[2] {
        case KerasH5Reader().info.id: reader = KerasH5Reader()
        case KerasArchiveReader().info.id: reader = KerasArchiveReader()
        default: return childUsage
        }
        // A typed error is the parent's to report; only surviving matters here.
        _ = try? reader.read(url, options: ReadOptions())
        return childCompleted
    }
}
