import Foundation
import PorterCore
import PorterTestSupport
import Testing
@testable import PorterTensorFlow

@Suite struct ObjectGraphTests {
    @Test func objectBasedNamesAndDrops() throws {
        let model = try TensorFlowCheckpointReader().read(Fixtures.url("tensorflow/object/ckpt-1"), options: ReadOptions())
        #expect(model.metadata["tensorflow.checkpoint.kind"] == "object-based")
        // The model's four Keras variables, named by object path; TensorFlow said which key restores which variable.
        let keys = (Expected.json["object_keras_names"]?.objectValue ?? [:]).values.compactMap(\.stringValue)
        #expect(keys.count == 4)
        let names = keys.map { String($0.dropLast(CheckpointNaming.variableSuffix.count)) }
        #expect(Set(model.tensors.names) == Set(names))
        for key in keys {
            let name = String(key.dropLast(CheckpointNaming.variableSuffix.count))
            let t = try #require(model.tensors[name])
            #expect(t.provenance.sourceName == key)
            #expect(try tensorDigest(t.tensor) == Expected.bundle("object/ckpt-1")[key]?["sha256"]?.stringValue)
        }
        // Slots name their variable through the object graph.
        let slot = try #require(model.dropped.first { $0.name == "model/layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE" })
        #expect(slot.reason == "optimizer slot 'm' of model/layer_with_weights-0/kernel")
        #expect(model.dropped.contains { $0.name == "save_counter/.ATTRIBUTES/VARIABLE_VALUE" && $0.reason.contains("save counter") })
        #expect(model.dropped.contains { $0.name.hasPrefix("optimizer/") && $0.reason.contains("optimizer") })
        #expect(model.dropped.contains { $0.name == TensorBundle.objectGraphKey })
        // Every source key is either carried or dropped.
        #expect(model.tensors.count + model.dropped.count == Expected.bundle("object/ckpt-1").count)
    }

    @Test func bertConfigBesideTheCheckpointBecomesTheConfig() throws {
        let model = try TensorFlowCheckpointReader().read(Fixtures.url("tensorflow/bert_tf1/bert_model.ckpt"), options: ReadOptions())
        #expect(model.config["model_type"]?.stringValue == "bert")
        #expect(model.config["hidden_size"] == (try Fixtures.json("tensorflow/bert_tf1/bert_config.json"))["hidden_size"])
        #expect(model.tensors["global_step"]?.tensor.dtype == .i64)
    }

    @Test func nameBasedCheckpointKeepsNames() throws {
        let bundle = try TensorBundle(prefix: Expected.prefix("bert_tf1/bert_model.ckpt"))
        let naming = try CheckpointNaming(bundle: bundle)
        #expect(!naming.isObjectBased)
        #expect(naming.decide("bert/pooler/dense/kernel") == .keep("bert/pooler/dense/kernel"))
    }
}

@Suite struct SavedModelTests {
    @Test(arguments: ["keras_mlp", "keras_cnn"])
    func variablesNamedByKerasPaths(name: String) throws {
        let model = try TensorFlowSavedModelReader().read(Fixtures.url("tensorflow/\(name)"), options: ReadOptions())
        #expect(model.sourceFormat == "tensorflow-savedmodel")
        let keras = Expected.json["keras_variables"]?[name]?.objectValue ?? [:]
        #expect(!keras.isEmpty)
        let weights = model.tensors.filter { !$0.name.hasPrefix("tf_const/") }
        #expect(Set(weights.map(\.name)) == Set(keras.keys))
        let bundle = Expected.bundle("\(name)/variables/variables")
        for e in weights {
            #expect(e.tensor.shape.dims == keras[e.name]?.arrayValue?.compactMap(\.intValue), "\(e.name)")
            #expect(try tensorDigest(e.tensor) == bundle[e.provenance.sourceName]?["sha256"]?.stringValue, "\(e.name)")
        }
    }

    @Test(arguments: ["keras_mlp", "keras_cnn"])
    func signaturesMatchTensorFlow(name: String) throws {
        let expected = try #require(Expected.json["signatures"]?[name])
        let sigs = try TensorFlowSavedModelReader.signatures(folder: Fixtures.url("tensorflow/\(name)"))
        let serving = try #require(sigs.first { $0.name == "serving_default" })
        for (side, list) in [("inputs", serving.inputs), ("outputs", serving.outputs)] {
            let want = expected[side]?.objectValue ?? [:]
            #expect(Set(list.map(\.key)) == Set(want.keys))
            for t in list {
                #expect(t.dtype == want[t.key]?["dtype"]?.stringValue)
                #expect(t.shape == want[t.key]?["shape"]?.arrayValue?.compactMap(\.intValue))
            }
        }
        let model = try TensorFlowSavedModelReader().read(Fixtures.url("tensorflow/\(name)"), options: ReadOptions())
        #expect(model.metadata["signature.serving_default"] != nil)
        #expect(model.config["signatures"]?["serving_default"]?["inputs"] != nil)
    }

    /// The op names documented in docs/ops.md (first column of its tables).
    static let documentedOps: Set<String> = {
        let text = (try? String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("docs/ops.md"), encoding: .utf8)) ?? ""
        var ops = Set<String>()
        for line in text.split(separator: "\n") where line.hasPrefix("| `") {
            let first = line.split(separator: "|").first.map(String.init) ?? ""
            for part in first.split(separator: "`").enumerated() where part.offset % 2 == 1 { ops.insert(String(part.element)) }
        }
        return ops
    }()

    @Test(arguments: ["keras_mlp", "keras_cnn"])
    func graphUsesOnlyDocumentedOps(name: String) throws {
        let model = try TensorFlowSavedModelReader().read(Fixtures.url("tensorflow/\(name)"), options: ReadOptions())
        let graph = try #require(model.graph, "\(model.notes)")
        #expect(Self.documentedOps.contains("conv2d") && Self.documentedOps.contains("matmul"))
        var known = Set(graph.inputs.map(\.name)).union(model.tensors.names)
        for node in graph.nodes {
            #expect(Self.documentedOps.contains(node.op), "\(node.op) is not in docs/ops.md")
            for input in node.inputs where !input.isEmpty {
                #expect(known.contains(input), "\(node.name) reads \(input) before it exists")
            }
            known.formUnion(node.outputs)
        }
        for output in graph.outputs { #expect(known.contains(output.name)) }
        #expect(graph.inputs.map(\.name) == (Expected.json["signatures"]?[name]?["inputs"]?.objectValue ?? [:]).keys.sorted())
    }

    @Test func cnnGraphShape() throws {
        let model = try TensorFlowSavedModelReader().read(Fixtures.url("tensorflow/keras_cnn"), options: ReadOptions())
        let graph = try #require(model.graph)
        let ops = graph.nodes.map(\.op)
        #expect(ops.filter { $0 == "conv2d" }.count == 2)
        #expect(ops.contains("batch_norm") && ops.contains("max_pool") && ops.contains("reshape") && ops.contains("softmax"))
        let depthwise = try #require(graph.nodes.first { $0.attributes["kernel_layout"] == "HWIM" })
        #expect(depthwise.attributes["groups"] == 4)
        #expect(depthwise.inputs[1] == "dw/depthwise_kernel")
    }

    /// A SavedModel using ops outside the subset: no graph, the missing ops listed, weights still read.
    @Test func beyondTheOpSubset() throws {
        let model = try TensorFlowSavedModelReader().read(Fixtures.url("tensorflow/beyond_ops"), options: ReadOptions())
        #expect(model.graph == nil)
        let tfOps = Set((Expected.json["beyond_ops_graph_ops"]?.arrayValue ?? []).compactMap(\.stringValue))
        #expect(tfOps.contains("Cumsum") && tfOps.contains("Square"))
        let missing = (model.metadata["tensorflow.graph.missing_ops"] ?? "").components(separatedBy: ", ")
        #expect(Set(missing) == tfOps.subtracting(SavedModelGraphImporter.supportedOps))
        #expect(model.notes.contains { $0.contains("Cumsum") && $0.contains("weights level") })
        let w = try #require(model.tensors["w"])
        #expect(try tensorDigest(w.tensor) == Expected.bundle("beyond_ops/variables/variables")[w.provenance.sourceName]?["sha256"]?.stringValue)
    }

    /// An imported graph is validated against the op specs on the file's tensors: a weight
    /// whose shape does not fit its node fails the import, naming the node.
    @Test func importedGraphIsValidatedAgainstTheOpSpecs() throws {
        let model = try TensorFlowSavedModelReader().read(Fixtures.url("tensorflow/keras_mlp"), options: ReadOptions())
        let graph = try #require(model.graph)
        #expect(SavedModelGraphImporter.specFailure(graph, tensors: model.tensors, constants: [:]) == nil)
        let product = try #require(graph.nodes.first { $0.op == "matmul" && model.tensors[$0.inputs[1]] != nil })
        var tampered = TensorStore()
        for entry in model.tensors {
            var e = entry
            if e.name == product.inputs[1] {
                let dims = e.tensor.shape.dims
                e.tensor = .memory([UInt8](repeating: 0, count: 4 * (dims[0] + 1) * dims[1]), dtype: .f32, shape: Shape([dims[0] + 1, dims[1]]), label: e.name)
            }
            try tampered.add(e)
        }
        let failure = try #require(SavedModelGraphImporter.specFailure(graph, tensors: tampered, constants: [:]))
        #expect(failure.description.hasPrefix("the imported graph does not fit Porter's op specs: node \(product.name) (matmul): inner dimensions differ"), "\(failure.description)")
    }

    @Test func malformedSavedModel() throws {
        let dir = try Fixtures.scratchDirectory("porter-tf-sm")
        try Data([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x01]).write(to: dir.appendingPathComponent("saved_model.pb"))
        #expect { try TensorFlowSavedModelReader().read(dir, options: ReadOptions()) } throws: { error in
            guard case let TensorFlowError.badSavedModel(file, _) = error else { return false }
            return file.hasSuffix("saved_model.pb")
        }
        // Deep nesting stops at the recursion limit instead of exhausting the stack.
        func field(_ n: UInt8, _ payload: [UInt8]) -> [UInt8] { [(n << 3) | 2] + varint(payload.count) + payload }
        var attr: [UInt8] = []  // AttrValue → func NameAttrList → attr map entry → value AttrValue → ...
        for _ in 0..<5_000 { attr = field(10, field(2, field(2, attr))) }
        let nested = field(2, field(2, field(1, field(5, field(2, attr)))))  // SavedModel.meta_graphs.graph_def.node.attr
        try Data(nested).write(to: dir.appendingPathComponent("saved_model.pb"))
        #expect(throws: TensorFlowError.self) { try TensorFlowSavedModelReader().read(dir, options: ReadOptions()) }
    }

    func varint(_ n: Int) -> [UInt8] {
        var v = UInt64(n), out: [UInt8] = []
        repeat { var b = UInt8(v & 0x7F); v >>= 7; if v != 0 { b |= 0x80 }; out.append(b) } while v != 0
        return out
    }
}
