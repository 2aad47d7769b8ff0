import Foundation
import PorterArchitectures
import PorterCore
import PorterOps
@testable import PorterRuntime
import PorterTestSupport
import Testing

/// Deterministic values for a tensor of `shape`.
private func ramp(_ shape: [Int]) -> HostTensor {
    HostTensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { Float($0 % 7) * 0.25 + 0.5 })
}

/// One sample node per op: inputs, attributes (every one the op declares, where it makes
/// sense, so the kernel reads them through the spec), and how many outputs it makes.
private let samples: [(op: String, inputs: [HostTensor?], attributes: [String: JSONValue], outputs: Int)] = [
    ("add", [ramp([2, 1]), ramp([3])], [:], 1),
    ("sub", [i([2], [5, 1]), i([2], [2, 2])], [:], 1),
    ("mul", [ramp([2, 3]), ramp([3])], [:], 1),
    ("div", [ramp([2]), ramp([2])], [:], 1),
    ("neg", [i([2], [1, -2])], [:], 1),
    ("exp", [ramp([2])], [:], 1), ("sqrt", [ramp([2])], [:], 1), ("rsqrt", [ramp([2])], [:], 1),
    ("erf", [ramp([2])], [:], 1), ("tanh", [ramp([2])], [:], 1), ("sigmoid", [ramp([2])], [:], 1),
    ("relu", [ramp([2])], [:], 1), ("relu6", [ramp([2])], [:], 1), ("silu", [ramp([2])], [:], 1),
    ("gelu", [ramp([2, 2])], ["approximate": "tanh"], 1),
    ("identity", [ramp([3])], [:], 1),
    ("scale", [ramp([3])], ["factor": 0.5], 1),
    ("cast", [ramp([3])], ["dtype": "i64"], 1),
    ("not_equal", [i([3], [1, 2, 1])], ["value": 1], 1),
    ("reshape", [ramp([2, 3])], ["shape": [3, -1]], 1),
    ("transpose", [ramp([2, 3, 4])], ["perm": [2, 0, 1]], 1),
    ("slice", [ramp([2, 5])], ["axis": 1, "start": 1, "end": -1, "step": 2], 1),
    ("concat", [ramp([2, 3]), ramp([1, 3])], ["axis": 0], 1),
    ("split", [ramp([2, 3])], ["axis": 1, "sizes": [1, 2]], 2),
    ("flatten", [ramp([2, 1, 3])], ["axis": 1], 1),
    ("squeeze", [ramp([2, 1, 3])], ["axes": [1]], 1),
    ("unsqueeze", [ramp([2, 3])], ["axes": [0, -1]], 1),
    ("pad", [ramp([2, 3])], ["pads": [0, 1, 2, 0], "value": 2], 1),
    ("pad", [ramp([2, 3])], ["pads": [1, 1, 2, 2], "mode": "reflect"], 1),
    ("pad", [ramp([2, 3])], ["pads": [0, 1, 3, 0], "mode": "edge"], 1),
    ("slice", [ramp([2, 5])], ["axis": 1, "start": -1, "end": -100, "step": -2], 1),
    ("matmul", [ramp([2, 2, 3]), ramp([4, 3])], ["transpose_a": false, "transpose_b": true], 1),
    ("linear", [ramp([2, 3]), ramp([3, 4]), ramp([4])], ["weight_layout": "in_out"], 1),
    ("mean", [ramp([2, 3, 4])], ["axes": [1, 2], "keepdims": true], 1),
    ("softmax", [ramp([2, 3])], ["axis": 0], 1),
    ("layer_norm", [ramp([2, 3]), ramp([3]), ramp([3])], ["axis": -1, "epsilon": 1e-6], 1),
    ("gather", [ramp([4, 2]), i([2, 2], [0, 3, 1, 2])], ["axis": 0], 1),
    ("position_ids", [i([1, 4], [5, 6, 1, 1])], ["offset": 0, "padding_idx": 1], 1),
    ("sinusoidal_positions", [i([1, 3], [2, 3, 4])], ["dim": 6, "padding_idx": 1, "style": "fairseq"], 1),
    ("attention_mask", [i([2, 3], [1, 1, 0, 1, 0, 0])], ["causal": true], 1),
    ("causal_mask", [ramp([1, 3, 2])], [:], 1),
    ("conv1d", [ramp([1, 2, 6]), ramp([3, 2, 2]), ramp([3])],
     ["strides": [2], "dilations": [1], "padding": [1], "groups": 1, "data_format": "channels_first", "kernel_layout": "OIW"], 1),
    ("conv2d", [ramp([1, 5, 5, 2]), ramp([3, 3, 2, 4])],
     ["strides": [2, 2], "dilations": [1, 1], "padding": "same", "groups": 1, "data_format": "channels_last", "kernel_layout": "HWIO"], 1),
    ("batch_norm", [ramp([1, 2, 2]), ramp([2]), ramp([2]), ramp([2]), ramp([2])], ["epsilon": 1e-3, "axis": -1], 1),
    ("max_pool", [ramp([1, 4, 4, 1])], ["kernel": [2, 2], "strides": [2, 2], "padding": "valid", "data_format": "channels_last"], 1),
    ("avg_pool", [ramp([1, 2, 5, 5])], ["kernel": [3, 3], "strides": [2, 2], "padding": "same", "data_format": "channels_first"], 1),
    ("global_avg_pool", [ramp([1, 2, 2, 3])], ["data_format": "channels_last", "keepdims": true], 1),
    ("global_max_pool", [ramp([1, 3, 2, 2])], ["data_format": "channels_first", "keepdims": false], 1),
    // Keras layers (PorterOps/KerasOps.swift).
    ("activation", [ramp([2, 3])], ["function": "relu", "alpha": 0.1, "beta": 0.6, "max_value": 1.5], 1),
    ("log_softmax", [ramp([2, 3])], ["axis": 0], 1),
    ("sparsemax", [ramp([2, 3])], ["axis": -1], 1), ("glu", [ramp([2, 4])], ["axis": 1], 1),
    ("maximum", [ramp([2, 3]), ramp([3])], [:], 1), ("minimum", [ramp([2, 1]), ramp([3])], [:], 1),
    ("prelu", [ramp([2, 3]), ramp([3])], [:], 1),
    ("repeat", [ramp([2, 3])], ["axis": 1, "repeats": 2], 1),
    ("conv_transpose1d", [ramp([1, 3, 2]), ramp([3, 4, 2]), ramp([4])],
     ["strides": [2], "dilations": [1], "padding": "same", "output_padding": [1], "kernel_layout": "WOI"], 1),
    ("conv_transpose2d", [ramp([1, 2, 3, 2]), ramp([2, 3, 1, 2])],
     ["strides": [2, 1], "dilations": [1, 2], "padding": "valid", "output_padding": [1, 0], "kernel_layout": "HWOI"], 1),
    ("rnn", [ramp([2, 3, 2]), ramp([2, 6]), ramp([2, 6]), ramp([2, 6]), i([2, 3], [1, 1, 0, 1, 0, 1])],
     ["cell": "gru", "activation": "tanh", "recurrent_activation": "hard_sigmoid", "return_sequences": true, "go_backwards": true,
      "reset_after": true, "zero_output_for_mask": true, "align_outputs": true], 1),
    ("masking", [ramp([2, 3, 2])], ["mask_value": 0.5], 2),
    // Decoder-only language model ops (DecoderOps.swift).
    ("rms_norm", [ramp([2, 3]), ramp([3])], ["epsilon": 1e-5, "weight_offset": 1], 1),
    ("rotary_embedding", [ramp([1, 3, 2, 8]), i([1, 3], [0, 1, 2])],
     ["theta": 100, "rotary_dim": 4, "scaling": "llama3", "factor": 4, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_positions": 8, "layout": "interleaved"], 1),
    ("rotary_embedding", [ramp([2, 3, 1, 4]), i([2, 3], [0, 1, 2, 0, 1, 2])],
     ["theta": 1000, "scaling": "yarn", "factor": 2, "original_max_positions": 4, "beta_fast": 16, "beta_slow": 2, "attention_factor": 1.1,
      "mscale": 1, "mscale_all_dim": 1, "truncate": false], 1),
    ("rotary_embedding", [ramp([1, 5, 1, 6]), i([1, 5], [0, 1, 2, 3, 4])], ["theta": 10000, "scaling": "dynamic", "factor": 2, "max_positions": 2], 1),
    ("window_attention_mask", [i([2, 3], [1, 1, 1, 1, 1, 0])], ["window": 2], 1),
    ("equal", [i([2], [1, 2]), i([1], [2])], [:], 1), ("less", [ramp([2, 2]), ramp([2])], [:], 1),
    ("greater", [ramp([2]), ramp([2])], [:], 1), ("less_equal", [i([2], [1, 3]), i([2], [2, 2])], [:], 1),
    ("greater_equal", [ramp([3]), ramp([1])], [:], 1),
    ("logical_and", [i([2], [1, 0]), i([2], [1, 1])], [:], 1), ("logical_or", [i([2], [0, 0]), i([1], [1])], [:], 1),
    ("logical_xor", [i([2], [1, 0]), ramp([2])], [:], 1), ("logical_not", [i([3], [0, 2, 0])], [:], 1),
    ("where", [i([2, 1], [1, 0]), ramp([3]), ramp([2, 3])], [:], 1),
    ("cumsum", [ramp([2, 3])], ["axis": 1, "exclusive": true, "reverse": true], 1),
    ("fill", [ramp([2, 3])], ["dims": [-2, 4], "value": 3, "dtype": "i64"], 1),
    ("trilu", [ramp([2, 3, 3])], ["upper": false, "k": 1], 1),
    ("reciprocal", [ramp([3])], [:], 1),
    // ONNX import ops (ONNXImportOps.swift).
    ("expand", [ramp([2, 1]), ramp([3, 2, 4])], ["shape": [-1, 1, 3]], 1),
    ("tile", [ramp([2, 3])], ["repeats": [2, 1]], 1),
    ("resize", [ramp([1, 1, 2, 3])], ["mode": "linear", "coordinate_transformation_mode": "align_corners", "nearest_mode": "floor", "scales": [1, 1, 2, 1.5]], 1),
    ("resize", [ramp([1, 1, 2, 3])], ["mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "round_prefer_ceil", "sizes": [-1, -2, 3, 5]], 1),
    ("conv_transpose", [ramp([1, 2, 3, 3]), ramp([2, 2, 2, 2]), ramp([4])],
     ["strides": [2, 2], "dilations": [1, 1], "pads": [0, 1, 0, 1], "output_padding": [1, 0], "groups": 2], 1),
    ("instance_norm", [ramp([1, 2, 3]), ramp([2]), ramp([2])], ["epsilon": 1e-3], 1),
    ("reduce", [ramp([2, 3])], ["function": "log_sum_exp", "axes": [1], "keepdims": false], 1),
    ("range", [i([], [1]), i([], [9]), i([], [2])], [:], 1),
    ("lstm", [ramp([3, 2, 4]), ramp([2, 12, 4]), ramp([2, 12, 3]), ramp([2, 24]), ramp([2, 2, 3]), ramp([2, 2, 3])],
     ["hidden_size": 3, "direction": "bidirectional"], 3),
    ("lstm", [ramp([2, 1, 4]), ramp([1, 8, 4]), ramp([1, 8, 2])], ["hidden_size": 2, "direction": "reverse"], 3),
    ("shape", [ramp([2, 3, 1])], [:], 1),
    ("constant_of_shape", [i([2], [2, 3])], ["value": 1.5, "dtype": "f32"], 1),
    ("expand_to", [ramp([3, 1]), i([3], [2, 3, 4])], [:], 1),
]

@Suite struct OpSpecRegistryTests {
    @Test func everySpecHasExactlyOneKernelAndTheStandardRegistryBuilds() throws {
        let registry = try KernelRegistry.makeStandard()
        #expect(registry.ops == OpSet.names, "specs without a kernel: \(OpSet.names.subtracting(registry.ops)); kernels without a spec: \(registry.ops.subtracting(OpSet.names))")
        #expect(GraphExecutor.supportedOps == OpSet.names)
        #expect(OpSet.all.count == OpSet.names.count, "two specs share a name")
    }

    @Test func registeringTwoKernelsForAnOpOrAKernelWithoutASpecIsAnError() throws {
        var registry = KernelRegistry()
        try registry.register("relu") { ctx in [try ctx.input(0)] }
        #expect(throws: KernelRegistry.RegistrationError.duplicateKernel(op: "relu")) { try registry.register("relu") { ctx in [try ctx.input(0)] } }
        #expect(throws: KernelRegistry.RegistrationError.noSpec(op: "frobnicate")) { try registry.register("frobnicate") { _ in [] } }
        #expect(registry.ops == ["relu"])
    }

    @Test func docsOpsListsExactlyTheSpecs() throws {
        // The first column of every table in docs/ops.md names ops in backticks.
        let doc = try String(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("docs/ops.md"), encoding: .utf8)
        var documented = Set<String>()
        for line in doc.split(separator: "\n") where line.hasPrefix("| `") {
            let firstCell = line.split(separator: "|")[0]
            let parts = firstCell.split(separator: "`", omittingEmptySubsequences: false)
            for (k, part) in parts.enumerated() where k % 2 == 1 { documented.insert(String(part)) }
        }
        #expect(documented == OpSet.names, "documented without a spec: \(documented.subtracting(OpSet.names)); specs not documented: \(OpSet.names.subtracting(documented))")
    }

    /// Runs every kernel once through the executor (so a kernel reading an undeclared
    /// attribute fails here) and checks the spec's inferred output types are what it made.
    @Test func everyKernelRunsAndMatchesItsSpecsInference() throws {
        #expect(Set(samples.map(\.op)) == OpSet.names, "ops without a sample: \(OpSet.names.subtracting(samples.map(\.op)))")
        // Every declared attribute is set by some sample, so the kernel code reading it runs.
        for spec in OpSet.all {
            let set = Set(samples.filter { $0.op == spec.name }.flatMap(\.attributes.keys))
            #expect(Set(spec.attributes.map(\.name)).isSubset(of: set), "\(spec.name): no sample sets \(Set(spec.attributes.map(\.name)).subtracting(set))")
        }
        for sample in samples {
            var values: [GraphValue] = []
            var feed: [String: HostTensor] = [:]
            var names: [String] = []
            for (k, t) in sample.inputs.enumerated() {
                guard let t else { names.append(""); continue }
                values.append(GraphValue(name: "in\(k)", dtype: t.dtype, shape: t.shape))
                feed["in\(k)"] = t
                names.append("in\(k)")
            }
            let outs = (0..<sample.outputs).map { "out\($0)" }
            let graph = Graph(inputs: values, outputs: outs.map { GraphValue(name: $0, dtype: .f32, shape: []) },
                              nodes: [GraphNode(name: "n", op: sample.op, inputs: names, outputs: outs, attributes: sample.attributes)], origin: "test")
            let inferred = try GraphValidator.validate(graph, weights: [:])
            let result = try GraphExecutor(graph: graph, weights: TensorStore()).run(feed)
            for name in outs {
                let actual = try #require(result.outputs[name])
                // Ops whose dims come from their inputs' values (`range`'s length, the dims
                // `constant_of_shape` and `expand_to` read at run time): inferred dynamic, of that rank.
                let valueShaped = ["range", "constant_of_shape", "expand_to"].contains(sample.op)
                let want = ValueType(dtype: actual.dtype, shape: valueShaped ? [Int](repeating: -1, count: actual.shape.count) : actual.shape)
                #expect(inferred[name] == want, "\(sample.op): inferred \(inferred[name]!), ran \(actual.dtype)\(actual.shape)")
            }
        }
    }

    @Test func aMisspeltAttributeFailsWhenTheExecutorIsBuilt() throws {
        let graph = Graph(inputs: [GraphValue(name: "x", dtype: .f32, shape: [2])], outputs: [GraphValue(name: "y", dtype: .f32, shape: [2])],
                          nodes: [GraphNode(name: "probs", op: "softmax", inputs: ["x"], outputs: ["y"], attributes: ["axsi": 0])], origin: "test")
        #expect(throws: RuntimeError.invalidNode(.unknownAttribute(node: "probs", op: "softmax", attribute: "axsi", known: ["axis"]))) {
            try GraphExecutor(graph: graph, weights: TensorStore())
        }
        var wrongType = graph
        wrongType.nodes[0].attributes = ["axis": "last"]
        #expect(throws: RuntimeError.self) { try GraphExecutor(graph: wrongType, weights: TensorStore()) }
    }

    /// The builders' graphs fit the specs on the fixtures' real weights, and the inferred
    /// output shapes (for the reference inputs' dims) are what the runtime produces.
    @Test(arguments: ["bert", "roberta", "gpt2", "fsmt"])
    func builtGraphsInferTheShapesTheyRunWith(name: String) throws {
        let fixture = try ArchitectureReferenceTests.load(name)
        let (graph, result) = try ArchitectureReferenceTests.run(fixture)
        var concrete = graph
        for (k, input) in graph.inputs.enumerated() { concrete.inputs[k].shape = try #require(fixture.reference[input.name]).tensor.shape.dims }
        let types = try GraphValidator.validate(concrete, tensors: fixture.weights)
        for output in graph.outputs {
            let actual = try #require(result.outputs[output.name])
            #expect(types[output.name]?.shape == actual.shape, "\(name) \(output.name)")
        }
        // With dynamic input dims the graph validates too, keeping the model dims it knows.
        let dynamic = try GraphValidator.validate(graph, tensors: fixture.weights)
        for output in graph.outputs { #expect(dynamic[output.name]?.shape?.last == result.outputs[output.name]?.shape.last, "\(name) \(output.name)") }
    }
}

@Suite struct MemoryPlanTests {
    static func weight(_ name: String, _ shape: [Int]) -> TensorEntry {
        ExecutorBehaviourTests.weight(name, [Float](repeating: 0.5, count: shape.reduce(1, *)), shape)
    }

    @Test func peakLiveBytesMatchAHandComputation() throws {
        let graph = Graph(inputs: [GraphValue(name: "x", dtype: .f32, shape: [-1, 4])], outputs: [GraphValue(name: "y", dtype: .f32, shape: [-1, 2])],
                          nodes: [GraphNode(name: "fc1", op: "linear", inputs: ["x", "w1"], outputs: ["a"]),
                                  GraphNode(name: "act", op: "relu", inputs: ["a"], outputs: ["r"]),
                                  GraphNode(name: "fc2", op: "linear", inputs: ["r", "w2"], outputs: ["y"])], origin: "test")
        let executor = try GraphExecutor(graph: graph, weights: try TensorStore([Self.weight("w1", [8, 4]), Self.weight("w2", [2, 8])]))
        let plan = try executor.memoryPlan(inputShapes: ["x": [3, 4]])
        // x = 3·4·4 = 48 B. fc1: + a (3·8·4 = 96) = 144, x freed → 96. act: + r (96) = 192, a freed → 96.
        // fc2: + y (3·2·4 = 24) = 120, r freed → 24. Peak 192 after act. Weights (32 + 16)·4 = 192 B,
        // or packed for the AVX-512 GEMM (panels of 48 output columns): (48·4 + 48·8)·4 = 2304 B.
        #expect(plan.liveAfterNode == [144, 192, 120])
        #expect(plan.peakBytes == 192)
        #expect(plan.peakNode == "act")
        #expect(plan.weightBytes == (PackedMatrix.enabled ? 2304 : 192))
        // Twice the batch, twice the activations.
        #expect(try executor.memoryPlan(inputShapes: ["x": [6, 4]]).peakBytes == 384)
        #expect(throws: RuntimeError.self) { try executor.memoryPlan(inputShapes: ["x": [3, 5]]) }
        #expect(throws: RuntimeError.missingInput(name: "x")) { try executor.memoryPlan(inputShapes: [:]) }
    }

    @Test func int64ValuesCountEightBytes() throws {
        let graph = Graph(inputs: [GraphValue(name: "ids", dtype: .i64, shape: [-1])], outputs: [GraphValue(name: "e", dtype: .f32, shape: [-1, 4])],
                          nodes: [GraphNode(name: "embed", op: "gather", inputs: ["table", "ids"], outputs: ["e"])], origin: "test")
        let executor = try GraphExecutor(graph: graph, weights: try TensorStore([Self.weight("table", [10, 4])]))
        let plan = try executor.memoryPlan(inputShapes: ["ids": [5]])
        // ids 5·8 = 40 B; + e 5·4·4 = 80 B → 120 B.
        #expect(plan.liveAfterNode == [120])
        #expect(plan.peakBytes == 120)
    }
}
