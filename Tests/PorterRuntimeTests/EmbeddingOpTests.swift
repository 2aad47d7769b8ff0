import Foundation
import PorterCore
import PorterRuntime
import Testing

@Suite struct EmbeddingOpTests {
    @Test func gatherRowsAndAlongAnotherAxis() throws {
        let table = f([3, 2], [0, 1, 10, 11, 20, 21])
        expectClose(try run1("gather", [table, i([2, 2], [0, 2, 1, 1])]), [2, 2, 2], [0, 1, 20, 21, 10, 11, 10, 11])
        expectClose(try run1("gather", [table, i([1], [1])], ["axis": 1]), [3, 1], [1, 11, 21])
        expectClose(try run1("gather", [table, i([1], [0])], ["axis": -1]), [3, 1], [0, 10, 20])
        #expect(throws: RuntimeError.indexOutOfRange(node: "node", index: 3, size: 3)) { try run1("gather", [table, i([1], [3])]) }
        #expect(throws: RuntimeError.indexOutOfRange(node: "node", index: -1, size: 3)) { try run1("gather", [table, i([1], [-1])]) }
    }

    @Test func positionIdsPlainAndPaddingAware() throws {
        let ids = i([2, 4], [5, 6, 1, 1, 1, 7, 8, 1])
        #expect(try run1("position_ids", [ids], ["offset": 2]).int64s == [2, 3, 4, 5, 2, 3, 4, 5])
        // RoBERTa/fairseq: cumsum(ids ≠ pad) · (ids ≠ pad) + pad.
        #expect(try run1("position_ids", [ids], ["padding_idx": 1]).int64s == [2, 3, 1, 1, 1, 2, 3, 1])
    }

    @Test func sinusoidalPositionsFairseqLayout() throws {
        // dim 4: frequencies 1 and 10000^(-1); sin half then cos half; padding row zero.
        let r = try run1("sinusoidal_positions", [i([1, 3], [2, 1, 0])], ["dim": 4, "padding_idx": 1])
        expectClose(r, [1, 3, 4], [0.9092974, 0.0002, -0.41614684, 1, 0, 0, 0, 0, 0, 0, 1, 1], tolerance: 1e-5)
        // Odd dim gets a zero last column.
        let odd = try run1("sinusoidal_positions", [i([1], [3])], ["dim": 5, "padding_idx": nil])
        expectClose(odd, [1, 5], [0.14112, 0.0003, -0.9899925, 1, 0], tolerance: 1e-5)
    }

    @Test func attentionMaskPaddingAndCausal() throws {
        let m = i([1, 3], [1, 1, 0])
        expectClose(try run1("attention_mask", [m]), [1, 1, 1, 3], [0, 0, lowest])
        expectClose(try run1("attention_mask", [m], ["causal": true]), [1, 1, 3, 3],
                    [0, lowest, lowest, 0, 0, lowest, 0, 0, lowest])
        // Float masks work too.
        expectClose(try run1("attention_mask", [f([1, 2], [0, 1])]), [1, 1, 1, 2], [lowest, 0])
        expectClose(try run1("causal_mask", [f([2, 2, 5], [Float](repeating: 0, count: 20))]), [1, 1, 2, 2], [0, lowest, 0, 0])
    }
}
