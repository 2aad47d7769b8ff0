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

    /// The safetensors spelling (`F32`, `BF16`, ...).
    public var safetensorsName: String {
        switch self {
        case .bool: return "BOOL"
        case .u8: return "U8"
        case .i8: return "I8"
        case .i16: return "I16"
        case .u16: return "U16"
        case .i32: return "I32"
        case .u32: return "U32"
        case .i64: return "I64"
        case .u64: return "U64"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .f32: return "F32"
        case .f64: return "F64"
        case .f8e4m3: return "F8_E4M3"
        case .f8e5m2: return "F8_E5M2"
        case .c64: return "C64"
        }
    }

    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }
}
