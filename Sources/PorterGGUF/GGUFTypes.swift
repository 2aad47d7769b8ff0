import Foundation
import PorterCore

/// A ggml tensor type number (`ggml_type`), as GGUF tensor infos store it.
public struct GGMLType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let f32 = GGMLType(rawValue: 0), f16 = GGMLType(rawValue: 1)
    public static let q4_0 = GGMLType(rawValue: 2), q4_1 = GGMLType(rawValue: 3)
    public static let q5_0 = GGMLType(rawValue: 6), q5_1 = GGMLType(rawValue: 7), q8_0 = GGMLType(rawValue: 8)
    public static let q2_k = GGMLType(rawValue: 10), q3_k = GGMLType(rawValue: 11), q4_k = GGMLType(rawValue: 12)
    public static let q5_k = GGMLType(rawValue: 13), q6_k = GGMLType(rawValue: 14)
    public static let i8 = GGMLType(rawValue: 24), i16 = GGMLType(rawValue: 25), i32 = GGMLType(rawValue: 26)
    public static let i64 = GGMLType(rawValue: 27), f64 = GGMLType(rawValue: 28), bf16 = GGMLType(rawValue: 30)

    /// ggml's names for every type number it defines (ggml.h `ggml_type`), so a type Porter
    /// does not read is refused by name.
    static let names: [UInt32: String] = [
        0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
        10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K",
        16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL", 21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS",
        24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16",
        34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4", 40: "NVFP4", 41: "Q1_0",
    ]

    /// ggml's name, or nil for a number ggml does not define.
    public var name: String? { Self.names[rawValue] }
    public var description: String { name ?? "type \(rawValue)" }

    /// How Porter stores a tensor of this type.
    public enum Storage: Sendable, Equatable {
        /// One element per `DType` element, read as it is in the file.
        case plain(DType)
        /// Blocks, dequantized to `f32` on read.
        case blocks(BlockQuantization)
    }

    /// nil for types Porter does not read.
    public var storage: Storage? {
        switch self {
        case .f32: return .plain(.f32)
        case .f16: return .plain(.f16)
        case .bf16: return .plain(.bf16)
        case .f64: return .plain(.f64)
        case .i8: return .plain(.i8)
        case .i16: return .plain(.i16)
        case .i32: return .plain(.i32)
        case .i64: return .plain(.i64)
        case .q4_0: return .blocks(.q4_0)
        case .q4_1: return .blocks(.q4_1)
        case .q5_0: return .blocks(.q5_0)
        case .q5_1: return .blocks(.q5_1)
        case .q8_0: return .blocks(.q8_0)
        case .q2_k: return .blocks(.q2_k)
        case .q3_k: return .blocks(.q3_k)
        case .q4_k: return .blocks(.q4_k)
        case .q5_k: return .blocks(.q5_k)
        case .q6_k: return .blocks(.q6_k)
        default: return nil
        }
    }

    /// The type number of a plain dtype, for the writer.
    public init?(plain dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .f64: self = .f64
        case .i8: self = .i8
        case .i16: self = .i16
        case .i32: self = .i32
        case .i64: self = .i64
        default: return nil
        }
    }

    public init(blocks q: BlockQuantization) {
        switch q {
        case .q4_0: self = .q4_0
        case .q4_1: self = .q4_1
        case .q5_0: self = .q5_0
        case .q5_1: self = .q5_1
        case .q8_0: self = .q8_0
        case .q2_k: self = .q2_k
        case .q3_k: self = .q3_k
        case .q4_k: self = .q4_k
        case .q5_k: self = .q5_k
        case .q6_k: self = .q6_k
        }
    }
}

/// A GGUF metadata value type number (`gguf_type`).
public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes of one value, for fixed-size types.
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// The fewest bytes one value can take (a string's 8-byte length, an array's 12-byte head).
    var minimumSize: Int { fixedSize ?? (self == .string ? 8 : 12) }
}

/// One metadata value, typed as the file types it.
public indirect enum GGUFValue: Sendable, Hashable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), uint64(UInt64), int64(Int64), float64(Double)
    /// Elements of one type (an array of arrays carries `.array` elements).
    case array(GGUFValueType, [GGUFValue])

    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        case .array: return .array
        }
    }

    /// The value as JSON: integers exact (a `uint64` over `Int64.max` as a string of its digits),
    /// floats as doubles (float32 widened exactly), arrays element by element.
    public var json: JSONValue {
        switch self {
        case let .uint8(v): return .int(Int64(v))
        case let .int8(v): return .int(Int64(v))
        case let .uint16(v): return .int(Int64(v))
        case let .int16(v): return .int(Int64(v))
        case let .uint32(v): return .int(Int64(v))
        case let .int32(v): return .int(Int64(v))
        case let .uint64(v): return v <= UInt64(Int64.max) ? .int(Int64(v)) : .string(String(v))
        case let .int64(v): return .int(v)
        case let .float32(v): return .double(Double(v))
        case let .float64(v): return .double(v)
        case let .bool(v): return .bool(v)
        case let .string(s): return .string(s)
        case let .array(_, items): return .array(items.map(\.json))
        }
    }

    /// An unsigned or non-negative integer value.
    public var unsignedValue: UInt64? {
        switch self {
        case let .uint8(v): return UInt64(v)
        case let .uint16(v): return UInt64(v)
        case let .uint32(v): return UInt64(v)
        case let .uint64(v): return v
        case let .int8(v): return v >= 0 ? UInt64(v) : nil
        case let .int16(v): return v >= 0 ? UInt64(v) : nil
        case let .int32(v): return v >= 0 ? UInt64(v) : nil
        case let .int64(v): return v >= 0 ? UInt64(v) : nil
        default: return nil
        }
    }

    public var stringValue: String? { if case let .string(s) = self { return s }; return nil }
}

/// Fixed facts of the format.
public enum GGUFFormat {
    /// `GGUF` as a little-endian u32.
    public static let magic: [UInt8] = Array("GGUF".utf8)
    /// Alignment when `general.alignment` is absent.
    public static let defaultAlignment = 32
    /// ggml's `GGML_MAX_DIMS`.
    public static let maxDims = 4
    /// Cap on any one string (a chat template or a token is far below this).
    public static let maxStringLength = 64 << 20
    /// Cap on arrays nested in arrays.
    public static let maxArrayDepth = 8
    /// Key of the chat template (`tokenizer.chat_template`); named templates are `tokenizer.chat_template.<name>`.
    public static let chatTemplateKey = "tokenizer.chat_template"
}
