import Foundation
import PorterCore
import PorterHDF5
import PorterTestSupport
import Testing

/// Checks a graph is well formed: every input is a graph input, an earlier output, a
/// weight in the store, or "" (omitted optional); every op is in docs/ops.md.
func checkWellFormed(_ graph: Graph, _ model: NeutralModel) {
    let ops: Set<String> = ["add", "sub", "mul", "div", "neg", "exp", "sqrt", "rsqrt", "erf", "tanh", "sigmoid", "relu", "relu6", "silu",
                            "gelu", "identity", "scale", "cast", "reshape", "transpose", "slice", "concat", "split", "flatten", "squeeze",
                            "unsqueeze", "pad", "matmul", "linear", "mean", "softmax", "layer_norm", "gather", "position_ids",
                            "sinusoidal_positions", "attention_mask", "causal_mask", "conv1d", "conv2d", "batch_norm", "max_pool",
                            "avg_pool", "global_avg_pool", "global_max_pool"]
    var known = Set(graph.inputs.map(\.name))
    for node in graph.nodes {
        #expect(ops.contains(node.op), "\(node.name): op \(node.op) is not in docs/ops.md")
        for i in node.inputs where !i.isEmpty {
            #expect(known.contains(i) || model.tensors[i] != nil, "\(node.name): input \(i) is undefined")
        }
        for o in node.outputs {
            #expect(!known.contains(o), "\(node.name): output \(o) defined twice")
            known.insert(o)
        }
    }
    for o in graph.outputs { #expect(known.contains(o.name), "graph output \(o.name) is never produced") }
}

func node(_ graph: Graph, _ name: String) -> GraphNode? { graph.nodes.first { $0.name == name } }

@Suite("Keras graph builder")
struct KerasGraphTests {
    @Test("Sequential MLP: linear(in_out) → relu → dropout identity → linear → softmax")
    func sequentialMLP() throws {
        let model = try readFixture("mlp_sequential.h5")
        let g = try #require(model.graph)
        checkWellFormed(g, model)
        #expect(g.inputs == [GraphValue(name: "input_1", dtype: .f32, shape: [-1, 8])])
        #expect(g.nodes.map(\.op) == ["linear", "relu", "identity", "linear", "softmax"])
        let d = try #require(node(g, "dense_in"))
        #expect(d.inputs == ["input_1", "dense_in/dense_in/kernel:0", "dense_in/dense_in/bias:0"])
        #expect(d.attributes["weight_layout"] == "in_out")
        #expect(g.outputs.map(\.name) == ["dense_out"])
    }

    @Test("Functional CNN: conv HWIO, batch norm, separable = depthwise HWIM + pointwise, residual add, padding")
    func functionalCNN() throws {
        let model = try readFixture("cnn_functional.h5")
        let g = try #require(model.graph)
        checkWellFormed(g, model)
        #expect(g.inputs.first?.shape == [-1, 8, 8, 3])
        let conv = try #require(node(g, "conv"))
        #expect(conv.op == "conv2d" && conv.attributes["kernel_layout"] == "HWIO" && conv.attributes["padding"] == "same")
        #expect(conv.attributes["data_format"] == "channels_last")
        let bn = try #require(node(g, "bn"))
        #expect(bn.op == "batch_norm")
        #expect(bn.inputs.dropFirst().map { $0.split(separator: "/").last.map(String.init) ?? "" } == ["gamma:0", "beta:0", "moving_mean:0", "moving_variance:0"])
        #expect(bn.attributes["axis"] == 3)
        #expect(bn.attributes["epsilon"]?.doubleValue == 0.001)
        let dw = try #require(node(g, "sep/depthwise"))
        #expect(dw.attributes["kernel_layout"] == "HWIM" && dw.attributes["groups"] == 4)
        let pw = try #require(node(g, "sep/pointwise"))
        #expect(pw.attributes["kernel_layout"] == "HWIO" && pw.inputs.count == 3)
        let add = try #require(node(g, "residual"))
        #expect(add.op == "add" && add.inputs == ["relu", "sep"])
        let pad = try #require(node(g, "zpad"))
        #expect(pad.attributes["pads"] == [0, 0, 1, 0, 0, 2, 0, 0])
        let dwc = try #require(node(g, "dw"))
        #expect(dwc.attributes["kernel_layout"] == "HWIM" && dwc.attributes["padding"] == "valid")
        #expect(node(g, "dw/relu") != nil)
        let avg = try #require(node(g, "avg"))
        #expect(avg.op == "avg_pool" && avg.attributes["padding"] == "same" && avg.attributes["kernel"] == [2, 2])
        #expect(node(g, "pool")?.op == "max_pool")
        #expect(node(g, "gap")?.op == "global_avg_pool")
        #expect(g.outputs.map(\.name) == ["logits"])
        #expect(node(g, "logits")?.outputs == ["logits"])  // linear activation: no extra node
    }

    @Test("Functional zoo: embedding, conv1d WIO, layer norm, merges, pooling 1D, permute, flatten, reshape")
    func functionalZoo() throws {
        let model = try readFixture("zoo_functional.h5")
        let g = try #require(model.graph)
        checkWellFormed(g, model)
        #expect(g.inputs == [GraphValue(name: "ids", dtype: .i64, shape: [-1, 6])])
        #expect(node(g, "embed")?.op == "gather")
        #expect(node(g, "embed")?.inputs == ["embed/embed/embeddings:0", "ids"])
        #expect(node(g, "conv1d")?.attributes["kernel_layout"] == "WIO")
        #expect(node(g, "conv1d/tanh") != nil)
        #expect(node(g, "ln")?.op == "layer_norm" && node(g, "ln")?.attributes["axis"] == -1)
        #expect(node(g, "ln")?.attributes["epsilon"]?.doubleValue == 1e-5)
        #expect(node(g, "gate/sigmoid") != nil)
        #expect(node(g, "mul")?.op == "mul" && node(g, "mul")?.inputs == ["ln", "gate"])
        #expect(node(g, "cat")?.op == "concat" && node(g, "cat")?.attributes["axis"] == -1)
        #expect(node(g, "permute")?.attributes["perm"] == [0, 2, 1])
        #expect(node(g, "reshape")?.attributes["shape"] == [0, 4, 12])
        #expect(node(g, "flatten")?.op == "flatten")
        #expect(node(g, "gmp1d")?.op == "global_max_pool")
        #expect(node(g, "cat2")?.inputs == ["gap1d", "gmp1d", "flatten2"])
        #expect(node(g, "softmax")?.op == "softmax")
        #expect(node(g, "act/relu") != nil)
    }

    @Test("a Lambda layer: no graph, a note naming it, weights still read")
    func lambdaRefused() throws {
        let model = try readFixture("lambda_model.h5")
        #expect(model.graph == nil)
        #expect(model.tensors.count == 2)
        #expect(model.notes.contains { $0.contains("double_it") && $0.contains("Lambda") })
    }

    @Test("unknown layer class is an error naming the layer and class")
    func unknownLayer() throws {
        let config: JSONValue = ["class_name": "Sequential", "config": ["layers": [
            ["class_name": "InputLayer", "config": ["name": "x", "batch_input_shape": [nil, 3]]],
            ["class_name": "MyCustomLayer", "config": ["name": "custom"]],
        ]]]
        #expect(throws: KerasGraphError.unsupportedLayer(layer: "custom", className: "MyCustomLayer")) {
            try KerasGraphBuilder(weights: .keras2(TensorStore())).build(config)
        }
    }

    @Test("a graph whose weights do not fit its layers fails the op specs, naming the node")
    func graphFailingTheOpSpecs() throws {
        let config: JSONValue = ["class_name": "Sequential", "config": ["layers": [
            ["class_name": "InputLayer", "config": ["name": "x", "batch_input_shape": [nil, 5]]],
            ["class_name": "Dense", "config": ["name": "fc", "use_bias": false, "activation": "linear"]],
        ]]]
        let kernel = TensorEntry(name: "fc/kernel:0", tensor: .memory([UInt8](repeating: 0, count: 48), dtype: .f32, shape: [3, 4], label: "k"),
                                 provenance: Provenance(sourceFile: "t.h5", sourceName: "fc/kernel:0"))
        do {
            _ = try KerasGraphBuilder(weights: .keras2(try TensorStore([kernel]))).build(config)
            Issue.record("a [3, 4] kernel after a 5-feature input must not validate")
        } catch {
            #expect(error.localizedDescription.contains("node fc (linear)"), "\(error.localizedDescription)")
            #expect(error.localizedDescription.contains("3 input features, x has 5"), "\(error.localizedDescription)")
        }
    }

    @Test("Keras 3 Functional: dict-style inbound nodes, depthwise/separable/layer-norm vars by position")
    func keras3Functional() throws {
        let model = try readFixture("keras3_functional.keras")
        let g = try #require(model.graph, "\(model.notes)")
        checkWellFormed(g, model)
        #expect(g.inputs == [GraphValue(name: "img", dtype: .f32, shape: [-1, 6, 6, 2])])
        #expect(node(g, "res")?.inputs == ["bn", "dw"])
        #expect(node(g, "cat")?.inputs == ["gmp", "ln"])
        #expect(node(g, "dw")?.attributes["kernel_layout"] == "HWIM")
        #expect(node(g, "sep/pointwise")?.inputs.count == 3)
        #expect(g.outputs.map(\.name) == ["out"])
    }

    @Test("Keras 3 config.json graph uses the layers/<name>/vars/<i> weights")
    func keras3Graph() throws {
        let model = try readFixture("keras3_mlp.keras")
        let g = try #require(model.graph)
        checkWellFormed(g, model)
        #expect(g.nodes.map(\.op) == ["linear", "relu", "batch_norm", "linear"])
        #expect(!g.nodes.contains { $0.op == "identity" })
        #expect(node(g, "hidden")?.inputs == ["features", "layers/dense/vars/0", "layers/dense/vars/1"])
        #expect(node(g, "norm")?.inputs.dropFirst().map { $0 } == (0..<4).map { "layers/batch_normalization/vars/\($0)" })
    }
}
