import FuzzSupport
import PorterPipeline

// A Keras `.h5` read by the pipeline's HDF5 reader in-process: libhdf5 opens the file and
// Porter's checks (object-header attribute messages, global-heap variable-length strings)
// run against the file's bytes before libhdf5 decodes them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "model.h5")
    _ = try? Pipeline().read(url, format: "keras-h5")
    return 0
}
