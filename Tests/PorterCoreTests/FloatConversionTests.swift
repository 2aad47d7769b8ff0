import Foundation
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

/// The vectorised f32 → f16 / bf16 casts give the bits of the element-by-element cast
/// (Swift's `Float16(Float)` and `floatToBF16`) for every class of float, on the vector
/// path (long buffers) and the scalar tail (7 elements at a time), with equal overflow counts.
@Suite struct NarrowingKernelTests {
    static let samples: [UInt32] = {
        var v: [UInt32] = [0, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0001, 0x7F80_0001, 0x7FBF_FFFF,
                           0x477F_E000, 0x477F_EFFF, 0x477F_F000, 0x477F_F001, 0x3880_0000, 0x387F_FFFF, 0x3300_0000, 0x3300_0001,
                           0x32FF_FFFF, 0x3380_0000, 0x0000_0001, 0x7F7F_FFFF, 0x7F7F_8000, 0x7F7F_7FFF]
        var x: UInt32 = 0
        for _ in 0..<1_000_000 { x = x &+ 4_294_967_291 / 1_000_000 &* 1 &+ 4_289; v.append(x) }  // strided over all bit patterns
        for e in 0..<256 { for m: UInt32 in [0, 1, 0x1000, 0x1FFF, 0x2000, 0x3FFF, 0x7F_FFFF, 0x40_0000, 0x40_1000] { v.append(UInt32(e) << 23 | m); v.append(0x8000_0000 | UInt32(e) << 23 | m) } }
        return v
    }()

    @Test(arguments: [DType.f16, .bf16])
    func kernelEqualsElementwise(_ target: DType) throws {
        let bytes = Self.samples.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
        let reference = bytes.withUnsafeBytes {
            FloatConversion.castElementwise($0, from: .f32, to: target, count: Self.samples.count, into: [UInt8](repeating: 0, count: Self.samples.count * 2))
        }
        let fast = try bytes.withUnsafeBytes { try FloatConversion.cast($0, from: .f32, to: target) }
        #expect(fast.bytes == reference.bytes)
        #expect(fast.overflowCount == reference.overflowCount)
        #expect(reference.overflowCount > 0)
        // The scalar tail: 7 elements at a time (the vector loop takes 8).
        var tail: [UInt8] = [], tailOverflows = 0
        for start in stride(from: 0, to: bytes.count, by: 28) {
            let part = Array(bytes[start..<min(bytes.count, start + 28)])
            let r = try part.withUnsafeBytes { try FloatConversion.cast($0, from: .f32, to: target) }
            tail += r.bytes
            tailOverflows += r.overflowCount
        }
        #expect(tail == reference.bytes)
        #expect(tailOverflows == reference.overflowCount)
    }
}

/// Deferred results (casts, inflated entries) are cached only up to a process-wide budget,
/// so converting a big model with `--dtype` does not keep every cast tensor in memory.
@Suite struct DeferredCacheBudgetTests {
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var counts: [Int: Int] = [:]
        func hit(_ i: Int) { lock.lock(); counts[i, default: 0] += 1; lock.unlock() }
        func count(_ i: Int) -> Int { lock.lock(); defer { lock.unlock() }; return counts[i] ?? 0 }
    }

    @Test func cachingStopsAtTheBudget() throws {
        let size = 8 << 20
        let parts = TensorStorage.deferredCacheBudget / size + 1  // more than the budget holds
        let counter = Counter()
        let storages = (0..<parts).map { i in
            TensorStorage(byteCount: size, backing: .deferred { counter.hit(i); return [UInt8](repeating: UInt8(i), count: size) }, label: "part \(i)")
        }
        for s in storages { _ = try s.withBytes(0..<1) { $0[0] } }
        #expect(TensorStorage.cachedDeferredBytes <= TensorStorage.deferredCacheBudget)
        for (i, s) in storages.enumerated() { #expect(try s.withBytes(0..<1) { $0[0] } == UInt8(i)) }
        // At least one part could not be cached and was made again; none was made more than twice.
        #expect(storages.indices.contains { counter.count($0) == 2 })
        #expect(storages.indices.allSatisfy { counter.count($0) <= 2 })
    }
}

/// Casts from 16-bit floats take the widen-then-narrow path: every one of the 65,536 bit
/// patterns gives the element-by-element result.
@Suite struct HalfSourceCastTests {
    @Test(arguments: [(DType.f16, DType.bf16), (.bf16, .f16), (.f16, .f32), (.bf16, .f32)])
    func everyPatternMatchesElementwise(_ pair: (DType, DType)) throws {
        let (from, to) = pair
        let bytes = (0...UInt16.max).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        let count = 65_536
        let reference = bytes.withUnsafeBytes {
            FloatConversion.castElementwise($0, from: from, to: to, count: count, into: [UInt8](repeating: 0, count: count * to.byteSize))
        }
        let fast = try bytes.withUnsafeBytes { try FloatConversion.cast($0, from: from, to: to) }
        #expect(fast.overflowCount == reference.overflowCount)
        // NaNs must stay NaNs of the same sign; every other value bit for bit.
        var mismatches = 0
        for i in 0..<count {
            let a = Array(fast.bytes[(i * to.byteSize)..<((i + 1) * to.byteSize)]), b = Array(reference.bytes[(i * to.byteSize)..<((i + 1) * to.byteSize)])
            if a != b {
                let widened = { (x: [UInt8]) -> Float in
                    switch to {
                    case .f16: return Float(Float16(bitPattern: UInt16(x[0]) | UInt16(x[1]) << 8))
                    case .bf16: return Float(bitPattern: (UInt32(x[0]) | UInt32(x[1]) << 8) << 16)
                    default: return Float(bitPattern: UInt32(x[0]) | UInt32(x[1]) << 8 | UInt32(x[2]) << 16 | UInt32(x[3]) << 24)
                    }
                }
                let fa = widened(a), fb = widened(b)
                if !(fa.isNaN && fb.isNaN && fa.sign == fb.sign) { mismatches += 1 }
            }
        }
        #expect(mismatches == 0, "\(from)→\(to)")
        if from == .bf16 && to == .f16 { #expect(reference.overflowCount > 0) }
    }
}
