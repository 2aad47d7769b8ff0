import FuzzSupport
import PorterPipeline

// The pipeline's PyTorch reader on a torch.save zip archive (own zip parser: end of central directory, ZIP64, local headers, stored and deflated entries), its data.pkl and storages,
// as `porter inspect x.pt` reads it. The seed corpus keeps this harness on its format.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "model.pt")
    _ = try? Pipeline().read(url, format: "pytorch")
    return 0
}
