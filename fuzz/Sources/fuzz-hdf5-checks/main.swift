import FuzzSupport
import PorterCore
import PorterHDF5

// Porter's own HDF5 byte checks, in-process and without libhdf5 (H5RawChecks, the same
// functions the reader calls before libhdf5 decodes anything): the object-header walk
// with its attribute-message checks, and the variable-length references against the
// global-heap collections they point at. libhdf5 itself is fuzzed through `fuzz-hdf5`
// (a reader child per input, as `porter` reads HDF5).
//
// Input: byte 0 picks the address and length sizes (2, 4 or 8 each), bytes 1–4 the object
// header's address (u32 LE), byte 5 how many vlen references (0–15) are read from the
// start of the file; the rest is the file.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 6 else { return 0 }
    let widths = [2, 4, 8]
    let sizes = H5RawChecks.Sizes(addr: widths[Int(data[0] & 0x03) % 3], size: widths[Int((data[0] >> 2) & 0x03) % 3], userblock: 0)
    let address = UInt64(data[1]) | UInt64(data[2]) << 8 | UInt64(data[3]) << 16 | UInt64(data[4]) << 24
    let count = Int(data[5] & 0x0F)
    let url = FuzzInput.write(data + 6, size - 6, to: "checks.h5")
    guard let raw = try? OpenFile(path: url.path) else { return 0 }
    _ = try? H5RawChecks.checkObjectHeader(raw, address: address, sizes: sizes, file: url.path, path: "/")
    let refSize = 4 + sizes.addr + 4
    let refs = Array(UnsafeBufferPointer(start: data + 6, count: min(size - 6, count * refSize)))
    if refs.count == count * refSize {
        _ = try? H5RawChecks.checkVariableLengthReferences(raw, references: refs, count: count, sizes: sizes, file: url.path,
                                                           bad: { HDF5Error.badAttribute(file: url.path, path: "/", attribute: "a", reason: $0) })
    }
    return 0
}
