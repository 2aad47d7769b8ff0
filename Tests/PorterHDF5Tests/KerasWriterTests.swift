import Foundation
import PorterCore
import PorterHDF5
import PorterTestSupport
import Testing

/// Writes `model` with KerasH5Writer into a scratch folder and reads it back.
func roundTrip(_ model: NeutralModel, file: String = "out.h5") throws -> (NeutralModel, URL) {
    let dir = try Fixtures.scratchDirectory("porter-h5w")
    let url = dir.appendingPathComponent(file)
    try KerasH5Writer().write(model, to: url, options: WriteOptions())
    return (try KerasH5Reader().read(url, options: ReadOptions()), url)
}

func expectSameTensors(_ a: NeutralModel, _ b: NeutralModel, _ label: String) throws {
    #expect(a.tensors.names == b.tensors.names, "\(label): names/order differ")
    for e in a.tensors {
        let other = try #require(b.tensors[e.name], "\(label): \(e.name) missing after round trip")
        #expect(other.tensor.dtype == e.tensor.dtype, "\(label): \(e.name) dtype")
        #expect(other.tensor.shape == e.tensor.shape, "\(label): \(e.name) shape")
        #expect(try tensorDigest(other.tensor) == tensorDigest(e.tensor), "\(label): \(e.name) bytes")
    }
}

/// Fixtures the writer must reproduce (weights of full models, weights files, transformers, every dtype).
let writerFixtures = ["mlp_sequential.h5", "weights_only.h5", "cnn_functional.h5", "zoo_functional.h5", "mlp_f16.h5",
                      "split_attrs.h5", "tf_bert_tiny/tf_model.h5", "dtypes.h5", "chunked_deflate.h5"]

@Suite("Keras HDF5 writer")
struct KerasWriterTests {
    @Test("write then read back: same names, order, dtypes, shapes and bytes", arguments: writerFixtures)
    func roundTripFixture(file: String) throws {
        let source = try readFixture(file)
        guard source.tensors.names.allSatisfy({ $0.contains("/") }) else {
            // Plain files whose datasets sit at the root have no layer to group by.
            #expect(throws: HDF5Error.self) { _ = try roundTrip(source) }
            return
        }
        let (back, _) = try roundTrip(source)
        try expectSameTensors(source, back, file)
        // A model read with its Keras model config is written as a full model (load_model), others as weights.
        let hasConfig = source.metadata["keras_model_config"] == "present"
        #expect(back.metadata["keras_layout"] == (hasConfig ? "full-model" : "weights-only"))
        if hasConfig { #expect(back.config == source.config) }
    }

    @Test("layer_names keep source order and list only layers with weights")
    func layerOrder() throws {
        let source = try readFixture("cnn_functional.h5")
        let (back, _) = try roundTrip(source)
        let layers = back.tensors.names.map { String($0.split(separator: "/")[0]) }
        var unique: [String] = []
        for l in layers where unique.last != l { unique.append(l) }
        #expect(unique == ["conv", "bn", "sep", "dw", "logits"])
    }

    @Test("long name lists are split into weight_names0, weight_names1, … and read back whole")
    func splitOnWrite() throws {
        var model = NeutralModel(sourceFormat: "test", sourceFiles: [])
        let long = String(repeating: "w", count: 300)
        for i in 0..<250 {
            let bytes: [UInt8] = [UInt8(i & 0xFF), 0, 0, 0]
            try model.tensors.add(TensorEntry(name: "big/\(long)_\(i):0", tensor: .memory(bytes, dtype: .f32, shape: [1], label: "t\(i)"),
                                              provenance: Provenance(sourceFile: "", sourceName: "")))
        }
        let (back, url) = try roundTrip(model)
        try expectSameTensors(model, back, "split")
        // The split itself: read the raw file's attribute names through a plain-layout read.
        let raw = try Data(contentsOf: url)
        #expect(raw.range(of: Data("weight_names0".utf8)) != nil)
        #expect(raw.range(of: Data("weight_names1".utf8)) != nil)
    }

    @Test("aliased tensors are written once, as HDF5 hard links")
    func aliases() throws {
        var model = NeutralModel(sourceFormat: "test", sourceFiles: [])
        let storage = TensorStorage.memory([1, 2, 3, 4, 5, 6, 7, 8], label: "shared")
        let t = TensorRef(dtype: .f32, shape: [2], storage: storage)
        try model.tensors.add(TensorEntry(name: "emb/emb/embeddings:0", tensor: t, provenance: Provenance(sourceFile: "", sourceName: "")))
        try model.tensors.add(TensorEntry(name: "head/head/kernel:0", tensor: t, provenance: Provenance(sourceFile: "", sourceName: "")))
        let (back, _) = try roundTrip(model)
        try expectSameTensors(model, back, "aliases")
    }

    @Test("a name without a layer part is refused before anything is written")
    func badName() throws {
        var model = NeutralModel(sourceFormat: "test", sourceFiles: [])
        try model.tensors.add(TensorEntry(name: "weight", tensor: .memory([0, 0, 0, 0], dtype: .f32, shape: [1], label: "w"),
                                          provenance: Provenance(sourceFile: "", sourceName: "")))
        let dir = try Fixtures.scratchDirectory("porter-h5w")
        let url = dir.appendingPathComponent("bad.h5")
        #expect(throws: HDF5Error.self) { try KerasH5Writer().write(model, to: url, options: WriteOptions()) }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    /// With PORTER_WRITE_CHECK_DIR set (by fixtures/generate/check_hdf5_writer.py), writes
    /// Porter's files for Keras and transformers to load.
    @Test("write files for the Keras / transformers load check", .enabled(if: ProcessInfo.processInfo.environment["PORTER_WRITE_CHECK_DIR"] != nil))
    func writeForFrameworkCheck() throws {
        let dir = URL(fileURLWithPath: ProcessInfo.processInfo.environment["PORTER_WRITE_CHECK_DIR"]!)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for name in ["mlp_sequential", "cnn_functional", "zoo_functional", "mlp_f16"] {
            let model = try readFixture(name + ".h5")
            try KerasH5Writer().write(model, to: dir.appendingPathComponent(name + ".porter.h5"), options: WriteOptions())
        }
        let bert = try readFixture("tf_bert_tiny/tf_model.h5")
        let bertDir = dir.appendingPathComponent("tf_bert_tiny")
        try FileManager.default.createDirectory(at: bertDir, withIntermediateDirectories: true)
        try KerasH5Writer().write(bert, to: bertDir.appendingPathComponent("tf_model.h5"), options: WriteOptions())
        try? FileManager.default.removeItem(at: bertDir.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: Fixtures.url("hdf5/tf_bert_tiny/config.json"), to: bertDir.appendingPathComponent("config.json"))
    }
}
