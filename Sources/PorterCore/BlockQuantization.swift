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
