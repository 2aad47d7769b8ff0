import Foundation
import PorterCore

/// Per-process setup for the `porter` executable, kept out of the CLI's argument code.
public enum ProcessSetup {
    /// Runs an internal child invocation (the isolated HDF5 reader) when `arguments` ask
    /// for one and returns its exit status; otherwise prepares the process (HDF5 isolation,
    /// SIGINT/SIGTERM/SIGHUP cleanup of temporary outputs) and returns nil.
    ///
    /// Readers whose library cannot be trusted with hostile bytes read in child processes
    /// (`ChildProcessReading`: libhdf5 has memory errors on corrupt files, so the `porter`
    /// binary reads every HDF5 input in a child; `docs/formats/keras-hdf5.md`).
    public static func prepare(arguments: [String]) -> Int32? {
        let isolating = FormatRegistry.porterDefault.readers.compactMap { $0 as? any ChildProcessReading }
        for reader in isolating {
            if let status = reader.runChild(arguments: arguments) { return status }
        }
        for reader in isolating { reader.enableChildProcesses(executable: "/proc/self/exe") }
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
