import Foundation
import PorterCore
import PorterRuntime
import Testing

@Suite struct ElementwiseOpTests {
    @Test func addBroadcastsTrailingAndLeadingAxes() throws {
        let a = f([2, 3], [1, 2, 3, 4, 5, 6])
        expectClose(try run1("add", [a, f([3], [10, 20, 30])]), [2, 3], [11, 22, 33, 14, 25, 36])
        expectClose(try run1("add", [a, f([2, 1], [100, 200])]), [2, 3], [101, 102, 103, 204, 205, 206])
        expectClose(try run1("add", [f([2, 1], [1, 2]), f([1, 3], [10, 20, 30])]), [2, 3], [11, 21, 31, 12, 22, 32])
        expectClose(try run1("add", [f([], [5]), a]), [2, 3], [6, 7, 8, 9, 10, 11])
    }

    @Test func arithmeticOnInt64StaysInt64() throws {
        let r = try run1("add", [i([3], [1, 2, 3]), i([1], [10])])
        #expect(r.int64s == [11, 12, 13])
        #expect(try run1("mul", [i([2], [3, 4]), i([2], [5, 6])]).int64s == [15, 24])
        // Mixed int64 and float computes in float.
        expectClose(try run1("add", [i([2], [1, 2]), f([2], [0.5, 0.25])]), [2], [1.5, 2.25])
    }

    @Test func subMulDiv() throws {
        let a = f([2, 2], [1, 2, 3, 4])
        expectClose(try run1("sub", [a, f([2], [1, 10])]), [2, 2], [0, -8, 2, -6])
        expectClose(try run1("mul", [a, f([2, 1], [2, -1])]), [2, 2], [2, 4, -3, -4])
        expectClose(try run1("div", [a, f([], [4])]), [2, 2], [0.25, 0.5, 0.75, 1])
    }

    @Test func shapesThatDoNotBroadcastNameTheNode() throws {
        do {
            _ = try run1("add", [f([2, 3], [Float](repeating: 0, count: 6)), f([2], [1, 2])])
            Issue.record("expected an error")
        } catch let e as RuntimeError {
            #expect(e == .shapeMismatch(node: "node", op: "add", detail: "operands do not broadcast", shapes: [[2, 3], [2]]))
            #expect(e.localizedDescription.contains("node node (add)"))
        }
    }

    @Test func unaryFunctions() throws {
        let x = f([4], [-2, -0.5, 0.5, 1])
        expectClose(try run1("neg", [x]), [4], [2, 0.5, -0.5, -1])
        expectClose(try run1("relu", [x]), [4], [0, 0, 0.5, 1])
        expectClose(try run1("relu6", [f([3], [-1, 3, 7])]), [3], [0, 3, 6])
        expectClose(try run1("exp", [f([2], [0, 1])]), [2], [1, 2.7182817])
        expectClose(try run1("sqrt", [f([2], [4, 2])]), [2], [2, 1.4142135])
        expectClose(try run1("rsqrt", [f([2], [4, 0.25])]), [2], [0.5, 2])
        expectClose(try run1("erf", [f([3], [0, 0.5, -1])]), [3], [0, 0.5204999, -0.8427008])
        expectClose(try run1("tanh", [f([2], [0, 0.5])]), [2], [0, 0.46211716])
        expectClose(try run1("sigmoid", [f([3], [0, 2, -2])]), [3], [0.5, 0.880797, 0.119203])
        expectClose(try run1("silu", [f([2], [1, -1])]), [2], [0.7310586, -0.26894143])
        expectClose(try run1("identity", [x]), [4], [-2, -0.5, 0.5, 1])
        expectClose(try run1("scale", [x], ["factor": 2.5]), [4], [-5, -1.25, 1.25, 2.5])
    }

    /// The vectorised GELU kernel against GELU computed in double with libm's erf, over a
    /// dense range (every SIMD lane and the scalar tail) and the edges.
    @Test func geluKernelMatchesExactGELU() throws {
        let xs = (0..<200_003).map { Float($0) / 10_000 - 10 } + [0, -0.0, 87, -87, 1e30, -1e30, .infinity, .greatestFiniteMagnitude]
        let out = try run1("gelu", [f([xs.count], xs)]).floatValues
        var worst = 0.0
        for (x, y) in zip(xs.dropLast(4), out) {
            let exact = 0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))
            worst = max(worst, abs(Double(y) - exact) / max(1, abs(exact)))
        }
        #expect(worst < 1e-6, "max error \(worst)")
        #expect(out.suffix(4) == [1e30, 0, .infinity, .greatestFiniteMagnitude])
        #expect(try run1("gelu", [f([1], [.nan])]).floatValues[0].isNaN)
    }

    @Test func geluErfAndTanhForms() throws {
        let x = f([3], [1, -1, 2])
        // 0.5·x·(1 + erf(x/√2))
        expectClose(try run1("gelu", [x]), [3], [0.8413447, -0.15865526, 1.9544997])
        expectClose(try run1("gelu", [x], ["approximate": "none"]), [3], [0.8413447, -0.15865526, 1.9544997])
        // 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))
        expectClose(try run1("gelu", [x], ["approximate": "tanh"]), [3], [0.841192, -0.158808, 1.9545977])
        #expect(throws: RuntimeError.self) { try run1("gelu", [x], ["approximate": "fast"]) }
    }

    @Test func castAndNotEqual() throws {
        let c = try run1("cast", [f([3], [1.9, -1.9, 3])], ["dtype": "i64"])
        #expect(c.int64s == [1, -1, 3])
        let back = try run1("cast", [i([2], [7, -2])], ["dtype": "f32"])
        #expect(back.floats == [7, -2])
        #expect(try run1("not_equal", [i([4], [5, 1, 1, 3])], ["value": 1]).int64s == [1, 0, 0, 1])
    }

    @Test func floatOnlyOpsRejectInt64() throws {
        #expect(throws: RuntimeError.self) { try run1("exp", [i([1], [1])]) }
    }
}

/// Loading f16 weights into the runtime widens every half exactly, on the vectorised
/// path (a long tensor) and the scalar one (one element at a time).
@Suite struct HalfWideningTests {
    @Test func everyHalfWidensExactly() throws {
        let all = (0...UInt16.max).map { $0 }
        let bytes = all.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let long = try HostTensor(TensorRef(dtype: .f16, shape: [all.count], storage: TensorStorage.memory(bytes, label: "halves")))
        let values = try #require(long.floats)
        var mismatches = 0
        for (i, h) in all.enumerated() {
            let want = Float(Float16(bitPattern: h))
            let single = try HostTensor(TensorRef(dtype: .f16, shape: [1], storage: TensorStorage.memory([UInt8(h & 0xFF), UInt8(h >> 8)], label: "h")))
            for got in [values[i], single.floats![0]] {
                let same = want.isNaN ? got.isNaN && got.sign == want.sign : got.bitPattern == want.bitPattern
                if !same { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
    }
}
