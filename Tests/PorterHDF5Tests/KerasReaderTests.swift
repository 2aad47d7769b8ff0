import Foundation
import PorterCore
import PorterHDF5
import PorterTestSupport
import Testing

/// Files of the hdf5 fixture family with h5py's reading recorded in expected.json.
let hdf5Expected: JSONValue = (try? Fixtures.json("hdf5/expected.json")) ?? .null
let hdf5Files: [String] = (hdf5Expected["files"]?.objectValue?.keys.sorted()) ?? []

func readFixture(_ rel: String) throws -> NeutralModel {
    let url = Fixtures.url("hdf5/" + rel)
    let reader: any ModelReader = rel.hasSuffix(".keras") ? KerasArchiveReader() : KerasH5Reader()
    return try reader.read(url, options: ReadOptions())
}

/// The neutral name Porter gives an HDF5 dataset path (the path under the weights root).
func neutralName(_ path: String) -> String {
    path.hasPrefix("model_weights/") ? String(path.dropFirst("model_weights/".count)) : path
}

@Suite("Keras HDF5 reader")
struct KerasReaderTests {
    @Test("fixtures exist") func fixturesPresent() {
        #expect(hdf5Files.count >= 10)
    }

    /// transformers writes an empty first shard; the files below hold datasets.
    static let filesWithDatasets = hdf5Files.filter { !(hdf5Expected["files"]?[$0]?["datasets"]?.objectValue?.isEmpty ?? true) }

    @Test("transformers' empty first shard reads as no tensors")
    func emptyShard() throws {
        #expect(hdf5Files.count - Self.filesWithDatasets.count == 1)
        #expect(try readFixture("tf_bert_sharded/tf_model-00001-of-00006.h5").tensors.count == 0)
    }

    @Test("every dataset equals h5py's reading bit for bit", arguments: filesWithDatasets)
    func datasetsMatchH5py(file: String) throws {
        let model = try readFixture(file)
        let datasets = try #require(hdf5Expected["files"]?[file]?["datasets"]?.objectValue)
        #expect(!datasets.isEmpty)
        let dropped = Set(model.dropped.map(\.name))
        var checked = 0
        for (path, exp) in datasets {
            if path.hasPrefix("optimizer_weights/") || path.hasPrefix("optimizer/") {
                #expect(dropped.contains(path), "\(file): optimizer dataset \(path) should be dropped with a reason")
                continue
            }
            if path.hasPrefix("model_weights/top_level_model_weights") { continue }
            let entry = try #require(model.tensors[neutralName(path)], "\(file): \(path) not read")
            #expect(entry.tensor.dtype.rawValue == exp["dtype"]?.stringValue, "\(file): \(path) dtype")
            #expect(entry.tensor.shape.dims == exp["shape"]?.arrayValue?.compactMap(\.intValue), "\(file): \(path) shape")
            #expect(try tensorDigest(entry.tensor) == exp["sha256"]?.stringValue, "\(file): \(path) bytes differ from h5py")
            checked += 1
        }
        #expect(checked > 0)
        // Nothing beyond what h5py saw under the weights.
        #expect(model.tensors.count == checked)
    }

    @Test("optimizer weights are dropped with a reason")
    func optimizerDropped() throws {
        let model = try readFixture("mlp_sequential.h5")
        let opt = model.dropped.filter { $0.name.hasPrefix("optimizer_weights/") }
        #expect(opt.count >= 9)
        #expect(opt.allSatisfy { $0.reason.contains("optimizer") && $0.byteCount >= 0 })
        #expect(model.tensors.names.sorted() == ["dense_in/dense_in/bias:0", "dense_in/dense_in/kernel:0", "dense_out/dense_out/bias:0", "dense_out/dense_out/kernel:0"])
        #expect(model.metadata["keras_layout"] == "full-model")
        #expect(model.metadata["keras_version"] == "2.21.0")
    }

    @Test("split attributes layer_names0/1 and weight_names0/1 are concatenated in order")
    func splitAttributes() throws {
        let split = try readFixture("split_attrs.h5")
        let whole = try readFixture("weights_only.h5")
        let layerList = hdf5Expected["files"]?["split_attrs.h5"]?["layer_names"]?.arrayValue ?? []
        let expectedLayers = layerList.compactMap { $0.stringValue }
        #expect(expectedLayers == ["dense_in", "dropout", "dense_out"])
        #expect(hdf5Expected["files"]?["split_attrs.h5"]?["root_attrs"]?.arrayValue?.contains("layer_names1") == true)
        #expect(split.tensors.names == whole.tensors.names)
        #expect(Set(split.tensors.names.map { String($0.split(separator: "/")[0]) }).isSubset(of: Set(expectedLayers)))
        for e in whole.tensors {
            let other = try #require(split.tensors[e.name])
            #expect(try tensorDigest(other.tensor) == tensorDigest(e.tensor))
        }
    }

    @Test("h5py's bool enum reads as bool 0/1 bytes")
    func boolEnum() throws {
        let model = try readFixture("dtypes.h5")
        let t = try #require(model.tensors["all/bool"]).tensor
        #expect(t.dtype == .bool)
        #expect(try t.contiguousBytes() == [1, 0, 1, 0, 0, 1])
    }

    @Test("float16 weights stay float16")
    func float16() throws {
        let model = try readFixture("mlp_f16.h5")
        #expect(model.tensors.count == 4)
        #expect(model.tensors.allSatisfy { $0.tensor.dtype == .f16 })
        let k = try #require(model.tensors["h1/h1/kernel:0"]).tensor
        #expect(k.shape == [6, 5])
        #expect(try k.floatValues().allSatisfy { $0.isFinite })
    }

    @Test("big-endian datasets are converted to little-endian values")
    func bigEndian() throws {
        let model = try readFixture("dtypes.h5")
        let t = try #require(model.tensors["all/big_endian_i8"]).tensor
        #expect(t.dtype == .i64)
        let bytes = try t.contiguousBytes()
        var values: [Int64] = []
        for i in 0..<6 {
            var v: UInt64 = 0
            for b in 0..<8 { v |= UInt64(bytes[i * 8 + b]) << UInt64(8 * b) }
            values.append(Int64(bitPattern: v))
        }
        #expect(values == [-3, -2, -1, 0, 1, 2])
    }

    @Test("contiguous datasets are file ranges, chunked/deflate are read lazily by libhdf5")
    func storageChoice() throws {
        let model = try readFixture("chunked_deflate.h5")
        for e in model.tensors {
            guard case .deferred = e.tensor.storage.backing else { Issue.record("\(e.name) should be deferred"); continue }
        }
        let plain = try readFixture("weights_only.h5")
        for e in plain.tensors {
            guard case .file = e.tensor.storage.backing else { Issue.record("\(e.name) should be a file range"); continue }
        }
        let d = try #require(model.tensors["deflate"]).tensor
        #expect(d.shape == [64, 48])
        #expect(hdf5Expected["files"]?["chunked_deflate.h5"]?["datasets"]?["deflate"]?["compression"]?.stringValue == "gzip")
    }

    @Test("transformers tf_model.h5 reads with config.json beside it")
    func transformersBert() throws {
        let model = try readFixture("tf_bert_tiny/tf_model.h5")
        #expect(model.metadata["keras_layout"] == "weights-only")
        #expect(model.config["model_type"]?.stringValue == "bert")
        #expect(model.tensors["bert/tf_bert_model/bert/embeddings/word_embeddings/weight:0"]?.tensor.shape == [40, 8])
        #expect(model.graph == nil)
    }

    @Test("Keras 3 archive: weights by layers/<name>/vars/<i>, config.json and metadata")
    func keras3Archive() throws {
        let model = try readFixture("keras3_mlp.keras")
        #expect(model.metadata["keras_version"] == "3.15.1")
        #expect(model.tensors["layers/dense/vars/0"]?.tensor.shape == [5, 7])
        #expect(model.config["class_name"]?.stringValue == "Sequential")
    }

    @Test("probes: HDF5 signature is certain, .keras zip is certain")
    func probes() throws {
        let h5 = try ProbeInput.load(Fixtures.url("hdf5/mlp_sequential.h5"))
        #expect(KerasH5Reader().probe(h5) == .certain)
        #expect(KerasArchiveReader().probe(h5) == .no)
        let k3 = try ProbeInput.load(Fixtures.url("hdf5/keras3_mlp.keras"))
        #expect(KerasArchiveReader().probe(k3) == .certain)
        #expect(KerasH5Reader().probe(k3) == .no)
        let folder = try ProbeInput.load(Fixtures.url("hdf5/tf_bert_tiny"))
        #expect(KerasH5Reader().probe(folder) == .likely)
        let model = try KerasH5Reader().read(Fixtures.url("hdf5/tf_bert_tiny"), options: ReadOptions())
        #expect(model.config["model_type"]?.stringValue == "bert")
        #expect(model.tensors.count == 23)
    }
}
