import Foundation
import PorterCore
import PorterRuntime
import Testing

@Suite struct ShapeOpTests {
    let x = f([2, 3], [1, 2, 3, 4, 5, 6])

    @Test func reshapeCopiesZeroAndInfersMinusOne() throws {
        let t = f([2, 3, 4], (0..<24).map(Float.init))
        #expect(try run1("reshape", [t], ["shape": [0, -1]]).shape == [2, 12])
        #expect(try run1("reshape", [t], ["shape": [0, 0, 2, 2]]).shape == [2, 3, 2, 2])
        #expect(try run1("reshape", [t], ["shape": [-1]]).floats == (0..<24).map(Float.init))
        #expect(throws: RuntimeError.self) { try run1("reshape", [t], ["shape": [5, -1]]) }
        #expect(throws: RuntimeError.self) { try run1("reshape", [t], ["shape": [-1, -1]]) }
    }

    @Test func transposePermutesAxes() throws {
        expectClose(try run1("transpose", [x], ["perm": [1, 0]]), [3, 2], [1, 4, 2, 5, 3, 6])
        let t = f([2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7])
        expectClose(try run1("transpose", [t], ["perm": [0, 2, 1]]), [2, 2, 2], [0, 2, 1, 3, 4, 6, 5, 7])
        expectClose(try run1("transpose", [t], ["perm": [2, 0, 1]]), [2, 2, 2], [0, 2, 4, 6, 1, 3, 5, 7])
        // Negative axes and int64 tensors.
        #expect(try run1("transpose", [i([2, 2], [1, 2, 3, 4])], ["perm": [-1, -2]]).int64s == [1, 3, 2, 4])
        #expect(throws: RuntimeError.self) { try run1("transpose", [x], ["perm": [0, 0]]) }
    }

    @Test func sliceClampsAndCountsFromTheEnd() throws {
        expectClose(try run1("slice", [x], ["axis": -1, "start": 1, "end": 3]), [2, 2], [2, 3, 5, 6])
        expectClose(try run1("slice", [x], ["axis": 1, "start": -2, "end": 100]), [2, 2], [2, 3, 5, 6])
        expectClose(try run1("slice", [x], ["axis": 1, "start": 0, "end": 3, "step": 2]), [2, 2], [1, 3, 4, 6])
        expectClose(try run1("slice", [x], ["axis": 0, "start": 1]), [1, 3], [4, 5, 6])
        expectClose(try run1("slice", [x], ["axis": 1, "start": 2, "end": 1]), [2, 0], [])
    }

    @Test func concatAndSplitAreInverse() throws {
        let y = f([2, 1], [7, 8])
        let c = try run1("concat", [x, y], ["axis": -1])
        expectClose(c, [2, 4], [1, 2, 3, 7, 4, 5, 6, 8])
        expectClose(try run1("concat", [x, x], ["axis": 0]), [4, 3], [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6])
        #expect(throws: RuntimeError.self) { try run1("concat", [x, f([1, 2], [0, 0])], ["axis": 0]) }
        let parts = try runOp("split", [c], ["axis": 1, "sizes": [3, 1]], outputs: 2)
        expectClose(parts[0], [2, 3], [1, 2, 3, 4, 5, 6])
        expectClose(parts[1], [2, 1], [7, 8])
        #expect(throws: RuntimeError.self) { try runOp("split", [c], ["axis": 1, "sizes": [3, 2]], outputs: 2) }
    }

    @Test func flattenSqueezeUnsqueeze() throws {
        let t = f([2, 3, 4], [Float](repeating: 1, count: 24))
        #expect(try run1("flatten", [t]).shape == [2, 12])
        #expect(try run1("flatten", [t], ["axis": 2]).shape == [6, 4])
        #expect(try run1("flatten", [t], ["axis": 0]).shape == [1, 24])
        let u = try run1("unsqueeze", [x], ["axes": [0, -1]])
        #expect(u.shape == [1, 2, 3, 1])
        #expect(try run1("squeeze", [u], ["axes": [-1]]).shape == [1, 2, 3])
        #expect(try run1("squeeze", [u]).shape == [2, 3])
        #expect(throws: RuntimeError.self) { try run1("squeeze", [u], ["axes": [1]]) }
    }

    @Test func padWithConstant() throws {
        expectClose(try run1("pad", [f([2, 2], [1, 2, 3, 4])], ["pads": [1, 0, 0, 2], "value": 9]), [3, 4],
                    [9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9])
        #expect(throws: RuntimeError.self) { try run1("pad", [x], ["pads": [1, 1]]) }
    }
}
