import PorterCore
import PorterOps
import Testing

private func node(_ op: String, _ inputs: [String], _ attributes: [String: JSONValue] = [:], outputs: [String] = ["y"]) -> GraphNode {
    GraphNode(name: "block.\(op)", op: op, inputs: inputs, outputs: outputs, attributes: attributes)
}

/// Infers the output types of one node over inputs of the given types.
private func infer(_ op: String, _ inputs: [ValueType?], _ attributes: [String: JSONValue] = [:], outputs: Int = 1) throws -> [ValueType] {
    let names = inputs.enumerated().map { $0.element == nil ? "" : "in\($0.offset)" }
    var weights: [String: ValueType] = [:]
    for (i, t) in inputs.enumerated() { if let t { weights["in\(i)"] = t } }
    let outs = (0..<outputs).map { "out\($0)" }
    let graph = Graph(inputs: [], outputs: outs.map { GraphValue(name: $0, dtype: .f32, shape: []) },
                      nodes: [node(op, names, attributes, outputs: outs)], origin: "test")
    let types = try GraphValidator.validate(graph, weights: weights)
    return outs.map { types[$0]! }
}

private func f32(_ shape: [Int]?) -> ValueType { ValueType(dtype: .f32, shape: shape) }
private func i64(_ shape: [Int]?) -> ValueType { ValueType(dtype: .i64, shape: shape) }

@Suite struct AttributeSpecTests {
    @Test func misspeltAttributeIsAnErrorNamingNodeAndKnownAttributes() throws {
        let spec = try #require(OpSet.spec("softmax"))
        #expect(throws: OpError.unknownAttribute(node: "block.softmax", op: "softmax", attribute: "axsi", known: ["axis"])) {
            try spec.decodeAttributes(of: node("softmax", ["x"], ["axsi": -1]))
        }
        let message = OpError.unknownAttribute(node: "block.softmax", op: "softmax", attribute: "axsi", known: ["axis"]).localizedDescription
        #expect(message == "node block.softmax (softmax): unknown attribute 'axsi' (softmax takes: axis)")
    }

    @Test func wrongTypedAndMissingRequiredAttributesAreErrors() throws {
        let slice = try #require(OpSet.spec("slice"))
        #expect(throws: OpError.wrongAttributeType(node: "block.slice", op: "slice", attribute: "axis", expected: "an integer", found: "\"1\"")) {
            try slice.decodeAttributes(of: node("slice", ["x"], ["axis": "1"]))
        }
        #expect(throws: OpError.missingAttribute(node: "block.slice", op: "slice", attribute: "axis")) {
            try slice.decodeAttributes(of: node("slice", ["x"], [:]))
        }
        let gelu = try #require(OpSet.spec("gelu"))
        #expect(throws: OpError.self) { try gelu.decodeAttributes(of: node("gelu", ["x"], ["approximate": "fast"])) }
        let matmul = try #require(OpSet.spec("matmul"))
        #expect(throws: OpError.self) { try matmul.decodeAttributes(of: node("matmul", ["a", "b"], ["transpose_b": 1])) }
    }

    @Test func defaultsFillLeftOutAttributesAndNullCountsAsLeftOut() throws {
        let slice = try #require(OpSet.spec("slice"))
        let attrs = try slice.decodeAttributes(of: node("slice", ["x"], ["axis": 1, "step": .null]))
        #expect(try attrs.int("axis") == 1)
        #expect(try attrs.int("start") == 0)
        #expect(try attrs.int("step") == 1)
        #expect(try attrs.int("end") == Int.max)
        let gelu = try #require(OpSet.spec("gelu"))
        #expect(try gelu.decodeAttributes(of: node("gelu", ["x"])).string("approximate") == "none")
        // An optional attribute without a default reads as nil.
        let transpose = try #require(OpSet.spec("transpose"))
        #expect(try transpose.decodeAttributes(of: node("transpose", ["x"])).optionalInts("perm") == nil)
        // A single integer counts as a one-element list.
        #expect(try transpose.decodeAttributes(of: node("transpose", ["x"], ["perm": 0])).ints("perm") == [0])
    }

    @Test func readingAnUndeclaredAttributeIsAnError() throws {
        let attrs = try #require(OpSet.spec("softmax")).decodeAttributes(of: node("softmax", ["x"]))
        #expect(throws: OpError.undeclaredAttribute(op: "softmax", attribute: "axes")) { try attrs.int("axes") }
        #expect(throws: OpError.self) { try attrs.string("axis") }
    }

    @Test func inputCountsAndEmptyRequiredInputsAreChecked() throws {
        let linear = try #require(OpSet.spec("linear"))
        try linear.checkInputs(of: node("linear", ["x", "w"]))
        try linear.checkInputs(of: node("linear", ["x", "w", ""]))
        #expect(throws: OpError.wrongInputCount(node: "block.linear", op: "linear", expected: "2–3", got: 1)) { try linear.checkInputs(of: node("linear", ["x"])) }
        #expect(throws: OpError.missingInput(node: "block.linear", op: "linear", input: "weight")) { try linear.checkInputs(of: node("linear", ["x", ""])) }
        // batch_norm: gamma and beta may be "" but mean and variance follow them.
        let bn = try #require(OpSet.spec("batch_norm"))
        try bn.checkInputs(of: node("batch_norm", ["x", "", "", "m", "v"]))
        #expect(throws: OpError.self) { try bn.checkInputs(of: node("batch_norm", ["x", "g", "b", "m"])) }
        let concat = try #require(OpSet.spec("concat"))
        #expect(throws: OpError.self) { try concat.checkInputs(of: node("concat", [])) }
        #expect(throws: OpError.self) { try concat.checkInputs(of: node("concat", ["a", ""])) }
    }
}

@Suite struct ShapeInferenceTests {
    @Test func matmulInnerDimsKnownAndDifferentIsAnErrorNamingNodeOpAndShapes() throws {
        do {
            _ = try infer("matmul", [f32([2, 3]), f32([4, 5])])
            Issue.record("expected a mismatch")
        } catch let OpError.shapeMismatch(node, op, detail, inputs) {
            #expect(node == "block.matmul" && op == "matmul")
            #expect(detail.contains("3") && detail.contains("4"))
            #expect(inputs == ["f32[2, 3]", "f32[4, 5]"])
        }
        // A dynamic inner dim is not a certain mismatch; batch dims broadcast; -1 stays dynamic.
        #expect(try infer("matmul", [f32([-1, 8, 2, 3]), f32([-1, 5])]) == [f32([-1, 8, 2, 5])])
        #expect(try infer("matmul", [f32([1, 4, 3, 2]), f32([6, 1, 5, 2])], ["transpose_b": true]) == [f32([6, 4, 3, 5])])
        #expect(try infer("matmul", [f32([3, 2]), f32([3, 5])], ["transpose_a": true]) == [f32([2, 5])])
        #expect(throws: OpError.self) { try infer("matmul", [f32([2, 2, 3]), f32([3, 3, 5])]) }
        // An int64 operand is certain not to run.
        #expect(throws: OpError.self) { try infer("matmul", [i64([2, 3]), f32([3, 5])]) }
    }

    @Test func concatOfUnequalKnownNonAxisDimsIsAnError() throws {
        #expect(throws: OpError.self) { try infer("concat", [f32([2, 3]), f32([4, 4])], ["axis": 0]) }
        #expect(try infer("concat", [f32([2, 3]), f32([4, -1]), f32([-1, 3])], ["axis": 0]) == [f32([-1, 3])])
        #expect(try infer("concat", [f32([2, 3]), f32([2, 4])], ["axis": -1]) == [f32([2, 7])])
        #expect(try infer("concat", [i64([2]), i64([1])], ["axis": 0]) == [i64([3])])
        #expect(throws: OpError.self) { try infer("concat", [f32([2, 3]), f32([2])], ["axis": 0]) }
    }

    @Test func reshapeOfAKnownWrongElementCountIsAnError() throws {
        #expect(throws: OpError.self) { try infer("reshape", [f32([2, 3])], ["shape": [4, 2]]) }
        #expect(throws: OpError.self) { try infer("reshape", [f32([2, 3])], ["shape": [4, -1]]) }
        #expect(throws: OpError.self) { try infer("reshape", [f32([2, 3])], ["shape": [-1, -1]]) }
        #expect(try infer("reshape", [f32([2, 3])], ["shape": [3, -1]]) == [f32([3, 2])])
        // 0 copies the input dim; dynamic dims copied in place cancel out, so -1 is still inferred.
        #expect(try infer("reshape", [f32([-1, -1, 768])], ["shape": [0, 0, 12, -1]]) == [f32([-1, -1, 12, 64])])
        #expect(try infer("reshape", [f32([-1, 6])], ["shape": [-1, 3]]) == [f32([-1, 3])])
        #expect(throws: OpError.self) { try infer("reshape", [f32([-1, -1, 768])], ["shape": [0, 0, 10, -1]]) }
    }

    @Test func broadcastingArithmeticKeepsIntegersAndDynamicDims() throws {
        #expect(try infer("add", [f32([-1, 1, 4]), f32([3, 1])]) == [f32([-1, 3, 4])])
        #expect(try infer("add", [i64([2]), i64([2])]) == [i64([2])])
        #expect(try infer("div", [i64([2]), i64([2])]) == [f32([2])])
        #expect(try infer("mul", [f32([-1, 5]), f32([5])]) == [f32([-1, 5])])
        #expect(throws: OpError.self) { try infer("sub", [f32([2, 3]), f32([4])]) }
        // An unknown weight type makes no claim on the shape; a float operand makes the result float.
        #expect(try infer("add", [.unknown, f32([3])]) == [f32(nil)])
        #expect(try infer("add", [.unknown, i64([3])]) == [ValueType(dtype: nil, shape: nil)])
    }

    @Test func linearConvolutionAndPoolingShapes() throws {
        #expect(try infer("linear", [f32([-1, 7, 4]), f32([6, 4]), f32([6])]) == [f32([-1, 7, 6])])
        #expect(try infer("linear", [f32([2, 4]), f32([4, 6])], ["weight_layout": "in_out"]) == [f32([2, 6])])
        #expect(throws: OpError.self) { try infer("linear", [f32([2, 5]), f32([6, 4])]) }
        #expect(throws: OpError.self) { try infer("linear", [f32([2, 4]), f32([6, 4]), f32([5])]) }
        // Keras layouts: channels_last, HWIO, "same" padding with stride 2: ⌈5/2⌉ = 3.
        #expect(try infer("conv2d", [f32([-1, 5, 5, 3]), f32([3, 3, 3, 8])],
                          ["kernel_layout": "HWIO", "strides": [2, 2], "padding": "same"]) == [f32([-1, 3, 3, 8])])
        // PyTorch: OIHW, channels_first, explicit padding 1, dilation 2: (6 + 2 − 5)/1 + 1 = 4.
        #expect(try infer("conv2d", [f32([1, 4, 6, 6]), f32([8, 2, 3, 3])], ["groups": 2, "padding": 1, "dilations": 2]) == [f32([1, 8, 4, 4])])
        #expect(throws: OpError.self) { try infer("conv2d", [f32([1, 3, 6, 6]), f32([8, 2, 3, 3])]) }
        // Depthwise HWIM: groups default to the input channels, out = C · M.
        #expect(try infer("conv2d", [f32([1, 4, 4, 3]), f32([2, 2, 3, 2])], ["kernel_layout": "HWIM"]) == [f32([1, 3, 3, 6])])
        #expect(try infer("conv1d", [f32([2, 3, 10]), f32([5, 3, 4])], ["strides": 2]) == [f32([2, 5, 4])])
        #expect(try infer("max_pool", [f32([1, 5, 5, 2])], ["kernel": [2, 2]]) == [f32([1, 2, 2, 2])])
        #expect(try infer("avg_pool", [f32([1, 5, 5, 2])], ["kernel": [2, 2], "strides": [1, 1], "padding": "same"]) == [f32([1, 5, 5, 2])])
        #expect(try infer("global_avg_pool", [f32([-1, 2, 2, 8])], ["keepdims": true]) == [f32([-1, 1, 1, 8])])
        #expect(throws: OpError.self) { try infer("max_pool", [f32([1, 5, 2])], ["kernel": [2, 2]]) }
    }

    @Test func shapeOpsEmbeddingsAndMasks() throws {
        #expect(try infer("transpose", [f32([2, 3, 4])], ["perm": [0, 2, 1]]) == [f32([2, 4, 3])])
        #expect(try infer("transpose", [f32([2, 3])]) == [f32([3, 2])])
        #expect(throws: OpError.self) { try infer("transpose", [f32([2, 3])], ["perm": [0, 0]]) }
        #expect(try infer("slice", [f32([4, 10])], ["axis": 1, "start": 1, "end": -1, "step": 3]) == [f32([4, 3])])
        #expect(try infer("split", [f32([2, 5])], ["axis": 1, "sizes": [3, 2]], outputs: 2) == [f32([2, 3]), f32([2, 2])])
        #expect(throws: OpError.self) { try infer("split", [f32([2, 5])], ["axis": 1, "sizes": [3, 3]], outputs: 2) }
        #expect(throws: OpError.wrongOutputCount(node: "block.split", op: "split", expected: 2, got: 3)) {
            try infer("split", [f32([2, 5])], ["axis": 1, "sizes": [3, 2]], outputs: 3)
        }
        #expect(try infer("flatten", [f32([-1, 2, 3])]) == [f32([-1, 6])])
        #expect(try infer("squeeze", [f32([2, 1, 3])], ["axes": [1]]) == [f32([2, 3])])
        #expect(throws: OpError.self) { try infer("squeeze", [f32([2, 4, 3])], ["axes": [1]]) }
        #expect(try infer("unsqueeze", [f32([2, 3])], ["axes": [0, -1]]) == [f32([1, 2, 3, 1])])
        #expect(try infer("pad", [f32([2, -1])], ["pads": [1, 1, 0, 2]]) == [f32([4, -1])])
        #expect(try infer("mean", [f32([2, 3, 4])], ["axes": [-1], "keepdims": true]) == [f32([2, 3, 1])])
        #expect(try infer("gather", [f32([50, 8]), i64([-1, -1])]) == [f32([-1, -1, 8])])
        #expect(try infer("position_ids", [i64([2, 5])], ["padding_idx": 1]) == [i64([2, 5])])
        #expect(try infer("sinusoidal_positions", [i64([2, 5])], ["dim": 16]) == [f32([2, 5, 16])])
        #expect(try infer("attention_mask", [i64([-1, 7])], ["causal": true]) == [f32([-1, 1, 7, 7])])
        #expect(try infer("causal_mask", [f32([2, 7, 4])]) == [f32([1, 1, 7, 7])])
        #expect(try infer("cast", [f32([3])], ["dtype": "i64"]) == [i64([3])])
        #expect(try infer("not_equal", [f32([3])], ["value": 1]) == [i64([3])])
        #expect(throws: OpError.self) { try infer("layer_norm", [f32([2, 4]), f32([5]), f32([4])]) }
        #expect(throws: OpError.self) { try infer("softmax", [f32([2, 4])], ["axis": 2]) }
        #expect(throws: OpError.self) { try infer("exp", [i64([2])]) }
    }
}

@Suite struct GraphValidatorTests {
    static let graph = Graph(
        inputs: [GraphValue(name: "ids", dtype: .i64, shape: [-1, -1])],
        outputs: [GraphValue(name: "logits", dtype: .f32, shape: [-1, -1, 5])],
        nodes: [
            GraphNode(name: "embed", op: "gather", inputs: ["table", "ids"], outputs: ["h"]),
            GraphNode(name: "norm", op: "layer_norm", inputs: ["h", "ln.weight", ""], outputs: ["n"], attributes: ["epsilon": 1e-6]),
            GraphNode(name: "head", op: "linear", inputs: ["n", "head.weight"], outputs: ["logits"]),
        ], origin: "test")

    @Test func infersEveryValueFromInputsAndWeights() throws {
        let weights: [String: ValueType] = ["table": ValueType(dtype: .f32, shape: [10, 4]), "ln.weight": ValueType(dtype: .f32, shape: [4]),
                                            "head.weight": ValueType(dtype: .f32, shape: [5, 4])]
        let types = try GraphValidator.validate(Self.graph, weights: weights)
        #expect(types["h"] == f32([-1, -1, 4]))
        #expect(types["n"] == f32([-1, -1, 4]))
        #expect(types["logits"] == f32([-1, -1, 5]))
        #expect(types["ids"] == i64([-1, -1]))
    }

    @Test func aWrongWeightShapeIsCaughtBeforeRunning() throws {
        let weights: [String: ValueType] = ["table": f32([10, 4]), "ln.weight": f32([4]), "head.weight": f32([5, 3])]
        #expect(throws: OpError.self) { try GraphValidator.validate(Self.graph, weights: weights) }
        do { _ = try GraphValidator.validate(Self.graph, weights: weights) } catch {
            #expect(error.localizedDescription.contains("node head (linear)"))
        }
    }

    @Test func unknownOpMissingValueAndMissingOutputAreNamed() throws {
        var g = Self.graph
        g.nodes[1].op = "group_norm"
        #expect(throws: OpError.unknownOp(node: "norm", op: "group_norm")) { try GraphValidator.validate(g, weightNames: ["table", "ln.weight", "head.weight"]) }
        #expect(throws: OpError.missingValue(node: "head", op: "linear", name: "head.weight")) {
            try GraphValidator.validate(Self.graph, weightNames: ["table", "ln.weight"])
        }
        g = Self.graph
        g.outputs.append(GraphValue(name: "nowhere", dtype: .f32, shape: []))
        #expect(throws: OpError.missingOutput(name: "nowhere")) { try GraphValidator.validate(g, weightNames: ["table", "ln.weight", "head.weight"]) }
        // Names only (a builder's view): types stay unknown where the weights decide them.
        let types = try GraphValidator.validate(Self.graph, weightNames: ["table", "ln.weight", "head.weight"])
        #expect(types["logits"]?.dtype == .f32)
    }

    @Test func tensorStoreWeightsAreTypedAsTheRuntimeLoadsThem() throws {
        let store = try TensorStore([
            TensorEntry(name: "table", tensor: .memory([UInt8](repeating: 0, count: 80), dtype: .f16, shape: [10, 4], label: "t"),
                        provenance: Provenance(sourceFile: "t", sourceName: "table")),
            TensorEntry(name: "ln.weight", tensor: .memory([UInt8](repeating: 0, count: 16), dtype: .f32, shape: [4], label: "l"),
                        provenance: Provenance(sourceFile: "t", sourceName: "ln.weight")),
            TensorEntry(name: "head.weight", tensor: .memory([UInt8](repeating: 0, count: 40), dtype: .bf16, shape: [5, 4], label: "h"),
                        provenance: Provenance(sourceFile: "t", sourceName: "head.weight")),
        ])
        let types = try GraphValidator.validate(Self.graph, tensors: store)
        #expect(types["table"] == f32([10, 4]))
        #expect(types["logits"] == f32([-1, -1, 5]))
    }
}
