import Foundation
import PorterCore

/// A minimal safetensors loader for these tests only (f32 and i64 entries), so the
/// runtime's tests do not depend on the safetensors target.
enum TestSafetensors {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static func load(_ url: URL) throws -> TensorStore {
        let data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw Failure(description: "\(url.path): shorter than 8 bytes") }
        let headerLength = data.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self).littleEndian) }
        guard headerLength <= data.count - 8 else { throw Failure(description: "\(url.path): header length \(headerLength) past the end") }
        let header = try JSONValue.parse(data.subdata(in: 8..<(8 + headerLength)))
        guard let entries = header.objectValue else { throw Failure(description: "\(url.path): header is not an object") }
        let body = [UInt8](data[(8 + headerLength)...])
        var store = TensorStore()
        for (name, entry) in entries.sorted(by: { $0.key < $1.key }) where name != "__metadata__" {
            guard let dtypeName = entry["dtype"]?.stringValue, let dtype = DType(safetensorsName: dtypeName),
                  let shape = entry["shape"]?.arrayValue?.compactMap(\.intValue),
                  let offsets = entry["data_offsets"]?.arrayValue?.compactMap(\.intValue), offsets.count == 2,
                  offsets[0] <= offsets[1], offsets[1] <= body.count else {
                throw Failure(description: "\(url.path): bad entry \(name)")
            }
            let ref = TensorRef.memory(Array(body[offsets[0]..<offsets[1]]), dtype: dtype, shape: Shape(shape), label: name)
            guard ref.byteCount == offsets[1] - offsets[0] else { throw Failure(description: "\(url.path): \(name) size mismatch") }
            try store.add(TensorEntry(name: name, tensor: ref, provenance: Provenance(sourceFile: url.path, sourceName: name)))
        }
        return store
    }
}
