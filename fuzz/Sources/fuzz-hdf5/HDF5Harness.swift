#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FuzzSupport
import PorterHDF5
import PorterPipeline

// A Keras `.h5` read the way the `porter` binary reads it (HDF5Isolation): a child process
// does the whole read — libhdf5 and Porter's reader, every tensor's bytes — and writes a
// Porter model folder; the parent reads that folder with Porter's own parsers. Here the
// child is a fork() of this process running HDF5Isolation.work, with its stderr in a file.
//
// libFuzzer sees coverage of this process only, so once the child ended cleanly (no
// sanitizer report: status 0, or a typed error) the parent also runs the same read
// in-process — the child showed that libhdf5 survives this input — for coverage.
//
// Findings:
// - anything in the parent (its read of the child's folder), as in every harness;
// - a sanitizer report in the child whose first frame is not in libhdf5: Porter's own code
//   in the child went wrong (the report is copied to stderr and the parent aborts);
// - the child ending on SIGILL or SIGTRAP: a Swift runtime trap in Porter's code.
// Not findings, because `porter` contains them: a sanitizer report whose first frame is in
// libhdf5 (libhdf5 1.10's own memory errors on corrupt files; counted on stderr), the child
// killed by SIGSEGV/SIGBUS/SIGFPE/SIGABRT (`HDF5Error.libraryCrashed`), a typed error
// (status 65), and a child still running after 8 s (killed: `HDF5Error.resourceLimit`).
nonisolated(unsafe) var containedLibraryReports = 0

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "model.h5")
    let result = FuzzInput.scratch.appendingPathComponent("result")
    let log = FuzzInput.scratch.appendingPathComponent("child.log")
    try? FileManager.default.removeItem(at: result)
    try? FileManager.default.createDirectory(at: result, withIntermediateDirectories: true)
    let child = fork()
    if child == 0 {
        for s in [SIGSEGV, SIGBUS, SIGFPE, SIGABRT] { signal(s, SIG_DFL) }
        let fd = open(log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if fd >= 0 { dup2(fd, 2); close(fd) }
        _exit(HDF5Isolation.work(.read, reader: KerasH5Reader(), url: url, options: .init(), result: result))
    }
    guard child > 0 else { fatalError("fuzz-hdf5: fork failed (errno \(errno))") }
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(8)
    while waitpid(child, &status, WNOHANG) == 0 {
        if Date() > deadline {
            kill(child, SIGKILL)
            waitpid(child, &status, 0)
            return 0  // porter's time limit: resourceLimit
        }
        usleep(500)
    }
    let signal = status & 0x7F
    if signal != 0 && signal != 0x7F {
        if signal == SIGILL || signal == SIGTRAP {
            FileHandle.standardError.write(Data("fuzz-hdf5: the reader child trapped (signal \(signal)):\n".utf8))
            FileHandle.standardError.write((try? Data(contentsOf: log)) ?? Data())
            abort()
        }
        return 0  // libraryCrashed
    }
    let code = (status >> 8) & 0xFF
    switch code {
    case 0:
        _ = try? Pipeline().read(result.appendingPathComponent("model"), format: "porter")
        _ = try? KerasH5Reader().read(url, options: .init())
    case 65:
        _ = try? KerasH5Reader().read(url, options: .init())  // a typed error, met again here
    case 64, 66:
        break  // usage (never here), the memory cap
    default:
        let report = String(decoding: (try? Data(contentsOf: log)) ?? Data(), as: UTF8.self)
        let firstFrame = report.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("#0 ") }
        if let firstFrame, firstFrame.contains("libhdf5") {
            containedLibraryReports += 1
            FileHandle.standardError.write(Data("fuzz-hdf5: contained libhdf5 memory error #\(containedLibraryReports): \(firstFrame.trimmingCharacters(in: .whitespaces))\n".utf8))
            return 0
        }
        FileHandle.standardError.write(Data("fuzz-hdf5: the reader child exited with status \(code):\n".utf8))
        FileHandle.standardError.write(Data(report.utf8))
        abort()
    }
    return 0
}
