import FuzzSupport
import PorterPipeline

// An `.onnx` file read by the pipeline's ONNX reader (the ModelProto wire scan: graph, nodes,
// attributes and subgraphs, value infos, initializers with their dims, raw_data, typed fields
// and external-data entries), as `porter inspect x.onnx` does; then every tensor is read, so
// the typed-field decoding and the external-data path checks run too.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let url = FuzzInput.write(data, size, to: "model.onnx")
    if let result = try? Pipeline().read(url, format: "onnx") {
        for entry in result.1.tensors { _ = try? entry.tensor.contiguousBytes() }
    }
    return 0
}
