import Foundation
import PorterCore
import PorterHDF5
import PorterPipeline
import PorterSafetensors
import PorterTestSupport
import Testing

/// transformers' sharded TF weights (`tf_model.h5.index.json` + `tf_model-0000i-of-N.h5`),
/// made by `TFBertModel.save_pretrained(max_shard_size="1KB")` from the same model as
/// `tf_bert_tiny/tf_model.h5`.
@Suite struct TFShardIndexTests {
    static let folder = Fixtures.url("hdf5/tf_bert_sharded")

    @Test(arguments: ["", "tf_model.h5.index.json"])
    func shardedEqualsUnshardedBitForBit(entry: String) throws {
        let url = entry.isEmpty ? Self.folder : Self.folder.appendingPathComponent(entry)
        #expect(KerasH5Reader().probe(try ProbeInput.load(url)) != .no)
        let sharded = try KerasH5Reader().read(url, options: ReadOptions())
        let single = try KerasH5Reader().read(Fixtures.url("hdf5/tf_bert_tiny/tf_model.h5"), options: ReadOptions())
        #expect(sharded.tensors.names.sorted() == single.tensors.names.sorted())
        for e in single.tensors {
            let s = try #require(sharded.tensors[e.name], "\(e.name) missing")
            #expect(try tensorDigest(s.tensor) == tensorDigest(e.tensor), "\(e.name)")
        }
        #expect(sharded.config["model_type"] == "bert")
        // transformers writes a first shard that holds nothing: named, not silently skipped.
        #expect(sharded.notes.contains { $0.contains("tf_model-00001-of-00006.h5") })
        #expect(sharded.metadata["index_total_size"] != nil)
    }

    @Test func pipelineDetectsTheFolderAndMapsItLikeTheSingleFile() throws {
        let pipeline = Pipeline(mappingSearchPaths: [Fixtures.repositoryRoot.appendingPathComponent("mappings")])
        let dir = try Fixtures.scratchDirectory("porter-tf-shards")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try pipeline.convert(ConvertRequest(source: Self.folder, output: dir.appendingPathComponent("pt.safetensors"), to: "safetensors",
                                                    mapping: "hf-tf-h5-to-pt"))
        #expect(r.reader.id == "keras-h5")
        #expect(r.convertedModel.tensors["bert.encoder.layer.0.attention.self.query.weight"]?.tensor.shape == [8, 8])
        #expect(r.accounting?.unmapped.isEmpty == true)
    }

    /// A copy of the fixture folder with `edit` applied to its index.
    static func damaged(_ edit: (inout [String: JSONValue]) -> Void) throws -> URL {
        let dir = try Fixtures.scratchDirectory("porter-tf-shards")
        let copy = dir.appendingPathComponent("model")
        try FileManager.default.copyItem(at: folder, to: copy)
        let indexURL = copy.appendingPathComponent("tf_model.h5.index.json")
        var index = try #require(try JSONValue.parse(Data(contentsOf: indexURL)).objectValue)
        edit(&index)
        try JSONValue.object(index).encoded().write(to: indexURL)
        return indexURL
    }

    @Test func damagedIndexesAreTypedErrorsNamingTheIndex() throws {
        let variable = "tf_bert_model/bert/embeddings/word_embeddings/weight:0"
        let cases: [(String, (inout [String: JSONValue]) -> Void)] = [
            ("missing beside it", { $0["weight_map"] = ["tf_bert_model/bert/pooler/dense/bias:0": "tf_model-00009-of-00009.h5"] }),
            ("has no dataset", { i in
                var map = i["weight_map"]!.objectValue!
                map[variable] = "tf_model-00006-of-00006.h5"
                i["weight_map"] = .object(map)
            }),
            ("plain file name", { $0["weight_map"] = [variable: "../tf_model-00002-of-00006.h5"] }),
            ("no weight_map", { $0["weight_map"] = nil }),
        ]
        for (words, edit) in cases {
            let url = try Self.damaged(edit)
            do {
                _ = try KerasH5Reader().read(url, options: ReadOptions())
                Issue.record("\(words): read without error")
            } catch let e as HDF5Error {
                let text = e.errorDescription ?? ""
                #expect(text.contains(url.path) && text.contains(words), "\(text)")
            }
        }
    }
}
