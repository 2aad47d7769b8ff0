#if canImport(Glibc)
import Glibc
#endif
import Foundation
import FuzzSupport
import PorterPipeline

// A Keras `.h5` read the way the `porter` binary reads it: first a pre-flight in a child
// process (HDF5Preflight: libhdf5 parses the metadata; a child killed by a signal becomes
// `HDF5Error.libraryCrashed`, so crashes inside libhdf5 itself are not findings), then the
// pipeline's HDF5 reader in-process, where libhdf5 opens the file and Porter's checks
// (object-header attribute messages, global-heap variable-length strings) run against the
// file's bytes before libhdf5 decodes them. The child is a fork() of this process running
// the same read (HDF5Preflight.runChild's work) with the default action for SIGSEGV, SIGBUS,
// SIGFPE and SIGABRT, as in an unsanitized `porter`; AddressSanitizer reports in the child
// exit with status 1, and the parent then reads in-process so the report reaches libFuzzer.
// A child still running after 8 s is killed and the parent reads in-process too, so a hang
// reaches libFuzzer's -timeout.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "model.h5")
    let child = fork()
    if child == 0 {
        for s in [SIGSEGV, SIGBUS, SIGFPE, SIGABRT] { signal(s, SIG_DFL) }
        _ = try? Pipeline().read(url, format: "keras-h5")
        _exit(0)
    }
    guard child > 0 else { fatalError("fuzz-hdf5: fork failed (errno \(errno))") }
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(8)
    while waitpid(child, &status, WNOHANG) == 0 {
        if Date() > deadline {
            kill(child, SIGKILL)
            waitpid(child, &status, 0)
            status = 0  // a hang: let the in-process read show it
            break
        }
        usleep(500)
    }
    let signalled = (status & 0x7F) != 0 && (status & 0x7F) != 0x7F
    if signalled { return 0 }  // the pre-flight's libraryCrashed: a typed error for porter
    _ = try? Pipeline().read(url, format: "keras-h5")
    return 0
}
