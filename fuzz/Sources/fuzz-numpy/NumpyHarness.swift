import FuzzSupport
import PorterCore
import PorterPipeline

// A `.npy` or `.npz` file read by the pipeline's numpy reader (magic, header dict, dtype,
// shape, Fortran order; for archives the zip parser, stored and deflated members), as
// `porter inspect x.npy` does, again with `allow-pickle=true` (object arrays through the
// allow-list pickle VM), then `porter scan` (object arrays' pickles scanned). The input's first
// byte picks the file name, so both kinds of input reach their parsers whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let name = size > 0 && data[0] == 0x50 ? "arrays.npz" : "array.npy"  // 'P' of a zip's PK
    let url = FuzzInput.write(data, size, to: name)
    _ = try? Pipeline().read(url, format: "numpy")
    _ = try? Pipeline().read(url, format: "numpy", options: ReadOptions(extra: ["allow-pickle": "true"]))
    _ = try? Pipeline().scan(url)
    return 0
}
