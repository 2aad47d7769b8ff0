import PorterCore

/// The safetensors spelling of Porter's element types (`F32`, `BF16`, …), the header's
/// `dtype` values.
extension DType {
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

    /// The element type a safetensors header names, or nil for a spelling Porter lacks.
    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }
}
