import Foundation
import PorterCore
import PorterHDF5

/// Per-process setup for the `porter` executable, kept out of the CLI's argument code.
public enum ProcessSetup {
    /// Runs an internal child invocation (the HDF5 pre-flight) when `arguments` ask for
    /// one and returns its exit status; otherwise prepares the process (HDF5 pre-flight,
    /// SIGINT/SIGTERM/SIGHUP cleanup of temporary outputs) and returns nil.
    ///
    /// libhdf5 can crash on corrupt metadata, so the `porter` binary parses each HDF5
    /// file's metadata in a child process first (`docs/formats/keras-hdf5.md`).
    public static func prepare(arguments: [String]) -> Int32? {
        if let status = HDF5Preflight.runChild(arguments: arguments) { return status }
        HDF5Preflight.enableSubprocess()
        do { try TerminationSignals.install() } catch {
            FileHandle.standardError.write(Data("porter: error: \(error.localizedDescription)\n".utf8))
            return 1
        }
        return nil
    }

    /// Ends the process with `status`, unless SIGINT, SIGTERM or SIGHUP arrived: then the
    /// signal cleanup removes every temporary output and exits with 128 + the signal.
    public static func exit(_ status: Int32) -> Never {
        TerminationSignals.exit(status)
    }
}
