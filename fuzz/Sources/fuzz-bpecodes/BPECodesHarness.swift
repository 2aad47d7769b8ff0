import FuzzSupport
import PorterFairseq

// fairseq `bpecodes` read as the fairseq reader reads it, then written as transformers merges.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "bpecodes")
    if let codes = try? BPECodes(contentsOf: url) {
        _ = codes.mergesText()
    }
    return 0
}
