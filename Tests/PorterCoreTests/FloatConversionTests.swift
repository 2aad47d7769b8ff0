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

@Suite struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownVectors(input: String, digest: String) {
        #expect(SHA256.hex(Array(input.utf8)) == digest)
    }

    @Test func incrementalEqualsOneShot() {
        let bytes = (0..<1000).map { UInt8($0 % 251) }
        var s = SHA256()
        s.update(Array(bytes[0..<3])); s.update(Array(bytes[3..<200])); s.update(Array(bytes[200...]))
        let digits: [Character] = Array("0123456789abcdef")
        let hex = String(s.finalize().flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
        #expect(hex == SHA256.hex(bytes))
    }
}

@Suite struct WideningTests {
    @Test(arguments: [DType.f16, .bf16, .f32, .f64])
    func wideningIsExactForRepresentableValues(dtype: DType) throws {
        let values: [Float] = [0, -0.0, 1, -2.5, 0.375, 1024, -32768, .infinity]
        let bytes = try values.withUnsafeBytes { try FloatConversion.cast($0, from: .f32, to: dtype) }.bytes
        let back = try bytes.withUnsafeBytes { try FloatConversion.toFloat32($0, dtype: dtype) }
        #expect(back == values)
        #expect(back[1].sign == .minus)
    }

    @Test func wideningRefusesIntegers() {
        #expect(throws: CastError.unsupported(from: .i32, to: .f32)) {
            _ = try [UInt8](repeating: 0, count: 8).withUnsafeBytes { try FloatConversion.toFloat32($0, dtype: .i32) }
        }
    }
}

@Suite struct JSONQuotingTests {
    @Test func escapesLikeSerdeJSON() {
        #expect(JSONValue.quoted("a\"b\\c\n\t\u{1}é") == "\"a\\\"b\\\\c\\n\\t\\u0001é\"")
    }
}
