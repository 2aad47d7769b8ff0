import Foundation
import PorterCore
import PorterRuntime
import Testing

@Suite struct LinearAlgebraOpTests {
    @Test func matmulPlainTransposedAndBatched() throws {
        let a = f([2, 2], [1, 2, 3, 4]), b = f([2, 2], [5, 6, 7, 8])
        expectClose(try run1("matmul", [a, b]), [2, 2], [19, 22, 43, 50])
        expectClose(try run1("matmul", [a, b], ["transpose_b": true]), [2, 2], [17, 23, 39, 53])
        expectClose(try run1("matmul", [a, b], ["transpose_a": true]), [2, 2], [26, 30, 38, 44])
        // Batch of two A against a shared B (stacked rows) and a batched B broadcast over A.
        let a2 = f([2, 1, 2], [1, 2, 3, 4])
        expectClose(try run1("matmul", [a2, b]), [2, 1, 2], [19, 22, 43, 50])
        let b2 = f([2, 2, 1], [1, 0, 0, 1])
        expectClose(try run1("matmul", [f([1, 2, 2], [1, 2, 3, 4]), b2]), [2, 2, 1], [1, 3, 2, 4])
        // Leading axes broadcast both ways: [2,1,1,2] × [1,3,2,1] → [2,3,1,1].
        let l = f([2, 1, 1, 2], [1, 1, 2, 2]), r = f([1, 3, 2, 1], [1, 0, 0, 1, 1, 1])
        expectClose(try run1("matmul", [l, r]), [2, 3, 1, 1], [1, 1, 2, 2, 2, 4])
    }

    @Test func matmulInnerMismatchNamesShapes() throws {
        do {
            _ = try run1("matmul", [f([2, 3], [Float](repeating: 0, count: 6)), f([2, 2], [0, 0, 0, 0])])
            Issue.record("expected an error")
        } catch let RuntimeError.shapeMismatch(node, op, _, shapes) {
            #expect(node == "node" && op == "matmul" && shapes == [[2, 3], [2, 2]])
        }
    }

    @Test func linearBothLayoutsWithAndWithoutBias() throws {
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        let w = f([2, 3], [1, 0, -1, 0.5, 0.5, 0.5])  // [out, in]
        expectClose(try run1("linear", [x, w, f([2], [10, 20])]), [2, 2], [8, 23, 8, 27.5])
        expectClose(try run1("linear", [x, w]), [2, 2], [-2, 3, -2, 7.5])
        let wt = f([3, 2], [1, 0.5, 0, 0.5, -1, 0.5])  // [in, out]
        expectClose(try run1("linear", [x, wt, f([2], [10, 20])], ["weight_layout": "in_out"]), [2, 2], [8, 23, 8, 27.5])
        // Optional bias omitted with "".
        expectClose(try run1("linear", [f([1, 1, 3], [1, 2, 3]), w, nil]), [1, 1, 2], [-2, 3])
        #expect(throws: RuntimeError.self) { try run1("linear", [f([1, 2], [1, 2]), w]) }
    }

    @Test func meanOverAxes() throws {
        let x = f([2, 3], [1, 2, 3, 4, 5, 6])
        expectClose(try run1("mean", [x], ["axes": [-1]]), [2], [2, 5])
        expectClose(try run1("mean", [x], ["axes": [0], "keepdims": true]), [1, 3], [2.5, 3.5, 4.5])
        expectClose(try run1("mean", [x]), [], [3.5])
    }

    @Test func softmaxIsStableAlongAnyAxis() throws {
        expectClose(try run1("softmax", [f([1, 3], [1, 2, 3])]), [1, 3], [0.09003057, 0.24472847, 0.66524096])
        expectClose(try run1("softmax", [f([1, 3], [1001, 1002, 1003])]), [1, 3], [0.09003057, 0.24472847, 0.66524096])
        expectClose(try run1("softmax", [f([2, 2], [0, 1, 0, 3])], ["axis": 0]), [2, 2], [0.5, 0.11920292, 0.5, 0.88079708])
        // A lowest-valued (masked) entry gets zero weight.
        expectClose(try run1("softmax", [f([2], [0, lowest])]), [2], [1, 0])
    }

    @Test func layerNormWithScaleShiftAndWithout() throws {
        let x = f([2, 3], [1, 2, 3, 3, 2, 1])
        expectClose(try run1("layer_norm", [x, f([3], [1, 1, 2]), f([3], [0, 1, 0])], ["epsilon": 0]), [2, 3],
                    [-1.2247449, 1, 2.4494898, 1.2247449, 1, -2.4494898], tolerance: 1e-5)
        expectClose(try run1("layer_norm", [f([1, 2], [0, 2])], ["epsilon": 1]), [1, 2], [-0.70710677, 0.70710677])
        // Normalising over the last two axes.
        expectClose(try run1("layer_norm", [f([1, 2, 2], [1, 2, 3, 4])], ["axis": -2, "epsilon": 0]), [1, 2, 2],
                    [-1.3416408, -0.4472136, 0.4472136, 1.3416408])
    }
}
