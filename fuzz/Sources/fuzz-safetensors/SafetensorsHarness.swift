import FuzzSupport
import PorterPipeline

// A .safetensors file read by the pipeline's safetensors reader (header length, JSON header,
// entries, offsets; tensor views validated), exactly as `porter inspect x.safetensors` does.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "model.safetensors")
    _ = try? Pipeline().read(url, format: "safetensors")
    return 0
}
