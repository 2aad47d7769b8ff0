import Foundation
import PorterCore
import PorterHDF5
import PorterMapping
import PorterTestSupport
import Testing

func loadMapping(_ name: String) throws -> Mapping {
    try Mapping.load(name, searchPaths: [Fixtures.repositoryRoot.appendingPathComponent("mappings")])
}

func applyMapping(_ name: String, _ model: NeutralModel, allowUnmapped: Bool = false) throws -> (NeutralModel, MappingAccounting) {
    try MappingEngine(try loadMapping(name)).apply(to: model, allowUnmapped: allowUnmapped)
}

/// Reads a float32 tensor's values, permuted by `perm` (reference transpose for the test).
func permuted(_ t: TensorRef, _ perm: [Int]) throws -> [Float] {
    let v = try t.floatValues()
    let dims = t.shape.dims
    let strides = t.shape.contiguousStrides
    let outDims = perm.map { dims[$0] }
    let outCount = outDims.reduce(1, *)
    var out = [Float](repeating: 0, count: outCount)
    var index = [Int](repeating: 0, count: outDims.count)
    for o in 0..<outCount {
        var src = 0
        for (axis, i) in index.enumerated() { src += i * strides[perm[axis]] }
        out[o] = v[src]
        var a = outDims.count - 1
        while a >= 0 { index[a] += 1; if index[a] < outDims[a] { break }; index[a] = 0; a -= 1 }
    }
    return out
}

@Suite("Keras mappings")
struct KerasMappingTests {
    @Test("every mapping in mappings/ for HDF5 parses", arguments: ["keras-to-pytorch", "pytorch-to-keras", "hf-tf-h5-to-pt", "hf-pt-to-tf-h5"])
    func parses(name: String) throws {
        let m = try loadMapping(name)
        #expect(m.name == name)
        #expect(!m.rules.isEmpty)
    }

    @Test("hf-tf-h5-to-pt gives exactly transformers' own PyTorch names and transposes")
    func tfBertToPT() throws {
        let source = try readFixture("tf_bert_tiny/tf_model.h5")
        let (pt, accounting) = try applyMapping("hf-tf-h5-to-pt", source)
        #expect(accounting.unmapped.isEmpty)
        let expected = try #require(hdf5Expected["tf_bert_pt_names"]?.objectValue)
        #expect(expected.count == source.tensors.count)
        for (tfName, exp) in expected {
            let ptName = try #require(exp["pt"]?.stringValue)
            let produced = try #require(accounting.produced.first { $0.sources == [tfName] }, "\(tfName) not produced")
            #expect(produced.target == ptName, "\(tfName)")
            let src = try #require(source.tensors[tfName]).tensor
            let dst = try #require(pt.tensors[ptName]).tensor
            if exp["transpose"]?.stringValue == "simple" {
                #expect(dst.shape.dims == src.shape.dims.reversed())
                #expect(try dst.floatValues() == permuted(src, [1, 0]))
            } else {
                #expect(exp["transpose"]?.stringValue == "no")
                #expect(try tensorDigest(dst) == tensorDigest(src))
            }
        }
    }

    @Test("hf-pt-to-tf-h5 inverts it; the written tf_model.h5 equals the original weights")
    func ptBackToTF() throws {
        let source = try readFixture("tf_bert_tiny/tf_model.h5")
        let (pt, _) = try applyMapping("hf-tf-h5-to-pt", source)
        let (tf, accounting) = try applyMapping("hf-pt-to-tf-h5", pt)
        #expect(accounting.unmapped.isEmpty)
        #expect(Set(tf.tensors.names) == Set(source.tensors.names))
        let (back, _) = try roundTrip(tf, file: "tf_model.h5")
        for e in source.tensors {
            let other = try #require(back.tensors[e.name])
            #expect(try tensorDigest(other.tensor) == tensorDigest(e.tensor), "\(e.name)")
        }
    }

    @Test("hf-pt-to-tf-h5 maps a base model's unprefixed names when config.model_type is bert")
    func unprefixedBase() throws {
        let source = try readFixture("tf_bert_tiny/tf_model.h5")
        let (pt, _) = try applyMapping("hf-tf-h5-to-pt", source)
        // transformers' BertModel state dict: the same names without the `bert.` prefix.
        var bare = NeutralModel(sourceFormat: "test", sourceFiles: [], config: ["model_type": "bert"])
        for e in pt.tensors {
            #expect(e.name.hasPrefix("bert."))
            var entry = e
            entry.name = String(e.name.dropFirst("bert.".count))
            try bare.tensors.add(entry)
        }
        let (tf, acc) = try applyMapping("hf-pt-to-tf-h5", bare)
        #expect(acc.unmapped.isEmpty)
        #expect(Set(tf.tensors.names) == Set(source.tensors.names))
        var unknown = bare
        unknown.config = ["model_type": "gpt2"]
        #expect(throws: MappingError.self) { _ = try applyMapping("hf-pt-to-tf-h5", unknown) }
        if let dir = ProcessInfo.processInfo.environment["PORTER_WRITE_CHECK_DIR"] {
            // For check_hdf5_writer.py: transformers must load this PT → TF file too.
            let out = URL(fileURLWithPath: dir).appendingPathComponent("tf_bert_from_pt")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            try KerasH5Writer().write(tf, to: out.appendingPathComponent("tf_model.h5"), options: WriteOptions())
            try? FileManager.default.removeItem(at: out.appendingPathComponent("config.json"))
            try FileManager.default.copyItem(at: Fixtures.url("hdf5/tf_bert_tiny/config.json"), to: out.appendingPathComponent("config.json"))
        }
    }

    @Test("keras-to-pytorch: Dense → Linear [out, in], BatchNorm, Conv2D OIHW, depthwise HWIM → grouped [in·M, 1, kh, kw]")
    func kerasToPyTorch() throws {
        let mlp = try readFixture("mlp_sequential.h5")
        let (pt, acc) = try applyMapping("keras-to-pytorch", mlp)
        #expect(acc.unmapped.isEmpty)
        #expect(pt.tensors.names.sorted() == ["dense_in.bias", "dense_in.weight", "dense_out.bias", "dense_out.weight"])
        let k = try #require(mlp.tensors["dense_in/dense_in/kernel:0"]).tensor
        let w = try #require(pt.tensors["dense_in.weight"]).tensor
        #expect(w.shape == [16, 8])
        #expect(try w.floatValues() == permuted(k, [1, 0]))

        let cnn = try readFixture("cnn_functional.h5")
        let (cpt, cacc) = try applyMapping("keras-to-pytorch", cnn)
        #expect(cacc.unmapped.isEmpty)
        #expect(cacc.graphDropped == nil)
        for layer in ["dw", "sep"] {
            let k = try #require(cnn.tensors["\(layer)/\(layer)/depthwise_kernel:0"]).tensor
            let w = try #require(cpt.tensors["\(layer).weight"]).tensor
            let d = k.shape.dims
            #expect(w.shape == Shape([d[2] * d[3], 1, d[0], d[1]]))
            #expect(try w.floatValues() == permuted(k, [2, 3, 0, 1]))
        }
        let conv = try #require(cpt.tensors["conv.weight"]).tensor
        #expect(conv.shape == [4, 3, 3, 3])
        #expect(try conv.floatValues() == permuted(try #require(cnn.tensors["conv/conv/kernel:0"]).tensor, [3, 2, 0, 1]))
        #expect(cpt.tensors["bn.running_var"] != nil && cpt.tensors["bn.weight"] != nil && cpt.tensors["bn.bias"] != nil)
        #expect(cpt.tensors["sep.pointwise.weight"]?.tensor.shape == [4, 8, 1, 1])
    }

    /// Layer names say nothing about the layer kind (MobileNet's `Conv1`, EfficientNet's
    /// `stem`): kernels are told apart by rank, in both directions.
    @Test("kernels map by rank whatever the layer is called")
    func kernelsByRank() throws {
        let cnn = try readFixture("cnn_functional.h5")
        var renamed = cnn
        renamed.tensors = TensorStore()
        for var e in cnn.tensors {
            e.name = e.name.replacingOccurrences(of: "conv/conv/", with: "Stem/Stem/").replacingOccurrences(of: "logits/logits/", with: "head/head/")
            try renamed.tensors.add(e)
        }
        let (pt, _) = try applyMapping("keras-to-pytorch", renamed, allowUnmapped: true)
        let stem = try #require(pt.tensors["Stem.weight"]).tensor
        #expect(stem.shape == [4, 3, 3, 3])
        #expect(try stem.floatValues() == permuted(try #require(cnn.tensors["conv/conv/kernel:0"]).tensor, [3, 2, 0, 1]))
        #expect(pt.tensors["head.weight"]?.tensor.shape == [3, 4])
        let (back, _) = try applyMapping("pytorch-to-keras", pt, allowUnmapped: true)
        #expect(back.tensors["Stem/Stem/kernel:0"]?.tensor.shape == [3, 3, 3, 4])
        #expect(try tensorDigest(try #require(back.tensors["Stem/Stem/kernel:0"]).tensor) == tensorDigest(try #require(cnn.tensors["conv/conv/kernel:0"]).tensor))
    }

    @Test("keras-to-pytorch then pytorch-to-keras gives back the Keras weights", arguments: ["mlp_sequential.h5", "zoo_functional.h5", "mlp_f16.h5"])
    func kerasRoundTrip(file: String) throws {
        let keras = try readFixture(file)
        let (pt, _) = try applyMapping("keras-to-pytorch", keras)
        if file == "zoo_functional.h5" {
            #expect(pt.tensors["conv1d.weight"]?.tensor.shape == [8, 8, 3])  // [out, in, k]
            #expect(pt.tensors["embed.weight"]?.tensor.shape == [20, 8])
            #expect(pt.tensors["ln.weight"] != nil)
        }
        let (back, acc) = try applyMapping("pytorch-to-keras", pt)
        #expect(acc.unmapped.isEmpty)
        #expect(Set(back.tensors.names) == Set(keras.tensors.names))
        for e in keras.tensors {
            let other = try #require(back.tensors[e.name])
            #expect(other.tensor.shape == e.tensor.shape)
            #expect(try tensorDigest(other.tensor) == tensorDigest(e.tensor), "\(e.name)")
        }
    }
}
