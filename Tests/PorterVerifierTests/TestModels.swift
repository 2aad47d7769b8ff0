import Foundation
import PorterCore
import PorterTestSupport
import PorterSafetensors
import PorterHuggingFace

/// A committed safetensors fixture, read with Porter's safetensors reader.
func loadSafetensors(_ url: URL) throws -> TensorStore {
    try SafetensorsReader().read(url).tensors
}

/// A transformers folder (config.json + model.safetensors) under fixtures/, read with
/// Porter's Hugging Face folder reader.
func loadHFFolder(_ relative: String) throws -> NeutralModel {
    try HuggingFaceReader().read(Fixtures.url(relative))
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
