import PorterCore

// JSONValue.parse over raw bytes, as the safetensors header and shard-index readers call it
// (duplicate keys rejected, depth 64), and as config/mapping readers call it (defaults).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? JSONValue.parse(bytes, rejectDuplicateKeys: true, maxDepth: 64)
    _ = try? JSONValue.parse(bytes)
    return 0
}
