/// Element types a neutral tensor can hold.
///
/// The raw value is Porter's canonical lowercase name (used in `model.json`, reports
/// and the CLI). Formats translate their own spellings with the `init?(…)` helpers in
/// their own targets.
public enum DType: String, Sendable, Codable, CaseIterable, Hashable {
    case bool
    case u8, i8, i16, u16, i32, u32, i64, u64
    case f16, bf16, f32, f64
    /// 8-bit float kinds: carried byte for byte, no arithmetic conversion.
    case f8e4m3 = "f8_e4m3", f8e5m2 = "f8_e5m2"
    /// Complex float32 pairs: carried byte for byte, no arithmetic conversion.
    case c64

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2: return 1
        case .i16, .u16, .f16, .bf16: return 2
        case .i32, .u32, .f32: return 4
        case .i64, .u64, .f64, .c64: return 8
        }
    }

    /// True for the floating kinds Porter can compute with and cast between.
    public var isCastableFloat: Bool {
        switch self {
        case .f16, .bf16, .f32, .f64: return true
        default: return false
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .f16, .bf16, .f32, .f64, .f8e4m3, .f8e5m2, .c64: return true
        default: return false
        }
    }
}
