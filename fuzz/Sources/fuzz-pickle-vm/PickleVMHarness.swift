import FuzzSupport
import PorterPipeline

// A bare pickle read by the PyTorch reader: the allow-list pickle VM with the torch
// unpickler hooks, then the state-dict flattening (`porter inspect x.pkl --from pytorch`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "data.pkl")
    _ = try? Pipeline().read(url, format: "pytorch")
    return 0
}
