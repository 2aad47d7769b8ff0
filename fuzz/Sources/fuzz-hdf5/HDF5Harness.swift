#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CFuzzSupport
import FuzzSupport
import PorterHDF5
import PorterPipeline

// A Keras `.h5` read the way the `porter` binary reads it (HDF5Isolation): a child process
// does the whole read — libhdf5 and Porter's reader, every tensor's bytes — and writes a
// Porter model folder; the parent reads that folder with Porter's own parsers. Here the
// child runs HDF5Isolation.work, with its stderr in a file; it is forked by a small fork
// server (ReaderServer, below), itself forked from this process at the first input.
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

/// Forks the reader children. Forking this process per input costs most of a run: the kernel
/// copies the page tables of a heap that libFuzzer and ASan grow to hundreds of MB (about two
/// thirds of the samples were `copy_page_range` and ASan's after-fork hooks, at 46 inputs/s).
/// So at the first input this process forks once, while its heap is small, into a server that
/// does nothing but fork a reader child per request and hand back the child's wait status. The
/// child runs exactly what it ran before (`HDF5Isolation.work` on the input file); only the
/// process it is forked from is smaller. The server ends when this process closes its pipe.
enum ReaderServer {
    nonisolated(unsafe) static var pid: pid_t = 0
    nonisolated(unsafe) static var request: Int32 = -1
    nonisolated(unsafe) static var reply: Int32 = -1
    /// The status the server reports for a child it killed at the time limit.
    static let timedOut: Int32 = -1

    static func start(input: URL, result: URL, log: URL) {
        var toServer: [Int32] = [0, 0], toParent: [Int32] = [0, 0]
        signal(SIGPIPE, SIG_IGN)  // a server that died is reported below, not by a signal
        guard pipe(&toServer) == 0, pipe(&toParent) == 0 else { fatalError("fuzz-hdf5: pipe failed (errno \(errno))") }
        let server = fork()
        guard server >= 0 else { fatalError("fuzz-hdf5: fork failed (errno \(errno))") }
        if server == 0 {
            close(toServer[1]); close(toParent[0])
            serve(requests: toServer[0], replies: toParent[1], input: input, result: result, log: log)
        }
        close(toServer[0]); close(toParent[1])
        pid = server; request = toServer[1]; reply = toParent[0]
    }

    /// The server's loop: one byte in, one reader child, its wait status out.
    static func serve(requests: Int32, replies: Int32, input: URL, result: URL, log: URL) -> Never {
        // Warm-up, once: a read of a valid fixture here, in the server, resolves the dynamic
        // linker's lazy symbols, fills the Swift runtime's conformance caches and initialises
        // libhdf5, so that each child does not redo them (they were a fifth of a child's time).
        let warm = FuzzInput.scratch.appendingPathComponent("warm-up")
        try? FileManager.default.createDirectory(at: warm, withIntermediateDirectories: true)
        _ = HDF5Isolation.work(.read, reader: KerasH5Reader(), url: FuzzInput.fixtures.appendingPathComponent("hdf5/mlp_f16.h5"),
                               options: .init(), result: warm)
        var byte: UInt8 = 0
        while retrying({ read(requests, &byte, 1) }) == 1 {
            let child = fork()
            guard child >= 0 else { _exit(70) }
            if child == 0 {
                close(requests); close(replies)
                fuzz_child_forget_fuzzer()
                for s in [SIGSEGV, SIGBUS, SIGFPE, SIGABRT, SIGPIPE] { signal(s, SIG_DFL) }
                let fd = open(log.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
                if fd >= 0 { dup2(fd, 2); close(fd) }
                // fuzz_exit_now, not _exit: the sanitizers hook _exit to scan the whole heap for
                // leaks, which cost a child more than its read. Leaks in the reader are found where
                // libFuzzer looks for them, in the in-process read after the child.
                fuzz_exit_now(HDF5Isolation.work(.read, reader: KerasH5Reader(), url: input, options: .init(), result: result))
            }
            var status: Int32 = 0
            let deadline = Date().addingTimeInterval(8)
            while waitpid(child, &status, WNOHANG) == 0 {
                if Date() > deadline {
                    kill(child, SIGKILL)
                    waitpid(child, &status, 0)
                    status = timedOut
                    break
                }
                usleep(200)
            }
            guard retrying({ write(replies, &status, 4) }) == 4 else { _exit(0) }
        }
        _exit(0)
    }

    /// Runs the reader child on the current input and returns its wait status (or `timedOut`).
    static func runChild(input: URL, result: URL, log: URL) -> Int32 {
        if pid == 0 { start(input: input, result: result, log: log) }
        var byte: UInt8 = 1
        var status: Int32 = 0
        // libFuzzer's timeout alarm interrupts blocking calls here (EINTR): retry those.
        guard retrying({ write(request, &byte, 1) }) == 1, retrying({ read(reply, &status, 4) }) == 4 else {
            var how: Int32 = 0
            let ended = waitpid(pid, &how, WNOHANG) == pid
            fatalError("fuzz-hdf5: the fork server (pid \(pid)) stopped answering (errno \(errno); " +
                       (ended ? "wait status \(how))" : "still running)"))
        }
        return status
    }

    static func retrying(_ call: () -> Int) -> Int {
        while true {
            let n = call()
            if n >= 0 || errno != EINTR { return n }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "model.h5")
    let result = FuzzInput.scratch.appendingPathComponent("result")
    let log = FuzzInput.scratch.appendingPathComponent("child.log")
    try? FileManager.default.removeItem(at: result)
    try? FileManager.default.createDirectory(at: result, withIntermediateDirectories: true)
    let status = ReaderServer.runChild(input: url, result: result, log: log)
    if status == ReaderServer.timedOut { return 0 }  // porter's time limit: resourceLimit
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
        // The first frame outside the sanitizer runtime: a report whose top frame is ASan's
        // memcpy interceptor called from libhdf5 is libhdf5's error.
        let firstFrame = report.split(separator: "\n").first {
            let frame = $0.trimmingCharacters(in: .whitespaces)
            return frame.hasPrefix("#") && !frame.contains("/compiler-rt/")
        }
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
