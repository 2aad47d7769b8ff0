import FuzzSupport
import PorterFairseq

// A fairseq `dict.<lang>.txt` read as the fairseq reader reads it, then used to encode a line.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "dict.en.txt")
    if let dictionary = try? FairseqDictionary(contentsOf: url) {
        _ = dictionary.encode("the quick brown fox </s> <unk> madeupword0000")
    }
    return 0
}
