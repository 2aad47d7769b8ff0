import Foundation
import PorterCore
import PorterHDF5
import PorterPipeline
import PorterSafetensors
import PorterTestSupport
import Testing

/// The conversions the CLI will run once the HDF5 formats are registered
/// (`porter convert model.h5 --to … --mapping …`), through the pipeline's library API.
@Suite("Keras through the conversion pipeline")
struct KerasPipelineTests {
    let pipeline = Pipeline(
        registry: FormatRegistry(readers: [SafetensorsReader(), KerasH5Reader(), KerasArchiveReader()],
                                 writers: [SafetensorsWriter(), KerasH5Writer()]),
        mappingSearchPaths: [Fixtures.repositoryRoot.appendingPathComponent("mappings")])

    func convert(_ source: URL, to format: String, mapping: String?, _ output: URL) throws -> ConvertResult {
        try pipeline.convert(ConvertRequest(source: source, output: output, to: format, mapping: mapping))
    }

    @Test("Keras .h5 → PyTorch names (safetensors) → Keras .h5 gives back the same weights", arguments: ["mlp_sequential.h5", "zoo_functional.h5"])
    func kerasThroughPyTorchNames(file: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-h5-pipe")
        let pt = dir.appendingPathComponent("model.safetensors")
        let r1 = try convert(Fixtures.url("hdf5/" + file), to: "safetensors", mapping: "keras-to-pytorch", pt)
        #expect(r1.reader.id == "keras-h5")
        #expect(r1.convertedModel.tensors.names.allSatisfy { $0.hasSuffix(".weight") || $0.hasSuffix(".bias") })
        let back = dir.appendingPathComponent("model.h5")
        let r2 = try convert(pt, to: "keras-h5", mapping: "pytorch-to-keras", back)
        #expect(r2.writer.id == "keras-h5")
        let original = try readFixture(file)
        let reread = try KerasH5Reader().read(back, options: ReadOptions())
        #expect(Set(reread.tensors.names) == Set(original.tensors.names))
        for e in original.tensors {
            #expect(try tensorDigest(try #require(reread.tensors[e.name]).tensor) == tensorDigest(e.tensor), "\(e.name)")
        }
    }

    @Test("transformers TF folder → PyTorch names → tf_model.h5 gives back the same weights")
    func transformersFolder() throws {
        let dir = try Fixtures.scratchDirectory("porter-h5-pipe")
        let pt = dir.appendingPathComponent("pt.safetensors")
        let r1 = try convert(Fixtures.url("hdf5/tf_bert_tiny"), to: "safetensors", mapping: "hf-tf-h5-to-pt", pt)
        #expect(r1.convertedModel.tensors["bert.encoder.layer.0.attention.self.query.weight"]?.tensor.shape == [8, 8])
        let tf = dir.appendingPathComponent("tf_model.h5")
        _ = try convert(pt, to: "keras-h5", mapping: "hf-pt-to-tf-h5", tf)
        let original = try readFixture("tf_bert_tiny/tf_model.h5")
        let reread = try KerasH5Reader().read(tf, options: ReadOptions())
        #expect(reread.tensors.names == original.tensors.names)
        for e in original.tensors {
            #expect(try tensorDigest(try #require(reread.tensors[e.name]).tensor) == tensorDigest(e.tensor), "\(e.name)")
        }
    }

    @Test("a Keras 3 archive converts to safetensors with every weight and its optimizer-free accounting")
    func keras3ToSafetensors() throws {
        let dir = try Fixtures.scratchDirectory("porter-h5-pipe")
        let out = dir.appendingPathComponent("k3.safetensors")
        let r = try convert(Fixtures.url("hdf5/keras3_mlp.keras"), to: "safetensors", mapping: nil, out)
        #expect(r.reader.id == "keras")
        let st = try SafetensorsReader().read(out)
        #expect(st.tensors.count == r.sourceModel.tensors.count)
        #expect(st.tensors["layers/dense/vars/0"]?.tensor.shape == [5, 7])
    }
}
