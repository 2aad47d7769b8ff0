import Foundation
import PorterCore
import PorterOps
import PorterRuntime
import Testing

/// The decoder ops against values worked by hand (and transformers' formulas).
@Suite struct DecoderOpTests {
    @Test func rmsNormScalesByTheRootMeanSquare() throws {
        // Row [3, 4]: mean square 12.5, so x / sqrt(12.5 + ε) · w.
        let r = try run1("rms_norm", [f([1, 2], [3, 4]), f([2], [2, 0.5])], ["epsilon": 0])
        let s = Float(12.5).squareRoot()
        expectClose(r, [1, 2], [2 * 3 / s, 0.5 * 4 / s])
        // Gemma: (1 + w).
        expectClose(try run1("rms_norm", [f([1, 2], [3, 4]), f([2], [1, -0.5])], ["epsilon": 0, "weight_offset": 1]), [1, 2], [2 * 3 / s, 0.5 * 4 / s])
        // No weight: plain normalisation; ε counts.
        expectClose(try run1("rms_norm", [f([2, 1], [2, -1])], ["epsilon": 1]), [2, 1], [2 / Float(5).squareRoot(), -1 / Float(2).squareRoot()])
        #expect(throws: RuntimeError.self) { try run1("rms_norm", [f([1, 2], [3, 4]), f([3], [1, 1, 1])]) }
    }

    @Test func rotaryEmbeddingTurnsHalvesByPositionTimesFrequency() throws {
        // head_dim 4, theta 100: frequencies 1 and 0.1; pairs (x0, x2) and (x1, x3).
        let x = f([1, 2, 1, 4], [1, 2, 3, 4, 1, 2, 3, 4])
        let r = try run1("rotary_embedding", [x, i([1, 2], [0, 3])], ["theta": 100])
        let (c0, s0, c1, s1) = (cosf(3), sinf(3), cosf(0.3), sinf(0.3))
        expectClose(r, [1, 2, 1, 4], [1, 2, 3, 4,
                                        1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1])
        // Partial: only the first 2 dims turn (frequency 1); the rest pass through.
        let p = try run1("rotary_embedding", [x, i([1, 2], [0, 3])], ["theta": 100, "rotary_dim": 2])
        expectClose(p, [1, 2, 1, 4], [1, 2, 3, 4, 1 * c0 - 2 * s0, 2 * c0 + 1 * s0, 3, 4])
        // Positions may be shared over the batch ([1, seq]) or given per row.
        let batch = try run1("rotary_embedding", [f([2, 1, 1, 2], [1, 0, 1, 0]), i([2, 1], [0, 1])], ["theta": 10])
        expectClose(batch, [2, 1, 1, 2], [1, 0, cosf(1), sinf(1)])
        #expect(throws: RuntimeError.self) { try run1("rotary_embedding", [x, i([1, 2], [0, 3])], ["theta": 100, "rotary_dim": 3]) }
        #expect(throws: RuntimeError.self) { try run1("rotary_embedding", [x, i([1, 2], [0, -1])], ["theta": 100]) }
        #expect(throws: RuntimeError.self) { try run1("rotary_embedding", [x, i([1, 3], [0, 1, 2])], ["theta": 100]) }
    }

    @Test func interleavedRotaryOnPermutedRowsEqualsHalfRotaryPermuted() throws {
        // llama.cpp's converter moves row s·half + i of a head to 2i + s; rotating adjacent
        // pairs of the permuted head is rotating halves of the original, permuted the same way.
        let d = 8, half = 4
        let values = (0..<(2 * d)).map { Float($0) * 0.37 - 2 }
        let perm = (0..<d).map { r in (r % 2) * half + r / 2 }  // new row r reads old row perm[r]
        let permuted = (0..<2).flatMap { s in perm.map { values[s * d + $0] } }
        let positions = i([1, 2], [3, 5])
        let halfOut = try run1("rotary_embedding", [f([1, 2, 1, d], values), positions], ["theta": 500])
        let interleaved = try run1("rotary_embedding", [f([1, 2, 1, d], permuted), positions], ["theta": 500, "layout": "interleaved"])
        let expected = (0..<2).flatMap { s in perm.map { halfOut.floatValues[s * d + $0] } }
        expectClose(interleaved, [1, 2, 1, d], expected)
    }

    @Test func ropeScalingFrequenciesFollowTransformers() throws {
        // Values transformers 5.24 computed for head_dim 8, theta 10000 (fixtures/llama/generator.json).
        func close(_ a: [Float], _ b: [Double]) -> Bool { zip(a, b).allSatisfy { abs(Double($0) - $1) <= 1e-6 * max(1, abs($1)) } && a.count == b.count }
        let linear = RopeFrequencies(theta: 10000, dim: 8, scaling: .linear, factor: 4).frequencies(maxPosition: 6)
        #expect(close(linear.inverse, [0.25, 0.025, 0.0025, 0.00025]))
        let llama3 = RopeFrequencies(theta: 10000, dim: 8, scaling: .llama3, factor: 8, lowFreqFactor: 1, highFreqFactor: 4,
                                     originalMaxPositions: 64).frequencies(maxPosition: 6)
        #expect(close(llama3.inverse, [1.0, 0.013042256236076355, 0.0012499999720603228, 0.0001250000059371814]))
        let yarn = RopeFrequencies(theta: 10000, dim: 8, scaling: .yarn, factor: 4, originalMaxPositions: 16).frequencies(maxPosition: 6)
        #expect(close(yarn.inverse, [1.0, 0.02500000037252903, 0.0024999999441206455, 0.0002500000118743628]))
        #expect(abs(Double(yarn.attentionScale) - 1.138629436111989) < 1e-6)
        // Dynamic: unchanged up to max_positions, stretched beyond (7 positions over 4).
        let dynamic = RopeFrequencies(theta: 10000, dim: 8, scaling: .dynamic, factor: 2, maxPositions: 4)
        #expect(close(dynamic.frequencies(maxPosition: 3).inverse, [1, 0.1, 0.01, 0.001]))
        #expect(close(dynamic.frequencies(maxPosition: 6).inverse, [1.0, 0.07368063181638718, 0.005428835283964872, 0.00039999998989515007]))
    }

    @Test func windowMaskIsCausalAndForgetsOldPositions() throws {
        let m = try run1("window_attention_mask", [i([1, 3], [1, 1, 0])], ["window": 2])
        expectClose(m, [1, 1, 3, 3], [0, lowest, lowest,
                                      0, 0, lowest,
                                      lowest, 0, lowest])
        #expect(throws: RuntimeError.self) { try run1("window_attention_mask", [i([1, 3], [1, 1, 0])], ["window": 0]) }
    }
}
