import Foundation
import PorterCore
import PorterTestSupport
import Testing
@testable import PorterTensorFlow

/// Expected facts recorded by fixtures/generate/gen_tensorflow.py from TensorFlow itself.
enum Expected {
    static let json: JSONValue = (try? Fixtures.json("tensorflow/expected.json")) ?? .null
    static var bundles: [String: JSONValue] { json["bundles"]?.objectValue ?? [:] }
    static func bundle(_ name: String) -> [String: JSONValue] { bundles[name]?.objectValue ?? [:] }
    static func prefix(_ name: String) -> String { Fixtures.url("tensorflow/\(name)").path }
}

@Suite struct BundleTests {
    @Test func crc32cKnownVector() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.unmask(CRC32C.mask(0x1234_5678)) == 0x1234_5678)
    }

    /// Every numeric tensor equals what `tf.train.load_checkpoint(...).get_tensor` returned, bit for bit.
    @Test(arguments: ["saver/model.ckpt", "object/ckpt-1", "keras_mlp/variables/variables", "keras_cnn/variables/variables",
                      "bert_tf1/bert_model.ckpt", "hf_tf_bert/ckpt"])
    func tensorsMatchTensorFlow(bundleName: String) throws {
        let expected = Expected.bundle(bundleName)
        #expect(!expected.isEmpty, "expected.json lists no tensors for \(bundleName)")
        let bundle = try TensorBundle(prefix: Expected.prefix(bundleName))
        #expect(Set(bundle.names) == Set(expected.keys))
        for (name, facts) in expected {
            let dtype = facts["dtype"]?.stringValue ?? ""
            let shape = facts["shape"]?.arrayValue?.compactMap(\.intValue) ?? []
            if dtype == "string" {
                _ = try bundle.strings(name)  // checksummed
                continue
            }
            let t = try bundle.tensor(name)
            #expect(t.dtype.rawValue == dtype, "\(name)")
            #expect(t.shape.dims == shape, "\(name)")
            #expect(try tensorDigest(t) == facts["sha256"]?.stringValue, "\(name)")
        }
    }

    @Test func saverCheckpointAsNeutralModel() throws {
        let reader = TensorFlowCheckpointReader()
        let model = try reader.read(URL(fileURLWithPath: Expected.prefix("saver/model.ckpt")), options: ReadOptions())
        #expect(model.sourceFormat == "tensorflow-checkpoint")
        #expect(model.metadata["tensorflow.bundle.shards"] == "2")
        // Two data shards, both used.
        let shardsUsed = Set(model.tensors.compactMap { e -> String? in
            if case let .file(f, _) = e.tensor.storage.backing { return f.path } else { return nil }
        })
        #expect(shardsUsed.count == 2)
        // The partitioned variable is one whole tensor; its parts are not listed separately.
        let part = try #require(model.tensors["partitioned/embedding"])
        #expect(part.tensor.shape == [6, 4])
        #expect(try tensorDigest(part.tensor) == Expected.bundle("saver/model.ckpt")["partitioned/embedding"]?["sha256"]?.stringValue)
        // Strings are dropped with a reason; everything else is carried.
        let words = try #require(model.dropped.first { $0.name == "words" })
        #expect(words.reason.contains("string"))
        let numeric = Expected.bundle("saver/model.ckpt").filter { $0.value["dtype"]?.stringValue != "string" }
        #expect(Set(model.tensors.names) == Set(numeric.keys))
        // Unsliced tensors are zero-copy ranges of their shard.
        let kernel = try #require(model.tensors["dense/kernel"])
        if case .file = kernel.tensor.storage.backing {} else { Issue.record("dense/kernel is not file-backed") }
        #expect(kernel.tensor.dtype == .f32)
        let bools = try #require(model.tensors["flags"])
        #expect(bools.tensor.dtype == .bool)
        #expect(try bools.tensor.contiguousBytes() == [1, 0, 1])
    }

    @Test func corruptedTensorNamesFileAndTensor() throws {
        let facts = try #require(Expected.json["corrupt"]?["corrupt_tensor"])
        let reader = TensorFlowCheckpointReader()
        do {
            _ = try reader.read(URL(fileURLWithPath: Expected.prefix("corrupt_tensor/model.ckpt")), options: ReadOptions())
            Issue.record("a flipped byte in a tensor was not detected")
        } catch let TensorFlowError.tensorChecksumMismatch(file, tensor, _, _) {
            #expect(file.hasSuffix(facts["file"]?.stringValue ?? "?"))
            #expect(tensor == facts["tensor"]?.stringValue)
            let message = TensorFlowError.tensorChecksumMismatch(file: file, tensor: tensor, stored: 0, computed: 1).localizedDescription
            #expect(message.contains(tensor) && message.contains("checksum"))
        }
    }

    @Test func corruptedIndexBlockIsABlockChecksumError() throws {
        do {
            _ = try TensorBundle(prefix: Expected.prefix("corrupt_index_block/model.ckpt"))
            Issue.record("a flipped byte in an index block was not detected")
        } catch let TensorFlowError.blockChecksumMismatch(file, offset, _, _) {
            #expect(file.hasSuffix("corrupt_index_block/model.ckpt.index"))
            #expect(offset == 0)
        }
    }

    @Test func truncatedShardNamesFileAndTensor() throws {
        let facts = try #require(Expected.json["corrupt"]?["truncated_shard"])
        do {
            _ = try TensorFlowCheckpointReader().read(URL(fileURLWithPath: Expected.prefix("truncated_shard/model.ckpt")), options: ReadOptions())
            Issue.record("a truncated shard was not detected")
        } catch let TensorFlowError.tensorOutOfRange(file, tensor, _, _, fileSize) {
            #expect(file.hasSuffix(facts["file"]?.stringValue ?? "?"))
            #expect(fileSize == facts["size"]?.intValue)
            #expect(Expected.bundle("saver/model.ckpt")[tensor] != nil)
        } catch let TensorFlowError.badSlices(_, tensor, reason) {
            // A slice of the partitioned variable may be the first range past the cut.
            #expect(tensor == "partitioned/embedding", "\(reason)")
        }
    }

    @Test func probes() throws {
        let reader = TensorFlowCheckpointReader()
        let index = try ProbeInput.load(Fixtures.url("tensorflow/saver/model.ckpt.index"))
        #expect(reader.probe(index) == .certain)
        let savedModel = try ProbeInput.load(Fixtures.url("tensorflow/keras_mlp"))
        #expect(reader.probe(savedModel) == .likely)
        #expect(TensorFlowSavedModelReader().probe(savedModel) == .certain)
        let json = try ProbeInput.load(Fixtures.url("tensorflow/expected.json"))
        #expect(reader.probe(json) == .no)
        #expect(TensorFlowSavedModelReader().probe(json) == .no)
        #expect(try TensorFlowCheckpointReader.prefix(for: Fixtures.url("tensorflow/keras_mlp")).hasSuffix("keras_mlp/variables/variables"))
        #expect(try TensorFlowCheckpointReader.prefix(for: Fixtures.url("tensorflow/saver")).hasSuffix("saver/model.ckpt"))
        #expect(try TensorFlowCheckpointReader.prefix(for: Fixtures.url("tensorflow/saver/model.ckpt")).hasSuffix("saver/model.ckpt"))
    }
}
