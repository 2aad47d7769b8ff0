import Foundation
import PorterCore
import PorterTestSupport

/// Loads a committed safetensors fixture into tensors (test helper for trusted fixture
/// files, not a product reader: the verifier takes already-read models).
func loadSafetensors(_ url: URL) throws -> TensorStore {
    let data = try [UInt8](Data(contentsOf: url))
    guard data.count >= 8 else { throw CoreError.truncated(source: url.path, offset: 0, needed: 8, available: data.count) }
    var headerLength = 0
    for i in 0..<8 { headerLength |= Int(data[i]) << (8 * i) }
    let header = try JSONValue.parse(Data(data[8..<(8 + headerLength)]))
    let body = Array(data[(8 + headerLength)...])
    var store = TensorStore()
    for (name, info) in (header.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) where name != "__metadata__" {
        guard let dtypeName = info["dtype"]?.stringValue, let dtype = DType(safetensorsName: dtypeName),
              let dims = info["shape"]?.arrayValue?.compactMap(\.intValue),
              let offsets = info["data_offsets"]?.arrayValue?.compactMap(\.intValue), offsets.count == 2 else {
            throw CoreError.storageFailed(source: url.path, reason: "bad header entry \(name)")
        }
        let tensor = TensorRef.memory(Array(body[offsets[0]..<offsets[1]]), dtype: dtype, shape: Shape(dims), label: name)
        try store.add(TensorEntry(name: name, tensor: tensor, provenance: Provenance(sourceFile: url.path, sourceName: name)))
    }
    return store
}

/// A transformers folder (config.json + model.safetensors) under fixtures/.
func loadHFFolder(_ relative: String) throws -> NeutralModel {
    let folder = Fixtures.url(relative)
    let config = try JSONValue.parse(Data(contentsOf: folder.appendingPathComponent("config.json")))
    let tensors = try loadSafetensors(folder.appendingPathComponent("model.safetensors"))
    return NeutralModel(sourceFormat: "hf", sourceFiles: ["fixtures/" + relative], tensors: tensors, config: config)
}

/// An f32 tensor over the given values.
func floats(_ values: [Float], _ dims: [Int], label: String = "t") -> TensorRef {
    .memory(values.withUnsafeBytes { Array($0) }, dtype: .f32, shape: Shape(dims), label: label)
}

/// An f32 tensor whose values are 0, 1, 2, … so every element's origin is visible.
func counting(_ dims: [Int], label: String) -> TensorRef {
    floats((0..<(Shape(dims).elementCount ?? 0)).map { Float($0) * 0.5 + 0.25 }, dims, label: label)
}

func model(_ tensors: [(String, TensorRef)], file: String = "test.bin", config: JSONValue = [:]) throws -> NeutralModel {
    var store = TensorStore()
    for (name, t) in tensors {
        try store.add(TensorEntry(name: name, tensor: t, provenance: Provenance(sourceFile: file, sourceName: name)))
    }
    return NeutralModel(sourceFormat: "test", sourceFiles: [file], tensors: store, config: config)
}
