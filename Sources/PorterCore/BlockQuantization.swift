import Foundation
/// Storage types that pack a run of elements into a fixed-size block (ggml's quantized
/// types): a block of `blockSize` elements takes `bytesPerBlock` bytes, so sizes are
/// counted in blocks, never with a per-element `DType.byteSize`.
///
/// Neutral tensors stay `DType`s: a reader dequantizes a block-quantized tensor into `f32`,
/// and a writer quantizes `f32` rows into blocks. This enum is the one home of the
/// geometry both sides (and the verifier's replay of a quantization) need.
public enum BlockQuantization: String, Sendable, Codable, CaseIterable, Hashable {
    case q4_0, q4_1, q5_0, q5_1, q8_0
    case q2_k = "q2_K", q3_k = "q3_K", q4_k = "q4_K", q5_k = "q5_K", q6_k = "q6_K"

    /// Elements per block: 32 for the legacy types, 256 for the k-quants.
    public var blockSize: Int {
        switch self {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q2_k, .q3_k, .q4_k, .q5_k, .q6_k: return 256
        }
    }

    /// Bytes one block takes (scales and packed quants).
    public var bytesPerBlock: Int {
        switch self {
        case .q4_0: return 2 + 16
        case .q4_1: return 2 + 2 + 16
        case .q5_0: return 2 + 4 + 16
        case .q5_1: return 2 + 2 + 4 + 16
        case .q8_0: return 2 + 32
        case .q2_k: return 2 + 2 + 256 / 16 + 256 / 4
        case .q3_k: return 2 + 256 / 4 + 256 / 8 + 12
        case .q4_k: return 2 + 2 + 256 / 2 + 12
        case .q5_k: return 2 + 2 + 256 / 2 + 256 / 8 + 12
        case .q6_k: return 2 + 256 / 2 + 256 / 4 + 256 / 16
        }
    }

    /// Bytes of `elements` elements stored this way, or nil when `elements` is not a whole
    /// number of blocks or the size overflows.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (bytes, overflow) = (elements / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }

    /// The upper-case spelling ggml uses (`Q8_0`, `Q4_K`).
    public var ggmlName: String { rawValue.uppercased() }
}


/// Dequantization and quantization of ggml's block types, element for element as gguf-py's
/// `gguf.quants` computes them in float32 (each product and sum rounded to float32 in the
/// same order, half-precision scales rounded to nearest even), so results are bit-equal.
///
/// Layouts (per block): see docs/formats/gguf.md.
public enum BlockCodec {
    @inline(__always) static func half(_ p: UnsafeRawBufferPointer, _ at: Int) -> Float {
        FloatConversion.f16ToFloat(UInt16(p[at]) | UInt16(p[at + 1]) << 8)
    }

    /// Dequantizes `bytes` (whole blocks of `type`) into `out` (`blocks × blockSize` floats).
    public static func dequantize(_ type: BlockQuantization, _ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>) {
        let bs = type.blockSize, tb = type.bytesPerBlock
        let blocks = bytes.count / tb
        precondition(out.count >= blocks * bs, "BlockCodec.dequantize: output too small")
        for b in 0..<blocks {
            let p = UnsafeRawBufferPointer(rebasing: bytes[(b * tb)..<((b + 1) * tb)])
            let y = UnsafeMutableBufferPointer(rebasing: out[(b * bs)..<((b + 1) * bs)])
            switch type {
            case .q4_0: q4_0(p, y)
            case .q4_1: q4_1(p, y)
            case .q5_0: q5_0(p, y)
            case .q5_1: q5_1(p, y)
            case .q8_0: q8_0(p, y)
            case .q2_k: q2_k(p, y)
            case .q3_k: q3_k(p, y)
            case .q4_k: q4_k(p, y)
            case .q5_k: q5_k(p, y)
            case .q6_k: q6_k(p, y)
            }
        }
    }

    /// Dequantized values of whole blocks.
    public static func dequantize(_ type: BlockQuantization, _ bytes: [UInt8]) -> [Float] {
        let n = bytes.count / type.bytesPerBlock * type.blockSize
        var out = [Float](repeating: 0, count: n)
        bytes.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { dequantize(type, src, into: $0) } }
        return out
    }

    // MARK: legacy 32-element blocks

    /// Low nibbles are elements 0..15, high nibbles 16..31.
    @inline(__always) static func nibble(_ qs: UnsafeRawBufferPointer, _ base: Int, _ j: Int) -> UInt8 {
        j < 16 ? qs[base + j] & 0x0F : qs[base + j - 16] >> 4
    }

    static func q4_0(_ p: UnsafeRawBufferPointer, _ y: UnsafeMutableBufferPointer<Float>) {
        let d = half(p, 0)
        for j in 0..<32 { y[j] = d * Float(Int8(nibble(p, 2, j)) - 8) }
    }

    static func q4_1(_ p: UnsafeRawBufferPointer, _ y: UnsafeMutableBufferPointer<Float>) {
        let d = half(p, 0), m = half(p, 2)
        for j in 0..<32 {
            let dq = d * Float(nibble(p, 4, j))
            y[j] = dq + m
        }
    }

    @inline(__always) static func u32(_ p: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(p[at]) | UInt32(p[at + 1]) << 8 | UInt32(p[at + 2]) << 16 | UInt32(p[at + 3]) << 24
    }

    static func q5_0(_ p: UnsafeRawBufferPointer, _ y: UnsafeMutableBufferPointer<Float>) {
        let d = half(p, 0), qh = u32(p, 2)
        for j in 0..<32 {
            let q = nibble(p, 6, j) | UInt8((qh >> UInt32(j)) & 1) << 4
            y[j] = d * Float(Int8(q) - 16)
        }
    }

    static func q5_1(_ p: UnsafeRawBufferPointer, _ y: UnsafeMutableBufferPointer<Float>) {
        let d = half(p, 0), m = half(p, 2), qh = u32(p, 4)
        for j in 0..<32 {
            let q = nibble(p, 8, j) | UInt8((qh >> UInt32(j)) & 1) << 4
            let dq = d * Float(q)
            y[j] = dq + m
        }
    }

    static func q8_0(_ p: UnsafeRawBufferPointer, _ y: UnsafeMutableBufferPointer<Float>) {
        let d = half(p, 0)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: p[2 + j])) * d }
    }

    // MARK: k-quants, 256-element super-blocks

    static func q2_k(_ p: UnsafeRawBufferPointer, _ y: UnsafeMutableBufferPointer<Float>) {
        // scales[16], qs[64], d, dmin
        let d = half(p, 80), dmin = half(p, 82)
        for e in 0..<256 {
            let h = e / 128, s = (e / 32) % 4, l = e % 32
            let q = (p[16 + h * 32 + l] >> UInt8(2 * s)) & 3
            let g = e / 16
            let dl = d * Float(p[g] & 0x0F)
            let ml = dmin * Float(p[g] >> 4)
            let prod = dl * Float(q)
            y[e] = prod - ml
        }
    }

    static func q3_k(_ p: UnsafeRawBufferPointer, _ y: UnsafeMutableBufferPointer<Float>) {
        // hmask[32], qs[64], scales[12], d
        let d = half(p, 108)
        var dl = [Float](repeating: 0, count: 16)
        for k in 0..<16 {
            let low = (p[96 + k % 8] >> UInt8(4 * (k / 8))) & 0x0F
            let high = (p[96 + 8 + k % 4] >> UInt8(2 * (k / 4))) & 0x03
            let scale = Int8(bitPattern: low | high << 4) &- 32
            dl[k] = d * Float(scale)
        }
        for e in 0..<256 {
            let h = e / 128, s = (e / 32) % 4, l = e % 32
            let ql = Int8((p[32 + h * 32 + l] >> UInt8(2 * s)) & 3)
            let qh = Int8(((p[e % 32] >> UInt8(e / 32)) & 1) ^ 1)
            y[e] = dl[e / 16] * Float(ql - (qh << 2))
        }
    }

    /// The 6-bit scale and min of sub-block `j` (0..<8) of a Q4_K / Q5_K block.
    @inline(__always) static func scaleMin(_ s: UnsafeRawBufferPointer, _ base: Int, _ j: Int) -> (UInt8, UInt8) {
        if j < 4 { return (s[base + j] & 0x3F, s[base + 4 + j] & 0x3F) }
        let md = s[base + 8 + j - 4]
        return ((md & 0x0F) | ((s[base + j - 4] >> 2) & 0x30), (md >> 4) | ((s[base + 4 + j - 4] >> 2) & 0x30))
    }

    static func q4_k(_ p: UnsafeRawBufferPointer, _ y: UnsafeMutableBufferPointer<Float>) {
        // d, dmin, scales[12], qs[128]
        let d = half(p, 0), dmin = half(p, 2)
        for j in 0..<8 {
            let (sc, mn) = scaleMin(p, 4, j)
            let dj = d * Float(sc), mj = dmin * Float(mn)
            for l in 0..<32 {
                let e = j * 32 + l
                let q = (p[16 + (e / 64) * 32 + l] >> UInt8(4 * ((e / 32) % 2))) & 0x0F
                let prod = dj * Float(q)
                y[e] = prod - mj
            }
        }
    }

    static func q5_k(_ p: UnsafeRawBufferPointer, _ y: UnsafeMutableBufferPointer<Float>) {
        // d, dmin, scales[12], qh[32], qs[128]
        let d = half(p, 0), dmin = half(p, 2)
        for j in 0..<8 {
            let (sc, mn) = scaleMin(p, 4, j)
            let dj = d * Float(sc), mj = dmin * Float(mn)
            for l in 0..<32 {
                let e = j * 32 + l
                let ql = (p[48 + (e / 64) * 32 + l] >> UInt8(4 * ((e / 32) % 2))) & 0x0F
                let qh = (p[16 + l] >> UInt8(e / 32)) & 1
                let prod = dj * Float(ql | qh << 4)
                y[e] = prod - mj
            }
        }
    }

    static func q6_k(_ p: UnsafeRawBufferPointer, _ y: UnsafeMutableBufferPointer<Float>) {
        // ql[128], qh[64], scales[16] (int8), d
        let d = half(p, 208)
        for e in 0..<256 {
            let h = e / 128, r = e % 128
            let ql = (p[h * 64 + r % 64] >> UInt8(4 * (r / 64))) & 0x0F
            let qh = (p[128 + h * 32 + r % 32] >> UInt8(2 * (r / 32))) & 0x03
            let q = Int8(bitPattern: ql | qh << 4) &- 32
            let dg = d * Float(Int8(bitPattern: p[192 + e / 16]))
            y[e] = dg * Float(q)
        }
    }

    // MARK: quantization (the types Porter writes)

    /// The block types the writer can produce.
    public static let writable: [BlockQuantization] = [.q8_0, .q4_0, .q4_1]

    /// Quantizes `values` (a whole number of blocks) to `type`; nil for a type Porter does
    /// not quantize.
    public static func quantize(_ type: BlockQuantization, _ values: UnsafeBufferPointer<Float>) -> [UInt8]? {
        let bs = type.blockSize, tb = type.bytesPerBlock
        guard writable.contains(type), values.count % bs == 0 else { return nil }
        let blocks = values.count / bs
        var out = [UInt8](repeating: 0, count: blocks * tb)
        out.withUnsafeMutableBytes { dst in
            for b in 0..<blocks {
                let x = UnsafeBufferPointer(rebasing: values[(b * bs)..<((b + 1) * bs)])
                let o = UnsafeMutableRawBufferPointer(rebasing: dst[(b * tb)..<((b + 1) * tb)])
                switch type {
                case .q8_0: quantizeQ8_0(x, o)
                case .q4_0: quantizeQ4_0(x, o)
                case .q4_1: quantizeQ4_1(x, o)
                default: break
                }
            }
        }
        return out
    }

    public static func quantize(_ type: BlockQuantization, _ values: [Float]) -> [UInt8]? {
        values.withUnsafeBufferPointer { quantize(type, $0) }
    }

    @inline(__always) static func putHalf(_ v: Float, _ o: UnsafeMutableRawBufferPointer, _ at: Int) {
        let bits = FloatConversion.floatToF16(v)
        o[at] = UInt8(truncatingIfNeeded: bits)
        o[at + 1] = UInt8(truncatingIfNeeded: bits >> 8)
    }

    /// numpy's float → uint8 `astype` after `trunc` for the values the legacy quantizers
    /// produce (non-negative and small); NaN becomes 0.
    @inline(__always) static func truncU8(_ v: Float) -> UInt8 {
        guard v.isFinite, v >= 0 else { return 0 }
        return v >= 255 ? 255 : UInt8(v.rounded(.towardZero))
    }

    static func quantizeQ8_0(_ x: UnsafeBufferPointer<Float>, _ o: UnsafeMutableRawBufferPointer) {
        var amax: Float = 0
        for v in x { amax = max(amax, abs(v)) }
        let d = amax / 127
        let id: Float = d == 0 ? 0 : 1 / d
        putHalf(d, o, 0)
        for j in 0..<32 {
            // Rounds half away from zero in float32 steps: floor(a) + floor(2 (a - floor(a))).
            let n = x[j] * id
            let a = abs(n)
            let fl = a.rounded(.down)
            let frac = a - fl
            let twice = 2 * frac
            let b = fl + twice.rounded(.down)
            let r = n > 0 ? b : (n < 0 ? -b : 0)
            o[2 + j] = UInt8(bitPattern: r.isNaN ? 0 : Int8(max(-128, min(127, r))))
        }
    }

    /// Index of the first element of largest magnitude (numpy's `argmax` of `abs`).
    @inline(__always) static func argmaxAbs(_ x: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for j in 1..<x.count where abs(x[j]) > abs(x[best]) { best = j }
        return best
    }

    static func quantizeQ4_0(_ x: UnsafeBufferPointer<Float>, _ o: UnsafeMutableRawBufferPointer) {
        let mx = x[argmaxAbs(x)]
        let d = mx / -8
        let id: Float = d == 0 ? 0 : 1 / d
        putHalf(d, o, 0)
        var q = [UInt8](repeating: 0, count: 32)
        for j in 0..<32 {
            let scaled = x[j] * id
            q[j] = min(15, truncU8(scaled + 8.5))
        }
        for j in 0..<16 { o[2 + j] = q[j] | q[j + 16] << 4 }
    }

    static func quantizeQ4_1(_ x: UnsafeBufferPointer<Float>, _ o: UnsafeMutableRawBufferPointer) {
        var mx = x[0], mn = x[0]
        for v in x { mx = max(mx, v); mn = min(mn, v) }
        let d = (mx - mn) / 15
        let id: Float = d == 0 ? 0 : 1 / d
        putHalf(d, o, 0)
        putHalf(mn, o, 2)
        var q = [UInt8](repeating: 0, count: 32)
        for j in 0..<32 {
            let shifted = x[j] - mn
            let scaled = shifted * id
            q[j] = min(15, truncU8(scaled + 0.5))
        }
        for j in 0..<16 { o[4 + j] = q[j] | q[j + 16] << 4 }
    }
}

/// A writer that stores block-quantized tensors: a tensor whose provenance ends with
/// `TransformStep.quantize(to:)` is written as blocks of that type. The pipeline refuses
/// `--dtype q8_0|q4_0|q4_1` for writers without this conformance.
public protocol BlockQuantizedWriting {
    /// The block types the writer can store.
    var writableBlockTypes: [BlockQuantization] { get }
}

/// A writer whose consumers need some float tensors in f32 whatever `--dtype f16|bf16`
/// asks (llama.cpp's ggml takes norm weights and biases only as F32, as llama.cpp's own
/// converter writes them). The pipeline casts those to f32 instead, in a conversion and in
/// verify's replay alike.
public protocol Float32Keeping {
    /// True when the tensor must be stored as f32.
    func keepsFloat32(name: String, shape: Shape) -> Bool
}

/// A writer that knows the mapping a model needs before it can be written (the GGUF writer:
/// llama.cpp's names for a transformers checkpoint, asked of the architecture descriptor).
/// The pipeline applies it when the user names no `--mapping`, so verification sees it too.
public protocol DefaultMappingChoosing {
    /// The mapping name (built-in or file) for `model`, nil when it needs none.
    func defaultMapping(for model: NeutralModel) -> String?
}

/// A reader whose models carry another ecosystem's config and names (GGUF: llama.cpp's keys
/// and tensor names) and that can prepare them for a writer of a different format: the
/// config translated (through the architecture descriptor), and the mapping back to the
/// names that format's loaders expect. The pipeline applies both when no `--mapping` is given.
public protocol ConversionPreparing {
    /// nil when `model` needs nothing for the writer with format id `writer`.
    func prepared(_ model: NeutralModel, forWriter writer: String) throws -> (model: NeutralModel, mapping: String?)?
}

extension TensorRef {
    /// The values this f32 tensor takes after a round trip through `type` (quantized, then
    /// dequantized), as the verifier replays a `.quantize` step. Rows are along the last axis.
    public func quantizedRoundTrip(_ type: BlockQuantization, name: String) throws -> TensorRef {
        guard dtype == .f32 else { throw CoreError.storageFailed(source: name, reason: "\(type.ggmlName) quantizes f32 values, this tensor is \(dtype.rawValue)") }
        guard let last = shape.dims.last, last % type.blockSize == 0 else {
            throw CoreError.storageFailed(source: name, reason: "the last dimension \(shape.dims.last ?? 0) is not a multiple of the \(type.blockSize)-element \(type.ggmlName) block")
        }
        let values = try floatValues()
        guard let q = BlockCodec.quantize(type, values) else {
            throw CoreError.storageFailed(source: name, reason: "Porter does not quantize to \(type.ggmlName)")
        }
        let back = BlockCodec.dequantize(type, q)
        let bytes = back.withUnsafeBytes { Array($0) }
        return .memory(bytes, dtype: .f32, shape: shape, label: "\(name) (\(type.ggmlName) round trip)")
    }
}
