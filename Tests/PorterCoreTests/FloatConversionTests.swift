import Testing
@testable import PorterCore

@Suite struct FloatConversionTests {
    @Test func bf16RoundsToNearestEven() {
        // 1.0 + 2^-8 is exactly halfway between two bf16 values: ties to even (1.0).
        #expect(FloatConversion.floatToBF16(1.0 + 0x1p-8) == 0x3F80)
        // 1.0 + 3·2^-8 is halfway with an odd lower neighbour: rounds up.
        #expect(FloatConversion.floatToBF16(1.0 + 3 * 0x1p-8) == 0x3F82)
        #expect(FloatConversion.floatToBF16(Float.nan) & 0x7FC0 == 0x7FC0)
        #expect(FloatConversion.bf16ToFloat(0x3F80) == 1.0)
    }

    @Test func f16OverflowIsCounted() throws {
        let values: [Float] = [1, 65504, 65520, -1e9, .infinity]
        let result = try values.withUnsafeBytes { try FloatConversion.cast($0, from: .f32, to: .f16) }
        // 65520 rounds to infinity in f16; -1e9 overflows; +inf was already infinite.
        #expect(result.overflowCount == 2)
        let halves = result.bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
        #expect(halves[1] == 0x7BFF)
        #expect(halves[2] == 0x7C00)
    }

    @Test func doubleToBF16RoundsOnce() {
        // A double just above a bf16 tie must round up, though rounding to float first would land on the tie.
        let tie = 1.0 + 0x1p-8
        let above = tie + 0x1p-40
        #expect(FloatConversion.doubleToBF16(above) == 0x3F81)
        #expect(FloatConversion.doubleToBF16(tie) == 0x3F80)
    }

    @Test func roundTripWidening() throws {
        let values: [Float] = [0, -0.5, 3.140625, 1e-3]
        let b = try values.withUnsafeBytes { try FloatConversion.cast($0, from: .f32, to: .bf16) }
        let back = try b.bytes.withUnsafeBytes { try FloatConversion.toFloat32($0, dtype: .bf16) }
        #expect(back[0] == 0 && back[1] == -0.5 && back[2] == 3.140625)
    }
}
