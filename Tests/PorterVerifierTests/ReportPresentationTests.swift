import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterVerifier

/// Issue 17, reports: exact cosine digits near 1, the share of the tolerance used, a chart
/// on passing reports, long tables folded, paths relative to the working folder.
@Suite struct ReportPresentationTests {
    /// A passing report with a cosine just short of 1 and 105 dropped optimizer tensors
    /// (the shape of a real fairseq checkpoint's report).
    static func passingReport() -> VerificationReport {
        let tol = Tolerance(atol: 1e-4, rtol: 1e-3)
        let close = ComparisonMetrics.compare(actual: [1, 2.00002, 3, 4.0001], expected: [1, 2, 3, 4], rowLength: 2, tolerance: tol)
        let exact = ComparisonMetrics.compare(actual: [0.5, -1], expected: [0.5, -1], rowLength: nil, tolerance: tol)
        let dropped = (0..<105).map { i in
            ConversionSummary.Dropped(name: "last_optimizer_state.state.\(i).exp_avg", reason: "optimizer state, not needed for inference", byteCount: 256)
        } + [.init(name: "encoder.version", reason: "fairseq's bookkeeping counter, not a weight", byteCount: 4)]
        let summary = ConversionSummary(mapping: "fairseq-to-fsmt", produced: [.init(name: "model.encoder.embed_tokens.weight", sources: ["encoder.embed_tokens.weight"], transforms: [])],
                                        dropped: dropped)
        let layers = (0..<3).map { i in
            LayerError(layer: "model.encoder.layers.\(i)", node: "model.encoder.layers.\(i).final_layer_norm", maxAbs: 2e-6 * Double(i + 1), meanAbs: 3e-7,
                       withinTolerance: true, toleranceFraction: 0.01 * Double(i + 1))
        }
        let forward = ForwardLevel(status: .passed, seed: 7,
                                   inputs: [InputDescription(name: "input_ids", dtype: "i64", shape: [2, 8], origin: "seeded ids in [0, 40)")],
                                   outputs: [OutputComparison(name: "logits", shape: [2, 2], metrics: close),
                                             OutputComparison(name: "encoder_last_hidden_state", shape: [2], metrics: exact)],
                                   layers: layers)
        return VerificationReport(porterVersion: "0.1.0", createdAt: nil, passed: true, failures: [],
                                  source: ModelDescription(path: "wmt19-en-ru", format: "fairseq", tensorCount: 1, parameterCount: 4, dtypes: ["f32"], graph: "builder:fsmt"),
                                  converted: ModelDescription(path: "out/fsmt", format: "hf", tensorCount: 1, parameterCount: 4, dtypes: ["f32"], graph: "builder:fsmt"),
                                  conversion: summary, tolerance: ToleranceUsed(atol: 1e-4, rtol: 1e-3, basis: "f32", overridden: false),
                                  weights: WeightsLevel(status: .passed, checked: 1, bitExact: 1, castExact: 0, mismatches: [], missing: [], unexpected: []),
                                  forward: forward, reference: nil)
    }

    @Test func cosineNearOneKeepsItsDigits() {
        #expect(ReportWriter.cosineText(0.99982) == "1 − 1.8e-4")
        #expect(ReportWriter.cosineText(1) == "1")
        #expect(ReportWriter.cosineText(0.9999999) == "1 − 1e-7")
        #expect(ReportWriter.cosineText(0.5) == "0.500000")
        #expect(ReportWriter.cosineText(0.998) == "0.998000")
        #expect(ReportWriter.cosineText(1 + 4.4e-16) == "1 + 4.4e-16")
        // Never "1" for a value that is not 1.
        for x in [0.9999, 0.99999, 0.999999999, 0.9995] { #expect(ReportWriter.cosineText(x) != "1", "\(x)") }
    }

    /// Equal outputs have a cosine of exactly 1, not the 1 − 2e-16 the sums round to.
    @Test func equalOutputsHaveCosineOne() {
        let values = (0..<257).map { Double($0) * 0.1 - 7.3 }
        let m = ComparisonMetrics.compare(actual: values, expected: values, rowLength: nil, tolerance: Tolerance(atol: 1e-4, rtol: 1e-3))
        #expect(m.cosine == 1)
        #expect(ReportWriter.cosineText(m.cosine) == "1")
    }

    @Test func toleranceFractionIsTheWorstElementsShare() throws {
        let tol = Tolerance(atol: 1e-4, rtol: 0)
        let m = ComparisonMetrics.compare(actual: [1.00005, 2], expected: [1, 2], rowLength: nil, tolerance: tol)
        let f = try #require(m.toleranceFraction)
        #expect(abs(f - 0.5) < 1e-6)
        #expect(ComparisonMetrics.compare(actual: [1, 2], expected: [1, 2], rowLength: nil, tolerance: tol).toleranceFraction == 0)
        let beyond = ComparisonMetrics.compare(actual: [1.001], expected: [1], rowLength: nil, tolerance: tol)
        #expect((beyond.toleranceFraction ?? 0) > 1 && !beyond.withinTolerance)
        // A zero tolerance with a difference: no finite share, so none is claimed.
        #expect(ComparisonMetrics.compare(actual: [1.5], expected: [1], rowLength: nil, tolerance: Tolerance(atol: 0, rtol: 0)).toleranceFraction == nil)
        #expect(ReportWriter.fractionText(0.5) == "50%")
        #expect(ReportWriter.fractionText(0) == "0%")
        #expect(ReportWriter.fractionText(952.4) == "952×")
        #expect(ReportWriter.fractionText(1.2e6) == "1.2e6×")
    }

    /// A passing report charts the margin per output and per layer, folds the 106 dropped
    /// tensors (counted by reason), and prints the cosine short of 1 as such.
    @Test func passingReportHasAChartAndFoldsLongTables() throws {
        let r = Self.passingReport()
        let html = ReportWriter.html(r)
        #expect(html.contains("aria-label=\"share of tolerance used per output, log scale\""))
        #expect(html.contains("aria-label=\"share of tolerance used per layer, log scale\""))
        #expect(html.contains("<details><summary>106 dropped tensors (26884 bytes)"))
        #expect(html.contains("<li>105 × optimizer state, not needed for inference (26880 bytes)</li>"))
        let cosine = try #require(r.forward.outputs.first?.metrics.cosine)
        #expect(cosine < 1)
        #expect(html.contains(ReportWriter.h(ReportWriter.cosineText(cosine))) && ReportWriter.cosineText(cosine).hasPrefix("1 − "))
        let md = ReportWriter.markdown(r)
        #expect(md.contains("<details><summary>106 dropped tensors (26884 bytes)</summary>"))
        #expect(md.contains("- 105 × optimizer state, not needed for inference (26880 bytes)"))
        if let diff = try Golden.compare(html, to: "verifier/report-passing.html") { Issue.record(Comment(rawValue: diff)) }
        if let diff = try Golden.compare(md, to: "verifier/report-passing.md") { Issue.record(Comment(rawValue: diff)) }
    }

    /// Twenty rows stay open; the 21st folds.
    @Test func foldingStartsAboveTwentyRows() {
        var r = Self.passingReport()
        let all = r.conversion?.dropped ?? []
        r.conversion?.dropped = Array(all.prefix(20))
        #expect(!ReportWriter.html(r).contains("<details>"))
        #expect(!ReportWriter.markdown(r).contains("<details>"))
        r.conversion?.dropped = Array(all.prefix(21))
        #expect(ReportWriter.html(r).contains("<details><summary>21 dropped tensors"))
    }

    /// The failing sample report, as HTML: its margin chart marks the output beyond tolerance.
    @Test func failingReportChartsTheOutputBeyondTolerance() throws {
        let html = ReportWriter.html(sampleReport())
        #expect(html.contains("aria-label=\"share of tolerance used per output, log scale\""))
        #expect(html.contains("<title>forward: last_hidden_state: "))
        #expect(html.contains("fill=\"#cf222e\""))
    }

    @Test func pathsAreRelativeToTheWorkingFolder() {
        #expect(DisplayPath.relative("/work/p/out/m.safetensors", to: "/work/p") == "out/m.safetensors")
        #expect(DisplayPath.relative("/work/fixtures/x.pt", to: "/work/p") == "../fixtures/x.pt")
        #expect(DisplayPath.relative("/work/p", to: "/work/p") == ".")
        #expect(DisplayPath.relative("/tmp/x/m.bin", to: "/work/p") == "/tmp/x/m.bin")
        #expect(DisplayPath.relative("relative/already", to: "/work/p") == "relative/already")
    }
}
