import Foundation
import CPorterRuntime
import PorterCore
@testable import PorterRuntime
import Testing

/// `porter_softmax_rows` under masks: masked entries (the lowest float, as BERT's padding and
/// GPT-2's causal masks use) get weight exactly 0, never the subnormal-making e^-87 of the
/// polynomial's clamp, and weights just above the cut keep their value.
@Suite struct MaskedSoftmaxKernelTests {
    static let lowest = -Float.greatestFiniteMagnitude

    /// A causal mask over odd sizes: every weight above the diagonal is +0 (bit pattern 0), no
    /// weight is subnormal, each row sums to 1, and the kept weights match a double softmax.
    @Test(arguments: [(1, 1), (3, 5), (17, 17), (33, 40), (128, 128)])
    func causalMaskGivesExactZeros(rows: Int, length: Int) {
        var x: [Float] = (0..<(rows * length)).map { (v: Int) -> Float in Float((v * 37 + 11) % 23) / 5 - 2 }
        let input = x
        let mask: [Float] = (0..<(rows * length)).map { (v: Int) -> Float in v % length > v / length ? Self.lowest : 0 }
        let offsets: [Int] = (0..<rows).map { $0 * length }
        x.withUnsafeMutableBufferPointer { px in mask.withUnsafeBufferPointer { pm in offsets.withUnsafeBufferPointer { po in
            porter_softmax_rows(px.baseAddress!, rows, length, length, 0.5, pm.baseAddress!, po.baseAddress!, 1)
        } } }
        for r in 0..<rows {
            let row = Array(x[(r * length)..<((r + 1) * length)])
            let kept = (0..<length).filter { $0 <= r }
            let logits = kept.map { Double(input[r * length + $0]) * 0.5 }
            let top = logits.max() ?? 0
            let sum = logits.map { exp($0 - top) }.reduce(0, +)
            for j in 0..<length {
                if j > r {
                    #expect(row[j].bitPattern == 0, "row \(r) col \(j): \(row[j])")
                } else {
                    let want = exp(Double(input[r * length + j]) * 0.5 - top) / sum
                    #expect(abs(Double(row[j]) - want) <= 1e-6 * max(1, want), "row \(r) col \(j)")
                }
                #expect(!row[j].isSubnormal, "row \(r) col \(j) is subnormal")
            }
            #expect(abs(row.reduce(0, +) - 1) <= 1e-5)
        }
    }

    /// Around the cut at -87: e^-86 keeps its value (a normal float), e^-88 and below become 0
    /// (the true value is subnormal), -inf gives 0.
    @Test func weightsAroundTheCut() {
        var x: [Float] = [0, -86, -88, -200, -.infinity, -86.9]
        x.withUnsafeMutableBufferPointer { p in porter_softmax_rows(p.baseAddress!, 1, 6, 6, 1, nil, nil, 0) }
        let sum = 1 + exp(-86.0) + exp(-86.9)
        #expect(abs(Double(x[0]) - 1 / sum) <= 1e-7)
        #expect(abs(Double(x[1]) - exp(-86.0)) <= 1e-6 * exp(-86.0))
        #expect(abs(Double(x[5]) - exp(-86.9)) <= 1e-5 * exp(-86.9))
        #expect(x[2] == 0 && x[3] == 0 && x[4] == 0)
    }

    /// The fused attention with a causal mask of the lowest float (GPT-2's) agrees with the
    /// nodes run one by one (libm's expf underflows to 0 there too) and leaves no subnormal.
    @Test func fusedCausalAttentionMatchesNodes() throws {
        let (batch, seq, heads, headDim) = (2, 19, 3, 5)
        let graph = SpeedKernelTests.attentionGraph(heads: heads, headDim: headDim, scale: 0.4, mask: "m")
        let executor = try GraphExecutor(graph: graph, weights: TensorStore())
        #expect(executor.fusedSteps.map { $0.label(graph) } == ["attention(fused)"])
        let width = heads * headDim
        let mask: [Float] = (0..<(seq * seq)).map { (v: Int) -> Float in v % seq > v / seq ? Self.lowest : 0 }
        let inputs: [String: HostTensor] = [
            "x": FusionTests.input([batch, seq, width], seed: 4), "y": FusionTests.input([batch, seq, width], seed: 5),
            "yv": FusionTests.input([batch, seq, width], seed: 6), "m": HostTensor(shape: [1, 1, seq, seq], floats: mask),
        ]
        try FusionTests.expectFusedEqualsUnfused(executor, inputs)
        let out = try executor.run(inputs).outputs.values.first!.floatValues
        #expect(!out.contains { $0.isSubnormal })
    }
}
