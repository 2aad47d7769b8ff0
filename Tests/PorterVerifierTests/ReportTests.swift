import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterVerifier

/// A fixed report (no timestamps, no floating results of a run) exercising every section.
func sampleReport() -> VerificationReport {
    let tol = Tolerance(atol: 1e-4, rtol: 1e-3)
    let good = ComparisonMetrics.compare(actual: [1, 2, 3, 4], expected: [1, 2, 3, 4], rowLength: 2, tolerance: tol)
    let bad = ComparisonMetrics.compare(actual: [1, 2, 3, 4], expected: [1, 2.5, 3, 2], rowLength: 2, tolerance: tol)
    let summary = ConversionSummary(
        mapping: "fairseq-to-fsmt", dtype: "f16",
        produced: [.init(name: "model.encoder.layers.0.q_proj.weight", sources: ["encoder.layers.0.in_proj_weight"],
                         transforms: [.split(axis: 0, sizes: [4, 4, 4], index: 0, count: 3, into: "model.encoder.layers.0.q_proj.weight"), .cast(from: .f32, to: .f16)])],
        dropped: [.init(name: "encoder.version", reason: "fairseq's bookkeeping counter, not a weight", byteCount: 4)],
        unmapped: [.init(name: "extra|odd <name>", byteCount: 64, carriedOver: true)],
        overflows: ["model.decoder.embed_tokens.weight": 2])
    let weights = WeightsLevel(status: .failed, checked: 3, bitExact: 1, castExact: 1,
                               mismatches: [WeightMismatch(name: "encoder.layer.1.attention.self.query.weight", sources: ["encoder.layer.1.attention.self.query.weight"],
                                                           transforms: [], problem: "240 of 256 elements differ from its source", differingElements: 240, maxAbs: 0.25)],
                               missing: ["pooler.dense.bias"], unexpected: [])
    let layers = [
        LayerError(layer: "embeddings", node: "embeddings.LayerNorm", maxAbs: 0, meanAbs: 0, withinTolerance: true),
        LayerError(layer: "encoder.layer.0", node: "encoder.layer.0.output.LayerNorm", maxAbs: 3e-7, meanAbs: 4e-8, withinTolerance: true),
        LayerError(layer: "encoder.layer.1", node: "last_hidden_state", maxAbs: 0.5, meanAbs: 0.0625, withinTolerance: false),
    ]
    let forward = ForwardLevel(status: .failed, seed: 42,
                               inputs: [InputDescription(name: "input_ids", dtype: "i64", shape: [2, 8], origin: "seeded ids in [0, 40); pad id 0 in the padded positions")],
                               outputs: [OutputComparison(name: "last_hidden_state", shape: [2, 2], metrics: bad)],
                               firstDivergence: Divergence(node: "encoder.layer.1.attention.self.query", op: "linear",
                                                           output: "encoder.layer.1.attention.self.query", position: 31,
                                                           weights: ["encoder.layer.1.attention.self.query.weight", "encoder.layer.1.attention.self.query.bias"], metrics: bad),
                               layers: layers)
    let reference = ReferenceLevel(status: .passed, path: "fixtures/verifier/reference.safetensors",
                                   inputs: [InputDescription(name: "input_ids", dtype: "i64", shape: [2, 6], origin: "from the reference")],
                                   outputs: [OutputComparison(name: "last_hidden_state", shape: [2, 2], metrics: good)], notCompared: ["pooler_output"])
    return VerificationReport(porterVersion: "0.1.0", createdAt: nil, passed: false,
                              failures: ["weights: encoder.layer.1.attention.self.query.weight: 240 of 256 elements differ from its source",
                                         "forward: first diverging node encoder.layer.1.attention.self.query (linear)"],
                              source: ModelDescription(path: "fixtures/verifier/original", format: "hf", tensorCount: 37, parameterCount: 5432, dtypes: ["f32"], graph: "builder:bert"),
                              converted: ModelDescription(path: "out/model.safetensors", format: "safetensors", tensorCount: 37, parameterCount: 5432, dtypes: ["f16"], graph: "builder:bert"),
                              conversion: summary, tolerance: ToleranceUsed(atol: 1e-4, rtol: 1e-3, basis: "f32", overridden: false),
                              weights: weights, forward: forward, reference: reference, notes: ["1 tensor(s) had values overflow to infinity in the cast"])
}

@Suite struct ReportTests {
    @Test func markdownGolden() throws {
        let failure = try Golden.compare(ReportWriter.markdown(sampleReport()), to: "verifier/report.md")
        #expect(failure == nil, "\(failure ?? "")")
    }

    @Test func jsonGolden() throws {
        let text = String(decoding: try ReportWriter.json(sampleReport()), as: UTF8.self)
        let failure = try Golden.compare(text, to: "verifier/report.json")
        #expect(failure == nil, "\(failure ?? "")")
    }

    @Test func htmlGolden() throws {
        let failure = try Golden.compare(ReportWriter.html(sampleReport()), to: "verifier/report.html")
        #expect(failure == nil, "\(failure ?? "")")
    }

    @Test func jsonRoundTripsAndCarriesTheSchema() throws {
        let data = try ReportWriter.json(sampleReport())
        let decoded = try JSONDecoder().decode(VerificationReport.self, from: data)
        #expect(decoded == sampleReport())
        let raw = try JSONValue.parse(data)
        #expect(raw["schema"]?.stringValue == "porter-report/2")
        #expect(raw["porterVersion"]?.stringValue == "0.1.0")
        #expect(raw["createdAt"] == nil)
        #expect(raw["passed"]?.boolValue == false)
    }

    @Test func htmlIsSelfContained() {
        let html = ReportWriter.html(sampleReport())
        #expect(html.contains("<svg"))
        #expect(html.contains("<style>"))
        for forbidden in ["<script", " src=", " href=", "@import", "url("] { #expect(!html.contains(forbidden), "\(forbidden)") }
        // Text from the model is escaped.
        #expect(html.contains("extra|odd &lt;name&gt;"))
        #expect(!html.contains("<name>"))
        // One bar per layer (the sample's layers predate the share of tolerance: max abs chart with
        // its legend swatch), one per compared output (margin chart); the diverging layer is drawn red.
        #expect(html.components(separatedBy: "<rect x=").count - 1 == 3 + 1 + 2)
        #expect(html.contains("fill=\"#cf222e\""))
    }

    @Test func writeIsAtomicAndReplacesEarlierReports() throws {
        let dir = try Fixtures.scratchDirectory("porter-report")
        defer { try? FileManager.default.removeItem(at: dir) }
        var report = sampleReport()
        try ReportWriter.write(report, to: dir.appendingPathComponent("r"))
        report.passed = true
        try ReportWriter.write(report, to: dir.appendingPathComponent("r"))
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("r").path).sorted()
        #expect(names == ["report.html", "report.json", "report.md"])
        let json = try JSONValue.parse(Data(contentsOf: dir.appendingPathComponent("r/report.json")))
        #expect(json["passed"]?.boolValue == true)
    }

    @Test func realReportOfTheBrokenFixtureNamesTheNode() throws {
        let original = try loadHFFolder("verifier/original")
        let broken = try loadHFFolder("verifier/broken")
        let report = Verifier().verify(source: original, converted: broken)
        let md = ReportWriter.markdown(report)
        #expect(md.hasPrefix("# Porter verification: FAILED"))
        #expect(md.contains("First diverging node: `encoder.layer.1.attention.self.query` (linear"))
        let html = ReportWriter.html(report)
        #expect(html.contains("aria-label=\"share of tolerance used per layer, log scale\""))
        if let dir = ProcessInfo.processInfo.environment["PORTER_REPORT_DIR"] {
            try ReportWriter.write(report, to: URL(fileURLWithPath: dir))
        }
    }

    @Test func layerKeysGroupNodesByModule() {
        #expect(DivergenceSearch.layerKey("encoder.layer.3.attention.self.query") == "encoder.layer.3")
        #expect(DivergenceSearch.layerKey("h.2.mlp.c_fc") == "h.2")
        #expect(DivergenceSearch.layerKey("model.decoder.layers.0.fc1") == "model.decoder.layers.0")
        #expect(DivergenceSearch.layerKey("model.encoder.embed_tokens") == "model.encoder")
        #expect(DivergenceSearch.layerKey("embeddings.LayerNorm") == "embeddings")
        #expect(DivergenceSearch.layerKey("ln_f") == "ln_f")
    }
}
