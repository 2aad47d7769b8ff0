import Foundation
import Testing
import PorterArchitectures
import PorterCore
import PorterRuntime
import PorterTestSupport
@testable import PorterFairseq

/// Porter's FSMT graph, run by Porter's runtime on the weights ported from fairseq,
/// reproduces the encoder output and teacher-forced logits fairseq itself recorded.
@Suite struct FairseqForwardTests {
    @Test(arguments: FairseqFixtureTests.variants)
    func portedModelReproducesFairseq(variant: String) throws {
        let port = try FairseqFixtureTests.port(variant)
        let graph = try ArchitectureRegistry.standard.buildGraph(config: port.model.config, tensorNames: Set(port.model.tensors.names))
        let executor = try GraphExecutor(graph: graph, weights: port.model.tensors)
        let cases = try #require(Fixtures.json("fairseq/\(variant)/reference.json")["cases"]?.arrayValue)
        #expect(cases.count == 3)
        for c in cases {
            let srcInts = c["src_ids"]?.arrayValue?.compactMap(\.intValue) ?? []
            let prevInts = c["prev_output_tokens"]?.arrayValue?.compactMap(\.intValue) ?? []
            #expect(!srcInts.isEmpty && !prevInts.isEmpty)
            let src = srcInts.map { Int64($0) }
            let prev = prevInts.map { Int64($0) }
            let inputs: [String: HostTensor] = [
                "input_ids": HostTensor(shape: [1, src.count], int64s: src),
                "attention_mask": HostTensor(shape: [1, src.count], int64s: Array(repeating: 1, count: src.count)),
                "decoder_input_ids": HostTensor(shape: [1, prev.count], int64s: prev),
            ]
            let result = try executor.run(inputs.filter { name, _ in graph.inputs.contains { $0.name == name } })
            for (output, key) in [("encoder_last_hidden_state", "encoder_out"), ("logits", "logits")] {
                let actual = try #require(result.outputs[output]).floatValues
                let expected = (c[key]?["values"]?.arrayValue?.compactMap(\.doubleValue) ?? []).map { Float($0) }
                #expect(actual.count == expected.count, "\(variant) \(output)")
                let diff = zip(actual, expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
                #expect(diff <= 1e-4, "\(variant) \(output): max abs difference \(diff)")
                #expect((expected.map { abs($0) }.max() ?? 0) > 0.5)
            }
        }
    }
}
