import CPorterKernels
import Foundation

/// Exact conversions between Porter's floating dtypes.
///
/// Narrowing rounds to nearest, ties to even; NaN stays NaN; finite values that round
/// beyond the target's range become infinity and are counted as overflows.
public enum FloatConversion {
    /// bfloat16 bits → Float (exact).
    @inlinable public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Float → bfloat16 bits, round to nearest even. Every NaN becomes 0xFFFF (a quiet
    /// NaN), the bits torch's CPU cast writes (`porter_cast_f32_to_bf16`, fixtures/cast).
    @inlinable public static func floatToBF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return 0xFFFF }
        let lsb = (bits >> 16) & 1
        let rounded = bits &+ 0x7FFF &+ lsb
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// float16 bits → Float (exact).
    @inlinable public static func f16ToFloat(_ bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// Float → float16 bits, round to nearest even.
    @inlinable public static func floatToF16(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }

    /// Double → float16 bits, rounded once (not via Float, which would round twice).
    @inlinable public static func doubleToF16(_ value: Double) -> UInt16 {
        Float16(value).bitPattern
    }

    /// Double → bfloat16 bits, rounded once: the double is first rounded to float with
    /// round-to-odd (which cannot create a false tie), then float → bf16 rounds to
    /// nearest even.
    public static func doubleToBF16(_ value: Double) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let nearest = Float(value)
        if Double(nearest) == value || value.isInfinite { return floatToBF16(nearest) }
        var towardZero = nearest
        if nearest.isInfinite || abs(Double(nearest)) > abs(value) {
            towardZero = nearest > 0 ? nearest.nextDown : nearest.nextUp
        }
        return floatToBF16(Float(bitPattern: towardZero.bitPattern | 1))
    }
}

/// Result of a dtype cast: the converted little-endian bytes and how many finite
/// values became infinite because the target type cannot represent them.
public struct CastResult: Sendable {
    public var bytes: [UInt8]
    public var overflowCount: Int
}

public enum CastError: Error, Sendable, Equatable {
    case unsupported(from: DType, to: DType)
}

extension CastError: CustomStringConvertible {
    public var description: String {
        switch self {
        case let .unsupported(from, to): return "cannot cast \(from.rawValue) to \(to.rawValue): only f16, bf16, f32 and f64 convert"
        }
    }
}

extension FloatConversion {
    /// Casts contiguous little-endian elements from one float dtype to another, in
    /// bounded chunks split across the cores (`CastChunks`); the same bits as
    /// `castChunk`, which the streamed writes (`StreamedCast`) call chunk by chunk.
    public static func cast(_ source: UnsafeRawBufferPointer, from: DType, to: DType) throws -> CastResult {
        guard from.isCastableFloat, to.isCastableFloat else { throw CastError.unsupported(from: from, to: to) }
        let count = source.count / from.byteSize
        var out = [UInt8](repeating: 0, count: count * to.byteSize)
        guard count > 0, let src = source.baseAddress else { return CastResult(bytes: out, overflowCount: 0) }
        let overflows = out.withUnsafeMutableBytes { dst -> Int in
            let base = UnsafeSendablePointers(src: src, dst: dst.baseAddress!)
            let chunks = CastChunks(count: count)
            let total = ParallelCount()
            CastChunks.forEachWorker(chunks.chunkCount) { worker, workers in
                let scratch = CastScratch()
                var sum = 0
                for c in stride(from: worker, to: chunks.chunkCount, by: workers) {
                    let r = chunks.range(of: c)
                    sum += castChunk(base.src + r.lowerBound * from.byteSize, from: from,
                                     into: base.dst + r.lowerBound * to.byteSize, to: to, count: r.count, scratch: scratch)
                }
                total.add(sum)
            }
            return total.value
        }
        return CastResult(bytes: out, overflowCount: overflows)
    }

    /// Casts `count` elements at `src` (dtype `from`) into `dst` (dtype `to`); returns how
    /// many finite values became infinite. `scratch` holds the f32 widening when neither
    /// side is f32 and no direct kernel exists; reuse it across chunks.
    ///
    /// Between f16, bf16 and f32 the value is widened exactly to f32, then narrowed once
    /// (F16C / AVX2 kernels), as torch's CPU casts do; f64 goes element by element
    /// (`castElementwise`, rounded once from the double).
    public static func castChunk(_ src: UnsafeRawPointer, from: DType, into dst: UnsafeMutableRawPointer, to: DType,
                                 count: Int, scratch: CastScratch) -> Int {
        if count == 0 { return 0 }
        if from == to {
            dst.copyMemory(from: src, byteCount: count * from.byteSize)
            return 0
        }
        if from == .f64 || to == .f64 {
            return castElementwise(UnsafeRawBufferPointer(start: src, count: count * from.byteSize), from: from, to: to,
                                   count: count, into: UnsafeMutableRawBufferPointer(start: dst, count: count * to.byteSize))
        }
        switch (from, to) {
        case (.bf16, .f16): return porter_cast_bf16_to_f16(src, dst, count)
        case (.bf16, .f32): porter_cast_bf16_to_f32(src, dst.assumingMemoryBound(to: Float.self), count); return 0
        case (.f16, .f32): porter_f16_to_f32(src, dst.assumingMemoryBound(to: Float.self), count); return 0
        case (.f32, .f16): return porter_f32_to_f16(src, dst, count)
        case (.f32, .bf16): return porter_cast_f32_to_bf16(src, dst, count)
        default:
            // f16 → bf16: widen exactly into the scratch, then narrow.
            let wide = scratch.floats(count)
            porter_f16_to_f32(src, wide, count)
            return porter_cast_f32_to_bf16(wide, dst, count)
        }
    }

    /// The general cast, one element at a time through Double (exact for every source kind).
    static func castElementwise(_ source: UnsafeRawBufferPointer, from: DType, to: DType, count: Int, into initial: [UInt8]) -> CastResult {
        var out = initial
        let overflows = out.withUnsafeMutableBytes { castElementwise(source, from: from, to: to, count: count, into: $0) }
        return CastResult(bytes: out, overflowCount: overflows)
    }

    static func castElementwise(_ source: UnsafeRawBufferPointer, from: DType, to: DType, count: Int, into dst: UnsafeMutableRawBufferPointer) -> Int {
        var overflows = 0
        for i in 0..<count {
            // Read as Double (exact for every source kind).
            let v: Double
            switch from {
            case .f16: v = Double(f16ToFloat(source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian))
            case .bf16: v = Double(bf16ToFloat(source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self).littleEndian))
            case .f32: v = Double(Float(bitPattern: source.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self).littleEndian))
            default: v = Double(bitPattern: source.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self).littleEndian)
            }
            switch to {
            case .f16:
                let h = from == .f64 ? doubleToF16(v) : floatToF16(Float(v))
                if v.isFinite && Float16(bitPattern: h).isInfinite { overflows += 1 }
                dst.storeBytes(of: h.littleEndian, toByteOffset: i * 2, as: UInt16.self)
            case .bf16:
                let h = from == .f64 ? doubleToBF16(v) : floatToBF16(Float(v))
                if v.isFinite && bf16ToFloat(h).isInfinite { overflows += 1 }
                dst.storeBytes(of: h.littleEndian, toByteOffset: i * 2, as: UInt16.self)
            case .f32:
                let f = Float(v)
                if v.isFinite && f.isInfinite { overflows += 1 }
                dst.storeBytes(of: f.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self)
            default:
                dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 8, as: UInt64.self)
            }
        }
        return overflows
    }

    /// Widens contiguous little-endian float elements (f16, bf16, f32, f64) to Float.
    public static func toFloat32(_ source: UnsafeRawBufferPointer, dtype: DType) throws -> [Float] {
        guard dtype.isCastableFloat else { throw CastError.unsupported(from: dtype, to: .f32) }
        let count = source.count / dtype.byteSize
        return [Float](unsafeUninitializedCapacity: count) { buf, n in
            n = count
            guard count > 0, let base = source.baseAddress else { return }
            switch dtype {
            case .f32:
                #if _endian(little)
                UnsafeMutableRawPointer(buf.baseAddress!).copyMemory(from: base, byteCount: count * 4)
                #else
                for i in 0..<count {
                    buf[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self)))
                }
                #endif
            case .f16:
                porter_f16_to_f32(base, buf.baseAddress!, count)
            case .bf16:
                porter_cast_bf16_to_f32(base, buf.baseAddress!, count)
            default:
                for i in 0..<count {
                    buf[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i &* 8, as: UInt64.self))))
                }
            }
        }
    }
}
