import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterMapping

/// The mapping engine keeps a model's graph consistent with its weights, or drops it with
/// the reason: it never returns a graph that reads names the mapped model lacks.
@Suite struct GraphRewriteTests {
    /// A Keras-shaped model: x → linear(kernel [in, out], bias) → gather(table) → conv2d(HWIO kernel).
    func kerasLike() throws -> NeutralModel {
        var store = TensorStore()
        for (name, dims) in [("d/kernel:0", [3, 2]), ("d/bias:0", [2]), ("e/embeddings:0", [5, 2]), ("c/kernel:0", [3, 3, 2, 4])] {
            try store.add(TensorEntry(name: name, tensor: counting(dims, label: name), provenance: Provenance(sourceFile: "k.h5", sourceName: name)))
        }
        let graph = Graph(inputs: [GraphValue(name: "x", dtype: .f32, shape: [-1, 3]), GraphValue(name: "ids", dtype: .i64, shape: [-1])],
                          outputs: [GraphValue(name: "y", dtype: .f32, shape: [-1, 2]), GraphValue(name: "z", dtype: .f32, shape: [-1, 2])],
                          nodes: [
                            GraphNode(name: "d", op: "linear", inputs: ["x", "d/kernel:0", "d/bias:0"], outputs: ["y"], attributes: ["weight_layout": "in_out"]),
                            GraphNode(name: "e", op: "gather", inputs: ["e/embeddings:0", "ids"], outputs: ["z"]),
                            GraphNode(name: "c", op: "conv2d", inputs: ["img", "c/kernel:0"], outputs: ["w"], attributes: ["kernel_layout": "HWIO"]),
                          ], origin: "test")
        return NeutralModel(sourceFormat: "test", sourceFiles: ["k.h5"], tensors: store, graph: graph)
    }

    func mapping(_ rules: String) throws -> Mapping {
        try Mapping.parse(Data("{\"format\": \"porter-mapping/1\", \"name\": \"t\", \"rules\": [\(rules)]}".utf8), path: "t.json")
    }

    /// Every rule but the first renames Keras names the PyTorch way.
    func apply(_ first: String) throws -> (NeutralModel, MappingAccounting) {
        try MappingEngine(mapping(first + """
            {"match": "^c/kernel:0$", "rename": "c.weight", "transpose": [3, 2, 0, 1]},
            {"match": "^([^/]+)/kernel:0$", "rename": "$1.weight", "transpose": [1, 0]},
            {"match": "^([^/]+)/bias:0$", "rename": "$1.bias"},
            {"match": "^([^/]+)/embeddings:0$", "rename": "$1.weight"}
            """)).apply(to: kerasLike())
    }

    @Test func renamesAndTransposesRewriteReferencesAndLayouts() throws {
        let (out, acct) = try apply("")
        let graph = try #require(out.graph)
        #expect(acct.graphDropped == nil)
        #expect(graph.nodes[0].inputs == ["x", "d.weight", "d.bias"])
        #expect(graph.nodes[0].attributes["weight_layout"] == "out_in")
        #expect(graph.nodes[1].inputs == ["e.weight", "ids"])
        #expect(graph.nodes[1].attributes.isEmpty)
        #expect(graph.nodes[2].inputs == ["img", "c.weight"])
        #expect(graph.nodes[2].attributes["kernel_layout"] == "OIHW")
        // The Keras layout implied channels_last; the PyTorch one would imply channels_first, so it is pinned.
        #expect(graph.nodes[2].attributes["data_format"] == "channels_last")
        // Every weight the graph reads is in the mapped model, with the shape its layout says.
        #expect(out.tensors["d.weight"]?.tensor.shape == [2, 3])
        #expect(out.tensors["c.weight"]?.tensor.shape == [4, 2, 3, 3])
        #expect(out.notes.isEmpty)
    }

    @Test func aSplitWeightTheGraphReadsWholeDropsTheGraph() throws {
        let (out, acct) = try apply(#"{"match": "^d/kernel:0$", "split": {"axis": 1, "into": ["d.a", "d.b"]}},"#)
        #expect(out.graph == nil)
        let why = try #require(acct.graphDropped)
        #expect(why.contains("node d (linear) reads d/kernel:0 whole") && why.contains("splits it into d.a, d.b"))
        #expect(out.notes.contains { $0.contains("not carried over") && $0.contains(why) })
        #expect(out.tensors["d.a"] != nil && out.tensors["d.b"] != nil)
    }

    @Test(arguments: [
        (#"{"match": "^e/embeddings:0$", "rename": "e.weight", "transpose": [1, 0]},"#, "gather has no layout attribute for that input"),
        (#"{"match": "^d/kernel:0$", "rename": "d.weight", "reshape": [6]},"#, "reshapes to [6]"),
        (#"{"match": "^d/bias:0$", "drop": "not wanted"},"#, "drops it (not wanted)"),
        (#"{"match": "^d/kernel:0$", "concat": {"with": ["e/embeddings:0"], "axis": 0, "into": "d.both"}},"#, "concatenates it with e/embeddings:0 into d.both"),
        (#"{"match": "^c/kernel:0$", "rename": "c.weight", "transpose": [0, 1, 3, 2]},"#, "a layout conv2d does not accept"),
        (#"{"match": "^d/bias:0$", "rename": "y"},"#, "a name the graph already uses"),
    ])
    func changesTheGraphCannotFollowDropIt(rule: String, reason: String) throws {
        let (out, acct) = try apply(rule)
        #expect(out.graph == nil)
        #expect(acct.graphDropped?.contains(reason) == true, "\(acct.graphDropped ?? "kept")")
    }

    @Test func aSplitOfAWeightTheGraphDoesNotReadKeepsTheGraph() throws {
        var model = try kerasLike()
        try model.tensors.add(TensorEntry(name: "extra", tensor: counting([4, 2], label: "extra"), provenance: Provenance(sourceFile: "k.h5", sourceName: "extra")))
        let (out, acct) = try MappingEngine(mapping("""
            {"match": "^extra$", "split": {"axis": 0, "into": ["x1", "x2"]}},
            {"match": "^(.+)$", "keep": true}
            """)).apply(to: model)
        #expect(acct.graphDropped == nil)
        #expect(out.graph == model.graph)
    }

    @Test func unmappedWeightsKeptUnderTheirNamesKeepTheirReferences() throws {
        let (out, acct) = try MappingEngine(mapping(#"{"match": "^d/bias:0$", "rename": "d.bias"}"#)).apply(to: kerasLike(), allowUnmapped: true)
        let graph = try #require(out.graph, "\(acct.graphDropped ?? "")")
        #expect(graph.nodes[0].inputs == ["x", "d/kernel:0", "d.bias"])
        #expect(graph.nodes[0].attributes["weight_layout"] == "in_out")
    }
}
