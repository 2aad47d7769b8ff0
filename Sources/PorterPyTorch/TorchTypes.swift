import PorterCore
import PorterPickle

/// PyTorch's spellings of element types.
public enum TorchTypes {
    /// `torch.FloatStorage` → f32, ...; nil for classes without a Porter dtype.
    public static func dtype(storageClass name: String) -> DType? {
        switch name {
        case "FloatStorage": return .f32
        case "DoubleStorage": return .f64
        case "HalfStorage": return .f16
        case "BFloat16Storage": return .bf16
        case "LongStorage": return .i64
        case "IntStorage": return .i32
        case "ShortStorage": return .i16
        case "CharStorage": return .i8
        case "ByteStorage": return .u8
        case "BoolStorage": return .bool
        case "ComplexFloatStorage": return .c64
        case "UInt16Storage": return .u16
        case "UInt32Storage": return .u32
        case "UInt64Storage": return .u64
        case "Float8_e4m3fnStorage": return .f8e4m3
        case "Float8_e5m2Storage": return .f8e5m2
        default: return nil
        }
    }

    /// `torch.float32` → f32, ...
    public static func dtype(torchName name: String) -> DType? {
        switch name {
        case "float32", "float": return .f32
        case "float64", "double": return .f64
        case "float16", "half": return .f16
        case "bfloat16": return .bf16
        case "int64", "long": return .i64
        case "int32", "int": return .i32
        case "int16", "short": return .i16
        case "int8": return .i8
        case "uint8": return .u8
        case "bool": return .bool
        case "complex64", "cfloat": return .c64
        case "uint16": return .u16
        case "uint32": return .u32
        case "uint64": return .u64
        case "float8_e4m3fn": return .f8e4m3
        case "float8_e5m2": return .f8e5m2
        default: return nil
        }
    }

    /// The typed storage class torch uses for `dtype`, or nil when torch saves it as an
    /// `UntypedStorage` with `_rebuild_tensor_v3`.
    public static func storageClass(for dtype: DType) -> String? {
        switch dtype {
        case .f32: return "FloatStorage"
        case .f64: return "DoubleStorage"
        case .f16: return "HalfStorage"
        case .bf16: return "BFloat16Storage"
        case .i64: return "LongStorage"
        case .i32: return "IntStorage"
        case .i16: return "ShortStorage"
        case .i8: return "CharStorage"
        case .u8: return "ByteStorage"
        case .bool: return "BoolStorage"
        case .c64: return "ComplexFloatStorage"
        default: return nil
        }
    }

    /// The `torch.<name>` dtype global for `dtype`.
    public static func torchName(for dtype: DType) -> String {
        switch dtype {
        case .f32: return "float32"
        case .f64: return "float64"
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        case .i64: return "int64"
        case .i32: return "int32"
        case .i16: return "int16"
        case .i8: return "int8"
        case .u8: return "uint8"
        case .bool: return "bool"
        case .c64: return "complex64"
        case .u16: return "uint16"
        case .u32: return "uint32"
        case .u64: return "uint64"
        case .f8e4m3: return "float8_e4m3fn"
        case .f8e5m2: return "float8_e5m2"
        }
    }
}
