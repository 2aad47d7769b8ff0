import Foundation
import PorterCore
@testable import PorterONNX
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing

/// The second set of operators (fixtures/onnx/import_ops/, gen_onnx_import_ops.py): Expand,
/// Tile, Resize, ConvTranspose, InstanceNormalization, the Reduce family, Range, Shape after
/// Conv, If with a constant condition. Each model is imported, validated by the op specs and
/// run on Porter's runtime against every output ONNX Runtime recorded (within 1e-5), at the
/// recorded shape and, where the generator recorded one (`<name>@2`), at a second batch size.
@Suite struct ONNXImportOperatorTests {
    static func model(_ name: String) throws -> NeutralModel {
        try ONNXReader().read(Fixtures.url("onnx/import_ops/\(name).onnx"), options: ReadOptions())
    }

    /// The worst absolute difference over every output and every recorded feed.
    static func run(_ name: String, expectOps: Set<String>) throws -> Double {
        let model = try model(name)
        let graph = try #require(model.graph, "no graph: \(model.notes)")
        #expect(expectOps.isSubset(of: Set(graph.nodes.map(\.op))), "\(Set(graph.nodes.map(\.op)))")
        let io = try SafetensorsReader().read(Fixtures.url("onnx/import_ops/\(name).io.safetensors"), options: ReadOptions())
        let executor = try GraphExecutor(graph: graph, weights: model.tensors)
        var worst = 0.0
        var fed = 0
        for suffix in ["", "@2"] {
            guard graph.inputs.allSatisfy({ io.tensors[$0.name + suffix] != nil }) else { continue }
            var feeds: [String: HostTensor] = [:]
            for input in graph.inputs { feeds[input.name] = try HostTensor(try #require(io.tensors[input.name + suffix]).tensor) }
            let result = try executor.run(feeds)
            fed += 1
            for output in graph.outputs {
                let want = try #require(io.tensors[output.name + suffix], "\(output.name)\(suffix) not recorded").tensor
                let got = try #require(result.outputs[output.name], "\(output.name) not produced")
                #expect(got.shape == want.shape.dims, "\(output.name)\(suffix): \(got.shape) vs \(want.shape.dims)")
                let w = try HostTensor(want).floatValues
                #expect(got.floatValues.count == w.count, "\(output.name)\(suffix)")
                for (g, e) in zip(got.floatValues, w) { worst = max(worst, Double(abs(g - e))) }
            }
        }
        #expect(fed >= 1)
        return worst
    }

    @Test func expandAndTileMatchONNXRuntime() throws {
        let worst = try Self.run("expand_tile", expectOps: ["expand", "tile"])
        #expect(worst == 0, "max abs diff \(worst)")
        // Expand to Shape(y) needs the batch at run time: the node reads a value holding that
        // dim as `like` (x, the first graph input with y's `batch`).
        let graph = try #require(try Self.model("expand_tile").graph)
        let like = try #require(graph.nodes.first { $0.op == "expand" && $0.inputs.count == 2 })
        #expect(like.inputs == ["seed", "x"] && like.attributes["shape"] == .array([.int(-1), .int(5)]), "\(like)")
    }

    @Test func resizeModesMatchONNXRuntime() throws {
        let worst = try Self.run("resize", expectOps: ["resize"])
        #expect(worst <= 1e-5, "max abs diff \(worst)")
        // Every mode / coordinate transformation / nearest mode the generator recorded was imported.
        let graph = try #require(try Self.model("resize").graph)
        let seen = Set(graph.nodes.filter { $0.op == "resize" }.map {
            "\($0.attributes["mode"]?.stringValue ?? "")/\($0.attributes["coordinate_transformation_mode"]?.stringValue ?? "")/\($0.attributes["nearest_mode"]?.stringValue ?? "-")"
        })
        #expect(seen.count == 8, "\(seen)")
    }

    @Test func convTransposeMatchesONNXRuntime() throws {
        let worst = try Self.run("conv_transpose", expectOps: ["conv_transpose"])
        #expect(worst <= 1e-5, "max abs diff \(worst)")
    }

    @Test func instanceNormAndReductionsMatchONNXRuntime() throws {
        let worst = try Self.run("norm_reduce", expectOps: ["instance_norm", "reduce", "identity"])
        #expect(worst <= 1e-5, "max abs diff \(worst)")
        let graph = try #require(try Self.model("norm_reduce").graph)
        let functions = Set(graph.nodes.filter { $0.op == "reduce" }.compactMap { $0.attributes["function"]?.stringValue })
        #expect(functions == ["sum", "max", "min", "prod", "l1", "l2", "sum_square", "log_sum", "log_sum_exp"], "\(functions)")
    }

    /// Shape after Conv and MaxPool folds (the Reshape targets keep the batch dynamic), Range
    /// over folded shapes becomes a constant, Range over a graph input runs as `range`.
    @Test func shapeAfterConvFoldsAndRangeRuns() throws {
        let worst = try Self.run("shape_range", expectOps: ["conv2d", "max_pool", "reshape", "range"])
        #expect(worst <= 1e-5, "max abs diff \(worst)")
        let graph = try #require(try Self.model("shape_range").graph)
        let targets = graph.nodes.filter { $0.op == "reshape" }.map { $0.attributes["shape"] }
        #expect(targets == [.array([.int(0), .int(16)]), .array([.int(0), .int(-1)])], "\(targets)")
        #expect(graph.nodes.filter { $0.op == "range" }.count == 2)
    }

    /// If on an initializer and on a folded Shape → Gather → Equal: the taken branches are
    /// inlined (a nested If on a Constant too), the branches' initializers are model tensors,
    /// bit-exact against onnx's reading, the else branch's `w` renamed since the then
    /// branch's has that name, and the notes say which If and branch each came from.
    @Test func ifWithAConstantConditionIsInlined() throws {
        let worst = try Self.run("if_const", expectOps: ["matmul", "add", "identity", "sigmoid", "relu"])
        #expect(worst <= 1e-5, "max abs diff \(worst)")
        let model = try Self.model("if_const")
        let graph = try #require(model.graph)
        #expect(!graph.nodes.contains { $0.op == "tanh" || $0.op == "neg" }, "a branch not taken was imported")
        let facts = try #require(try Fixtures.json("onnx/generator.json")["facts"]?["import_ops"]?["if_const.onnx"]?["branch_initializers"]?.objectValue)
        let names = ["then/w": "w", "then/b": "b", "else/w": "y/else_branch/w"]
        #expect(Set(facts.keys) == Set(names.keys))
        for (key, name) in names {
            let entry = try #require(model.tensors[name], "\(name) not read")
            #expect(entry.provenance.sourceName == String(key.split(separator: "/")[1]))
            #expect(try tensorDigest(entry.tensor) == facts[key]?["sha256"]?.stringValue, "\(key)")
        }
        #expect(model.notes.contains { $0.contains("if_initializer") && $0.contains("else_branch") && $0.contains("w → y/else_branch/w") }, "\(model.notes)")
    }

    /// If on a value computed from the inputs: the graph is refused with the node named, the
    /// branches' weights still read.
    @Test func ifWithADataDependentConditionIsRefusedByName() throws {
        let model = try Self.model("if_dynamic")
        #expect(model.graph == nil)
        #expect(model.notes.contains { $0.contains("unsupported: If with a data-dependent condition at node 'if_data'") }, "\(model.notes)")
        #expect(Set(model.tensors.names).isSuperset(of: ["w", "b", "y/else_branch/w"]), "\(model.tensors.names)")
    }

    /// No initializers anywhere, weights in Constant nodes inside If branches (silero_vad.onnx,
    /// written by spox, was refused as "nothing to convert" before): every non-scalar Constant of
    /// every branch, the nested If's included, is a model tensor, bit-exact against onnx's reading;
    /// the else branch's `w` is renamed since the then branch's has that name; scalars stay constants.
    @Test func constantsInsideIfBranchesAreTheModelsTensors() throws {
        let model = try Self.model("if_constants")
        #expect(model.graph == nil)  // the If's condition is data-dependent
        let facts = try #require(try Fixtures.json("onnx/generator.json")["facts"]?["import_ops"]?["if_constants.onnx"]?["branch_constants"]?.objectValue)
        let names = ["then/w": "w", "then/b": "b", "inner_then/scale": "scale", "else/w": "y/else_branch/w"]
        #expect(Set(facts.keys) == Set(names.keys))
        #expect(Set(model.tensors.names) == Set(names.values), "\(model.tensors.names)")
        for (key, name) in names {
            let entry = try #require(model.tensors[name], "\(name) not read")
            #expect(entry.provenance.sourceName == String(key.split(separator: "/")[1]) && entry.provenance.transforms == [.graphConstant])
            #expect(try tensorDigest(entry.tensor) == facts[key]?["sha256"]?.stringValue, "\(key)")
        }
        #expect(model.notes.contains { $0.contains("4 of them inside If branches") && $0.contains("w → y/else_branch/w") }, "\(model.notes)")
    }

    /// Forms the wild files use, each refused before (docs/wild.md): YOLOv8's padded MaxPool
    /// (`pad` with float32's lowest, then `max_pool`), an AveragePool counting its pads, Pow
    /// by 2 and 0.5, tf2onnx's Shape → Cast(INT32) → Slice over initializers → Reshape.
    @Test func wildFormsMatchONNXRuntime() throws {
        let worst = try Self.run("wild_forms", expectOps: ["pad", "max_pool", "avg_pool", "mul", "sqrt", "reshape"])
        #expect(worst <= 1e-5, "max abs diff \(worst)")
        let graph = try #require(try Self.model("wild_forms").graph)
        #expect(graph.nodes.first { $0.op == "reshape" }?.attributes["shape"] == .array([.int(0), .int(108)]))
    }

    /// LSTM (silero-vad's decoder): forward with biases and initial states, reverse with none
    /// (Y only; the op's other outputs get names of their own), bidirectional; at two seq × batch
    /// shapes against ONNX Runtime.
    @Test func lstmMatchesONNXRuntime() throws {
        let worst = try Self.run("lstm", expectOps: ["lstm"])
        #expect(worst <= 1e-5, "max abs diff \(worst)")
        let graph = try #require(try Self.model("lstm").graph)
        let reverse = try #require(graph.nodes.first { $0.name == "lstm_reverse" })
        #expect(reverse.inputs.count == 3 && reverse.outputs.count == 3 && reverse.outputs[0] == "y_rev" && reverse.attributes["direction"] == .string("reverse"))
    }

    /// LSTM forms Porter does not run are refused by name, never approximated.
    @Test(arguments: [("layout", "layout 1"), ("clip", "clip"), ("sequence_lens", "sequence_lens"), ("activations", "activations")])
    func lstmVariantsAreRefused(change: String, named: String) throws {
        let data = try Data(contentsOf: Fixtures.url("onnx/import_ops/lstm.onnx"))
        let proto = try data.withUnsafeBytes { try ProtoParser(bytes: $0, file: "lstm.onnx").model() }
        var graph = try #require(proto.graph)
        let i = try #require(graph.nodes.firstIndex { $0.name == "lstm_forward" })
        switch change {
        case "layout": graph.nodes[i].attributes.append(AttributeProto(name: "layout", i: 1))
        case "clip": graph.nodes[i].attributes.append(AttributeProto(name: "clip", f: 3))
        case "sequence_lens": graph.nodes[i].inputs[4] = "h0"
        default: graph.nodes[i].attributes.append(AttributeProto(name: "activations", strings: [Array("Relu".utf8), Array("Tanh".utf8), Array("Tanh".utf8)]))
        }
        let importer = ONNXGraphImporter(graph: graph, opset: 17, file: "lstm.onnx", initializers: try Self.model("lstm").tensors.reduce(into: [:]) { $0[$1.name] = $1.tensor },
                                         constantValues: [:])
        guard case let .failure(failure) = importer.run() else { Issue.record("\(change): imported"); return }
        #expect(failure.description.contains("lstm_forward") && failure.description.contains(named), "\(failure.description)")
    }

    /// Pad reflect and edge, Slice with negative steps, the pads torch.onnx computes for F.pad
    /// (ConstantOfShape → Concat → Reshape [-1, 2] → reversing Slice → Transpose → Reshape → Cast,
    /// folded at import) and Size of a Shape: against ONNX Runtime at two batch sizes.
    @Test func padModesNegativeStepsAndFoldedPadsMatchONNXRuntime() throws {
        let worst = try Self.run("pad_slice", expectOps: ["pad", "slice", "mul"])
        #expect(worst == 0, "max abs diff \(worst)")
        let graph = try #require(try Self.model("pad_slice").graph)
        let pads = graph.nodes.filter { $0.op == "pad" }
        #expect(Set(pads.compactMap { $0.attributes["mode"]?.stringValue }) == ["reflect", "edge"])
        // F.pad's pads folded to [0, 0, 2, 0, 0, 1] (Porter: before and after per axis).
        let want: [JSONValue] = [0, 0, 0, 0, 2, 1].map { JSONValue.int(Int64($0)) }
        #expect(pads.first { $0.outputs == ["torch_pad"] }?.attributes["pads"] == .array(want))
    }

    /// Shape values of dynamic dims read as data run at run time (`shape`, then a one-element
    /// `slice` per dim, `concat`): x scaled by its own length, a Range over it, a product of two
    /// dims, YOLOv8's meshgrid (`expand_to`) and a ConstantOfShape of run-time dims
    /// (`constant_of_shape`); Shape of a Constant and a scalar minus a one-element vector still fold. Two batch ×
    /// length shapes against ONNX Runtime (a frozen length would fail the second).
    @Test func shapeValuesOfDynamicDimsRunAtRunTime() throws {
        let worst = try Self.run("shape_runtime", expectOps: ["shape", "range", "mul", "add", "expand_to", "constant_of_shape"])
        #expect(worst == 0, "max abs diff \(worst)")
        let graph = try #require(try Self.model("shape_runtime").graph)
        #expect(graph.nodes.filter { $0.op == "shape" && $0.inputs == ["x"] }.count == 1, "one shape node per value: \(graph.nodes.map(\.op))")
        // 4 − Shape([0, 64]) folded: `doubled` multiplies by a constant, no shape node of `pair`.
        #expect(!graph.nodes.contains { $0.op == "shape" && $0.inputs == ["pair"] })
    }

    /// Softmax and LogSoftmax at opset 11 over the last axis of a 2-D input (PP-OCR's
    /// direction classifier) are the opset-13 ops.
    @Test func softmaxBeforeOpset13OverTheLastAxisRuns() throws {
        let worst = try Self.run("softmax_opset11", expectOps: ["softmax", "log_softmax"])
        #expect(worst <= 1e-5, "max abs diff \(worst)")
    }

    // MARK: refusals

    static func refusal(_ node: NodeProto, inputs: [ONNXValueInfo], constants: [String: TensorRef]) -> String {
        var g = GraphProto()
        g.nodes = [node]
        g.inputs = inputs
        let importer = ONNXGraphImporter(graph: g, opset: 17, file: "t.onnx", initializers: constants, constantValues: constants)
        guard case let .failure(f) = importer.run() else { return "imported" }
        return f.description
    }

    static func node(_ name: String, _ op: String, _ inputs: [String], _ attributes: [AttributeProto] = []) -> NodeProto {
        var n = NodeProto()
        n.name = name
        n.opType = op
        n.inputs = inputs
        n.outputs = ["y"]
        n.attributes = attributes
        return n
    }

    static func string(_ key: String, _ value: String) -> AttributeProto {
        var a = AttributeProto()
        a.name = key
        a.s = Array(value.utf8)
        return a
    }

    static func int64s(_ v: [Int64]) -> TensorRef { .memory(v.withUnsafeBytes { Array($0) }, dtype: .i64, shape: Shape([v.count]), label: "c") }
    static func floats(_ v: [Float]) -> TensorRef { .memory(v.withUnsafeBytes { Array($0) }, dtype: .f32, shape: Shape([v.count]), label: "c") }

    static let x = ONNXValueInfo(name: "x", elementType: ONNXDataType.float, shape: [.value(1), .value(2), .value(3), .value(4)], isTensor: true)

    /// Forms Porter does not run are refused naming the node and the form; hostile numbers
    /// (repeats of 2^40, Expand to 2^40, scales of 1e9, Range of 2^40 numbers) are refused
    /// before anything is allocated.
    @Test func unsupportedFormsAndHostileNumbersAreRefusedByName() throws {
        let cubic = Self.refusal(Self.node("cubic", "Resize", ["x", "", "s"], [Self.string("mode", "cubic")]), inputs: [Self.x], constants: ["s": Self.floats([1, 1, 2, 2])])
        #expect(cubic.contains("'cubic'") && cubic.contains("mode cubic"), "\(cubic)")
        let crop = Self.refusal(Self.node("crop", "Resize", ["x", "", "s"], [Self.string("coordinate_transformation_mode", "tf_crop_and_resize")]),
                                inputs: [Self.x], constants: ["s": Self.floats([1, 1, 2, 2])])
        #expect(crop.contains("'crop'") && crop.contains("tf_crop_and_resize"), "\(crop)")
        let hugeScale = Self.refusal(Self.node("huge_scale", "Resize", ["x", "", "s"]), inputs: [Self.x], constants: ["s": Self.floats([1, 1, 1e9, 2])])
        #expect(hugeScale.contains("'huge_scale'") && hugeScale.contains("scales"), "\(hugeScale)")
        let tile = Self.refusal(Self.node("big_tile", "Tile", ["x", "r"]), inputs: [Self.x], constants: ["r": Self.int64s([1, 1, 1 << 40, 1])])
        #expect(tile.contains("'big_tile'") && tile.contains("repeats"), "\(tile)")
        let expand = Self.refusal(Self.node("big_expand", "Expand", ["x", "s"]), inputs: [Self.x], constants: ["s": Self.int64s([1 << 40, 2, 3, 4])])
        #expect(expand.contains("'big_expand'") && expand.contains("2^31"), "\(expand)")
        let same = Self.refusal(Self.node("same_pad", "ConvTranspose", ["x", "w"], [Self.string("auto_pad", "SAME_UPPER")]), inputs: [Self.x],
                                constants: ["w": .memory([UInt8](repeating: 0, count: 2 * 2 * 4 * 4), dtype: .f32, shape: Shape([2, 2, 2, 2]), label: "w")])
        #expect(same.contains("'same_pad'") && same.contains("SAME_UPPER"), "\(same)")
        let scalar: (Int64) -> TensorRef = { v in .memory(withUnsafeBytes(of: v) { Array($0) }, dtype: .i64, shape: Shape([]), label: "c") }
        var rangeNode = Self.node("big_range", "Range", ["a", "b", "c"])
        rangeNode.outputs = ["r"]
        var constNodes: [NodeProto] = []
        for (name, _) in [("a", 0), ("b", 0), ("c", 0)] {
            var c = NodeProto()
            c.opType = "Constant"
            c.outputs = [name]
            constNodes.append(c)
        }
        var g = GraphProto()
        g.nodes = constNodes + [rangeNode]
        let consts = ["a": scalar(0), "b": scalar(1 << 40), "c": scalar(1)]
        let importer = ONNXGraphImporter(graph: g, opset: 17, file: "t.onnx", initializers: [:], constantValues: consts)
        if case let .failure(f) = importer.run() {
            #expect(f.description.contains("big_range") && f.description.contains("65536"), "\(f.description)")
        } else {
            Issue.record("a Range of 2^40 numbers was imported")
        }
    }
}
