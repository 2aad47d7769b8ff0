import FuzzSupport
import PorterPipeline

// A `.gguf` file read by the pipeline's GGUF reader (magic, version, metadata of every value
// type with nested arrays, alignment, tensor infos, offsets and overlaps), as
// `porter inspect x.gguf` does; every tensor's bytes are then materialised (quantized blocks
// dequantized), and the file is scanned as `porter scan` does (chat-template review).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "model.gguf")
    if let (_, model) = try? Pipeline().read(url, format: "gguf") {
        for e in model.tensors { _ = try? e.tensor.contiguousBytes() }
    }
    _ = try? Pipeline().scan(url)
    return 0
}
