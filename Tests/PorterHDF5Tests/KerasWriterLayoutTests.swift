import Foundation
import PorterCore
@testable import PorterHDF5
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing

/// Writes `model` to `file` in a scratch folder with KerasH5Writer; returns the file's URL.
func writeKeras(_ model: NeutralModel, _ file: String) throws -> URL {
    let url = try Fixtures.scratchDirectory("porter-h5layout").appendingPathComponent(file)
    try KerasH5Writer().write(model, to: url, options: WriteOptions())
    return url
}

/// Digests of every tensor in store order.
func digests(_ model: NeutralModel) throws -> [String] { try model.tensors.map { try tensorDigest($0.tensor) } }

@Suite("Keras writer: layout by file name, model_config, round trips")
struct KerasWriterLayoutTests {
    @Test("the layout follows the name as Keras' load_weights reads it")
    func layoutByName() {
        #expect(KerasLayout.forFileName("model.weights.h5") == .keras3Weights)
        #expect(KerasLayout.forFileName("MODEL.WEIGHTS.H5") == .keras3Weights)
        #expect(KerasLayout.forFileName("model.h5") == .legacy)
        #expect(KerasLayout.forFileName("tf_model.h5") == .legacy)
        #expect(KerasLayout.forFileName("weights.h5") == .legacy)
    }

    @Test("Keras 3 names each layer's group by class, as saving_lib does")
    func snakeCase() {
        for (cls, snake) in [("Dense", "dense"), ("Conv2D", "conv2d"), ("DepthwiseConv2D", "depthwise_conv2d"), ("SimpleRNN", "simple_rnn"),
                             ("LSTM", "lstm"), ("Conv2DTranspose", "conv2d_transpose"), ("ReLU", "re_lu"), ("PReLU", "p_re_lu"),
                             ("GlobalMaxPooling2D", "global_max_pooling2d"), ("MultiHeadAttention", "multi_head_attention")] {
            #expect(KerasModelLayers.snakeCase(cls) == snake, "\(cls)")
        }
    }

    @Test(".keras → NAME.h5: the legacy full-model layout with the source's config; the graph still runs")
    func keras3ToLegacy() throws {
        let source = try readFixture("keras3_functional.keras")
        let url = try writeKeras(source, "m.h5")
        let h5 = try H5File(path: url.path)
        #expect(try h5.stringAttribute("model_config", on: "/") != nil)
        #expect(h5.exists("model_weights") && !h5.exists("layers"))
        let back = try KerasH5Reader().read(url, options: ReadOptions())
        #expect(back.metadata["keras_layout"] == "full-model")
        #expect(back.config == source.config, "model_config must be the source's config")
        // Legacy loading is by position: layers in config order, each layer's variables in order.
        let layers = back.tensors.names.map { String($0.split(separator: "/")[0]) }
        var unique: [String] = []
        for l in layers where unique.last != l { unique.append(l) }
        #expect(unique == ["c1", "bn", "dw", "sep", "ln", "out"])
        #expect(back.tensors.names.first == "c1/c1/vars/0")
        // Porter's own reader builds the graph from it and reproduces Keras' outputs.
        let graph = try #require(back.graph, "no graph: \(back.notes)")
        let io = try SafetensorsReader().read(Fixtures.url("hdf5/keras3_functional.io.safetensors"))
        let input = try #require(io.tensors["input"]).tensor
        let out = try GraphExecutor(graph: graph, weights: back.tensors)
            .run([graph.inputs[0].name: HostTensor(shape: input.shape.dims, floats: try input.floatValues())]).outputs[graph.outputs[0].name]
        let diff = try maxDifference(try #require(out), try #require(io.tensors["output"]).tensor, "keras3_functional via .h5")
        #expect(diff <= 1e-5)
    }

    @Test(".keras → NAME.h5 → NAME.weights.h5: the source's names and bytes, bit-exact")
    func keras3RoundTrip() throws {
        for file in ["keras3_functional.keras", "keras3_mlp.keras"] {
            let source = try readFixture(file)
            var legacy = try KerasH5Reader().read(try writeKeras(source, "a.h5"), options: ReadOptions())
            legacy.metadata["keras_version"] = source.metadata["keras_version"]
            let url = try writeKeras(legacy, "b.weights.h5")
            let back = try KerasH5Reader().read(url, options: ReadOptions())
            #expect(back.metadata["keras_layout"] == "keras3-weights")
            #expect(Set(back.tensors.names) == Set(source.tensors.names), "\(file)")
            for e in source.tensors {
                let other = try #require(back.tensors[e.name], "\(file): \(e.name)")
                #expect(other.tensor.dtype == e.tensor.dtype && other.tensor.shape == e.tensor.shape)
                #expect(try tensorDigest(other.tensor) == tensorDigest(e.tensor), "\(file): \(e.name) bytes")
            }
        }
    }

    @Test(".h5 (tf-keras) → NAME.weights.h5: groups named by class in config order, every vars group named after its layer")
    func legacyToKeras3() throws {
        let source = try readFixture("cnn_functional.h5")
        let url = try writeKeras(source, "cnn.weights.h5")
        let back = try KerasH5Reader().read(url, options: ReadOptions())
        #expect(back.metadata["keras_layout"] == "keras3-weights")
        let names = Set(back.tensors.names)
        for n in ["layers/conv2d/vars/0", "layers/conv2d/vars/1", "layers/batch_normalization/vars/3",
                  "layers/separable_conv2d/vars/2", "layers/depthwise_conv2d/vars/0", "layers/dense/vars/1"] {
            #expect(names.contains(n), "\(n) missing from \(names.sorted())")
        }
        #expect(back.tensors.count == source.tensors.count)
        // Same bytes, variable for variable (the source's weight_names order is the variables' order).
        #expect(try digests(source).sorted() == digests(back).sorted())
        let bn = try #require(source.tensors.names.first { $0.hasPrefix("bn/") && $0.hasSuffix("moving_variance:0") })
        #expect(try tensorDigest(try #require(back.tensors["layers/batch_normalization/vars/3"]).tensor) == tensorDigest(try #require(source.tensors[bn]).tensor))
        let h5 = try H5File(path: url.path)
        #expect(try h5.stringAttribute("name", on: "layers/batch_normalization/vars") == "bn")
        #expect(try h5.stringAttribute("name", on: "vars") != nil)
        #expect(h5.exists("layers/re_lu/vars") || h5.exists("layers/add/vars"), "weightless layers get their vars group too")
        #expect(try h5.stringAttribute("model_config", on: "/") == nil)
    }

    @Test(".h5 (tf-keras) → NAME.h5: model_config equal to the source's, weights bit-exact under the same names")
    func legacyToLegacy() throws {
        for file in ["mlp_sequential.h5", "zoo_functional.h5"] {
            let source = try readFixture(file)
            let url = try writeKeras(source, "x.h5")
            let back = try KerasH5Reader().read(url, options: ReadOptions())
            #expect(back.metadata["keras_layout"] == "full-model")
            #expect(back.config == source.config)
            try expectSameTensors(source, back, file)
            #expect(back.graph != nil)
        }
    }

    @Test("a model without a Keras config written to NAME.weights.h5 is refused, nothing left on disk")
    func keras3NeedsConfig() throws {
        let source = try readFixture("weights_only.h5")
        let url = try Fixtures.scratchDirectory("porter-h5layout").appendingPathComponent("w.weights.h5")
        #expect {
            try KerasH5Writer().write(source, to: url, options: WriteOptions())
        } throws: { error in
            guard case let HDF5Error.cannotWrite(file, _, reason) = error else { return false }
            return file == "w.weights.h5" && reason.contains("Keras model config")
        }
        #expect(!FileManager.default.fileExists(atPath: url.path))
        // The legacy layout needs none: save_weights' layout.
        let back = try KerasH5Reader().read(try writeKeras(source, "w.h5"), options: ReadOptions())
        #expect(back.metadata["keras_layout"] == "weights-only")
        try expectSameTensors(source, back, "weights_only.h5")
    }
}
