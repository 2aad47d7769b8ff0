import Foundation
import Testing
import PorterCore
import PorterPipeline
import PorterTestSupport
@testable import PorterVerifier

/// The path the CLI takes: convert with the pipeline, re-read the output from disk,
/// verify with the conversion's provenance, write the report.
@Suite struct PipelineIntegrationTests {
    func summary(_ result: ConvertResult, dtype: String) -> ConversionSummary {
        ConversionSummary(convertedInMemory: result.convertedModel, source: result.sourceModel,
                          mapping: result.accounting?.mapping, dtype: dtype,
                          dropped: result.accounting?.dropped ?? [],
                          unmapped: (result.accounting?.unmapped ?? []).map { .init(name: $0.name, byteCount: $0.byteCount, carriedOver: true) },
                          overflows: result.overflows)
    }

    @Test(arguments: [DTypeChoice.keep, .f16, .bf16])
    func aConvertedFolderReReadFromDiskVerifies(dtype: DTypeChoice) throws {
        let dir = try Fixtures.scratchDirectory("porter-verify")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pipeline = Pipeline()
        let output = dir.appendingPathComponent("out")
        let result = try pipeline.convert(ConvertRequest(source: Fixtures.url("verifier/original"), output: output, to: "hf", dtype: dtype))
        let (_, reread) = try pipeline.read(output)
        let report = Verifier().verify(source: result.sourceModel, converted: reread, summary: summary(result, dtype: dtype.rawValue))
        #expect(report.passed, "\(report.failures)")
        #expect(report.weights.checked == 37)
        #expect(report.weights.castExact == (dtype == .keep ? 0 : 37))
        #expect(report.forward.status == .passed)
        try ReportWriter.write(report, to: dir.appendingPathComponent("report"))
        let json = try JSONValue.parse(Data(contentsOf: dir.appendingPathComponent("report/report.json")))
        #expect(json["passed"]?.boolValue == true)
        #expect(json["conversion"]?["produced"]?.arrayValue?.count == 37)
    }

    @Test func theBrokenFolderFailsThroughThePipelineReader() throws {
        let pipeline = Pipeline()
        let (_, source) = try pipeline.read(Fixtures.url("verifier/original"))
        let (_, broken) = try pipeline.read(Fixtures.url("verifier/broken"))
        let report = Verifier().verify(source: source, converted: broken)
        #expect(!report.passed)
        #expect(report.forward.firstDivergence?.node == "encoder.layer.1.attention.self.query")
    }
}
