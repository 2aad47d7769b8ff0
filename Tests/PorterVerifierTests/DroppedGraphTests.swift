import Foundation
import Testing
import PorterCore
import PorterMapping
import PorterTestSupport
@testable import PorterVerifier

/// When the mapping dropped the graph (it could not keep it consistent), the forward
/// level is skipped with that reason instead of failing for a missing graph.
@Suite struct DroppedGraphTests {
    func linearModel() throws -> NeutralModel {
        var m = try model([("w", floats([1, 2, 3, 4, 5, 6], [3, 2], label: "w"))])
        m.graph = Graph(inputs: [GraphValue(name: "x", dtype: .f32, shape: [-1, 3])], outputs: [GraphValue(name: "y", dtype: .f32, shape: [-1, 2])],
                        nodes: [GraphNode(name: "fc", op: "linear", inputs: ["x", "w"], outputs: ["y"], attributes: ["weight_layout": "in_out"])],
                        origin: "test")
        return m
    }

    func mapped(_ rules: String) throws -> (NeutralModel, NeutralModel, ConversionSummary) {
        let source = try linearModel()
        let mapping = try Mapping.parse(Data("{\"format\": \"porter-mapping/1\", \"name\": \"t\", \"rules\": [\(rules)]}".utf8), path: "t.json")
        let (converted, acct) = try MappingEngine(mapping).apply(to: source)
        let summary = ConversionSummary(convertedInMemory: converted, source: source, mapping: acct.mapping, graphDropped: acct.graphDropped)
        return (source, converted, summary)
    }

    @Test func aDroppedGraphSkipsTheForwardLevelWithTheReason() throws {
        let (source, converted, summary) = try mapped(#"{"match": "^w$", "split": {"axis": 0, "into": ["w.a", "w.b", "w.c"]}}"#)
        #expect(converted.graph == nil)
        let report = Verifier().verify(source: source, converted: converted, summary: summary)
        #expect(report.passed, "\(report.failures)")
        #expect(report.weights.status == .passed && report.weights.checked == 3)
        #expect(report.forward.status == .skipped)
        #expect(report.forward.reason?.contains("node fc (linear) reads w whole, but rules[0] splits it into w.a, w.b, w.c") == true)
        #expect(report.notes.contains { $0.hasPrefix("forward level skipped: the mapping did not carry") })
    }

    @Test func aRewrittenGraphRunsAndMatches() throws {
        let (source, converted, summary) = try mapped(#"{"match": "^w$", "rename": "fc.weight", "transpose": [1, 0]}"#)
        #expect(converted.graph?.nodes.first?.attributes["weight_layout"] == "out_in")
        let report = Verifier().verify(source: source, converted: converted, summary: summary)
        #expect(report.passed, "\(report.failures)")
        #expect(report.forward.status == .passed)
    }

    @Test func withoutTheRewriteTheSameTransposeWouldFailForward() throws {
        // The check has teeth: the transposed weight read under the old layout does not pass.
        let (source, converted, summary) = try mapped(#"{"match": "^w$", "rename": "fc.weight", "transpose": [1, 0]}"#)
        var stale = converted
        stale.graph?.nodes[0].attributes["weight_layout"] = "in_out"
        let report = Verifier().verify(source: source, converted: stale, summary: summary)
        #expect(!report.passed)
        #expect(report.forward.status == .failed)
    }
}
