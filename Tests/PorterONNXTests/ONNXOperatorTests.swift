import Foundation
import PorterCore
@testable import PorterONNX
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing

/// The operators the importer maps onto the comparison, logic, selection, scan, fill, slice,
/// pad, activation, normalisation, clip, reduction and split ops: tiny onnx.helper models (fixtures/onnx/ops/, gen_onnx_ops.py) imported,
/// validated by the op specs and run on Porter's runtime reproduce every output ONNX Runtime
/// recorded, at the recorded shape and at a second batch size where the graph allows it.
@Suite struct ONNXOperatorTests {
    static func run(_ name: String, expectOps: Set<String>) throws -> Double {
        let model = try ONNXReader().read(Fixtures.url("onnx/ops/\(name).onnx"), options: ReadOptions())
        let graph = try #require(model.graph, "no graph: \(model.notes)")
        #expect(expectOps.isSubset(of: Set(graph.nodes.map(\.op))), "\(Set(graph.nodes.map(\.op)))")
        let io = try SafetensorsReader().read(Fixtures.url("onnx/ops/\(name).io.safetensors"), options: ReadOptions())
        var feeds: [String: HostTensor] = [:]
        for input in graph.inputs { feeds[input.name] = try HostTensor(try #require(io.tensors[input.name]).tensor) }
        let result = try GraphExecutor(graph: graph, weights: model.tensors).run(feeds)
        var worst = 0.0
        for output in graph.outputs {
            let want = try #require(io.tensors[output.name], "\(output.name) not recorded").tensor
            let got = try #require(result.outputs[output.name], "\(output.name) not produced")
            #expect(got.shape == want.shape.dims, "\(output.name): \(got.shape) vs \(want.shape.dims)")
            let w = try want.floatValues()
            #expect(got.floatValues.count == w.count, "\(output.name)")
            for (g, e) in zip(got.floatValues, w) { worst = max(worst, Double(abs(g - e))) }
        }
        return worst
    }

    @Test func comparisonsLogicAndWhereMatchONNXRuntime() throws {
        let worst = try Self.run("logic", expectOps: ["equal", "less", "greater", "less_equal", "greater_equal", "logical_not",
                                                      "logical_and", "logical_or", "logical_xor", "where", "not_equal"])
        #expect(worst == 0, "max abs diff \(worst)")
    }

    @Test func scansFillsSlicesAndPadsMatchONNXRuntime() throws {
        let worst = try Self.run("scan_fill", expectOps: ["fill", "cumsum", "trilu", "reciprocal", "slice", "pad"])
        #expect(worst <= 1e-5, "max abs diff \(worst)")
    }

    @Test func activationsNormalisationClipReduceAndSplitMatchONNXRuntime() throws {
        let worst = try Self.run("activations", expectOps: ["batch_norm", "activation", "log_softmax", "maximum", "minimum", "mean", "split"])
        #expect(worst <= 1e-5, "max abs diff \(worst)")
    }

    /// A file with no initializers whose weights are Constant nodes (RapidOCR's, written by
    /// Paddle2ONNX, were refused as "nothing to convert"): the Constants' values are its
    /// tensors, bit-exact against what onnx recorded, and the graph still runs as ONNX Runtime.
    @Test func weightsInConstantNodesAreTheModelsTensors() throws {
        let model = try ONNXReader().read(Fixtures.url("onnx/ops/constant_weights.onnx"), options: ReadOptions())
        let facts = try #require(try Fixtures.json("onnx/generator.json")["facts"]?["ops"]?["constant_weights.onnx"]?["constants"]?.objectValue)
        // Besides the Constants, only the constants the importer makes (Clip's bound, `output#minimum`).
        #expect(Set(model.tensors.names.filter { !$0.contains("#") }) == Set(facts.keys), "\(model.tensors.names)")
        for (name, f) in facts {
            let t = try #require(model.tensors[name])
            #expect(t.tensor.shape.dims == f["shape"]?.arrayValue?.compactMap(\.intValue))
            #expect(t.provenance.transforms == [.graphConstant])
            #expect(try tensorDigest(t.tensor) == f["sha256"]?.stringValue, "\(name)")
        }
        let worst = try Self.run("constant_weights", expectOps: ["conv2d", "minimum"])
        #expect(worst <= 1e-5, "max abs diff \(worst)")
    }

    /// ConstantOfShape over a dynamic batch becomes `fill` tied to the input's batch dim, so
    /// the graph runs at another batch size too (checked against numpy-free arithmetic: the
    /// cumulative sum of x + 1 along each row).
    @Test func fillFollowsTheDynamicBatch() throws {
        let model = try ONNXReader().read(Fixtures.url("onnx/ops/scan_fill.onnx"), options: ReadOptions())
        let graph = try #require(model.graph, "no graph: \(model.notes)")
        let fill = try #require(graph.nodes.first { $0.op == "fill" })
        #expect(fill.inputs == ["x"] && fill.attributes["dims"] == .array([.int(-1), .int(6)]), "\(fill)")
        let x = (0..<30).map { Float($0) / 10 }
        let result = try GraphExecutor(graph: graph, weights: model.tensors).run(["x": HostTensor(shape: [5, 6], floats: x)])
        let cumsum = try #require(result.outputs["cumsum"])
        #expect(cumsum.shape == [5, 6])
        var want: [Float] = []
        for r in 0..<5 {
            var acc: Float = 0
            for c in 0..<6 { acc += x[r * 6 + c] + 1; want.append(acc) }
        }
        #expect(zip(cumsum.floatValues, want).allSatisfy { abs($0 - $1) <= 1e-5 })
        #expect(result.outputs["padded"]?.shape == [6, 9])
    }

    /// ConstantOfShape whose shape no value's dims explain, and a Pad mode Porter does not
    /// run: refused with the node named, the model kept weights-only.
    @Test func unsupportedFormsAreRefusedWithTheNodeNamed() throws {
        var g = GraphProto()
        var pad = NodeProto()
        pad.name = "wrap_pad"
        pad.opType = "Pad"
        pad.inputs = ["x", "pads"]
        pad.outputs = ["y"]
        var mode = AttributeProto()
        mode.name = "mode"
        mode.s = Array("wrap".utf8)
        pad.attributes = [mode]
        g.nodes = [pad]
        g.inputs = [ONNXValueInfo(name: "x", elementType: ONNXDataType.float, shape: [.value(2), .value(3)], isTensor: true)]
        let importer = ONNXGraphImporter(graph: g, opset: 17, file: "t.onnx", initializers: [:], constantValues: [:])
        guard case let .failure(f) = importer.run() else { Issue.record("imported"); return }
        #expect(f.description.contains("wrap_pad") && f.description.contains("mode wrap is not supported"), "\(f.description)")
    }

    /// Hostile constants the importer hands to the op set are refused with the node named,
    /// never trapping: a Slice step of Int64.max, pads of 2^40.
    @Test func hostileConstantsAreRefusedNotTrapped() throws {
        func int64s(_ v: [Int64]) -> TensorRef { .memory(v.withUnsafeBytes { Array($0) }, dtype: .i64, shape: Shape([v.count]), label: "c") }
        let x = ONNXValueInfo(name: "x", elementType: ONNXDataType.float, shape: [.value(2), .value(3)], isTensor: true)
        func run(_ node: NodeProto, _ constants: [String: TensorRef]) -> String {
            var g = GraphProto()
            g.nodes = [node]
            g.inputs = [x]
            let importer = ONNXGraphImporter(graph: g, opset: 17, file: "t.onnx", initializers: constants, constantValues: constants)
            guard case let .failure(f) = importer.run() else { return "imported" }
            return f.description
        }
        var slice = NodeProto()
        slice.name = "big_step"
        slice.opType = "Slice"
        slice.inputs = ["x", "s", "e", "a", "st"]
        slice.outputs = ["y"]
        let why = run(slice, ["s": int64s([0]), "e": int64s([3]), "a": int64s([1]), "st": int64s([.max])])
        #expect(why.contains("big_step") && why.contains("steps"), "\(why)")
        var pad = NodeProto()
        pad.name = "big_pad"
        pad.opType = "Pad"
        pad.inputs = ["x", "p"]
        pad.outputs = ["y"]
        let padWhy = run(pad, ["p": int64s([0, 1 << 40, 0, 0])])
        #expect(padWhy.contains("big_pad") && padWhy.contains("2^24"), "\(padWhy)")
    }
}
