import Foundation
import PorterCore

/// Turns one TensorProto into a lazy tensor, checking its dims, its data type and that
/// its data holds exactly the elements its dims say.
enum Initializer {
    enum Result {
        case tensor(TensorRef)
        case dropped(reason: String, bytes: Int)
    }

    /// Porter's dtype for an ONNX data type, or nil for kinds Porter does not carry.
    static func dtype(_ onnx: Int) -> DType? {
        switch onnx {
        case ONNXDataType.float: return .f32
        case ONNXDataType.uint8: return .u8
        case ONNXDataType.int8: return .i8
        case ONNXDataType.uint16: return .u16
        case ONNXDataType.int16: return .i16
        case ONNXDataType.int32: return .i32
        case ONNXDataType.int64: return .i64
        case ONNXDataType.bool: return .bool
        case ONNXDataType.float16: return .f16
        case ONNXDataType.double: return .f64
        case ONNXDataType.uint32: return .u32
        case ONNXDataType.uint64: return .u64
        case ONNXDataType.complex64: return .c64
        case ONNXDataType.bfloat16: return .bf16
        case ONNXDataType.float8e4m3fn: return .f8e4m3
        case ONNXDataType.float8e5m2: return .f8e5m2
        default: return nil
        }
    }

    /// The ONNX data type of a Porter dtype (for the writer).
    static func onnxType(_ dtype: DType) -> Int {
        switch dtype {
        case .f32: return ONNXDataType.float
        case .u8: return ONNXDataType.uint8
        case .i8: return ONNXDataType.int8
        case .u16: return ONNXDataType.uint16
        case .i16: return ONNXDataType.int16
        case .i32: return ONNXDataType.int32
        case .i64: return ONNXDataType.int64
        case .bool: return ONNXDataType.bool
        case .f16: return ONNXDataType.float16
        case .f64: return ONNXDataType.double
        case .u32: return ONNXDataType.uint32
        case .u64: return ONNXDataType.uint64
        case .c64: return ONNXDataType.complex64
        case .bf16: return ONNXDataType.bfloat16
        case .f8e4m3: return ONNXDataType.float8e4m3fn
        case .f8e5m2: return ONNXDataType.float8e5m2
        }
    }

    /// The typed field that holds `dtype` (onnx.proto's rules), and how many values per element.
    static func typedField(for dtype: DType) -> (field: Int, valuesPerElement: Int) {
        switch dtype {
        case .f32: return (TensorProto.floatData, 1)
        case .c64: return (TensorProto.floatData, 2)
        case .f64: return (TensorProto.doubleData, 1)
        case .i64: return (TensorProto.int64Data, 1)
        case .u32, .u64: return (TensorProto.uint64Data, 1)
        case .i32, .i16, .i8, .u16, .u8, .bool, .f16, .bf16, .f8e4m3, .f8e5m2: return (TensorProto.int32Data, 1)
        }
    }

    static func fieldName(_ field: Int) -> String {
        switch field {
        case TensorProto.floatData: return "float_data"
        case TensorProto.int32Data: return "int32_data"
        case TensorProto.int64Data: return "int64_data"
        case TensorProto.doubleData: return "double_data"
        case TensorProto.uint64Data: return "uint64_data"
        default: return "field \(field)"
        }
    }

    static func tensor(_ t: TensorProto, file: OpenFile, external: ExternalData) throws -> Result {
        let path = file.path
        var dims: [Int] = []
        var count = 1
        for d in t.dims {
            guard d >= 0 else { throw ONNXError.badDims(file: path, tensor: t.name, offset: t.offset, reason: "dimension \(d) is negative") }
            guard let di = Int(exactly: d) else { throw ONNXError.badDims(file: path, tensor: t.name, offset: t.offset, reason: "dimension \(d) is too large") }
            let (p, o) = count.multipliedReportingOverflow(by: di)
            guard !o else { throw ONNXError.badDims(file: path, tensor: t.name, offset: t.offset, reason: "dims \(t.dims) overflow the element count") }
            dims.append(di)
            count = p
        }
        guard let dtype = dtype(t.dataType) else {
            let reason: String
            switch t.dataType {
            case ONNXDataType.string: reason = "STRING tensors hold text, not numbers; Porter carries numeric tensors only"
            case ONNXDataType.undefined: reason = "data_type is UNDEFINED (0)"
            default: reason = "\(ONNXDataType.name(t.dataType)) has no Porter dtype"
            }
            return .dropped(reason: reason, bytes: t.rawData?.count ?? 0)
        }
        if t.hasSegment {
            return .dropped(reason: "a segment of a larger tensor (TensorProto.segment); Porter reads whole tensors only", bytes: t.rawData?.count ?? 0)
        }
        let (bytes, o) = count.multipliedReportingOverflow(by: dtype.byteSize)
        guard !o else { throw ONNXError.badDims(file: path, tensor: t.name, offset: t.offset, reason: "dims \(t.dims) overflow the byte size") }
        let shape = Shape(dims)
        let label = "\(path):\(t.name)"

        if t.dataLocation == 1 {
            guard t.rawData == nil, t.typed.isEmpty else {
                throw ONNXError.conflictingData(file: path, tensor: t.name, offset: t.offset, reason: "data_location is EXTERNAL but the tensor also holds data inline")
            }
            let storage = try external.storage(for: t, byteCount: bytes, label: label)
            let ref = TensorRef(dtype: dtype, shape: shape, storage: storage)
            try ref.validate(name: label)
            return .tensor(ref)
        }
        guard t.externalData.isEmpty else {
            throw ONNXError.conflictingData(file: path, tensor: t.name, offset: t.offset, reason: "external_data entries but data_location is not EXTERNAL (1)")
        }
        if let raw = t.rawData {
            guard t.typed.isEmpty else {
                throw ONNXError.conflictingData(file: path, tensor: t.name, offset: t.offset, reason: "both raw_data and \(fieldName(t.typed[0].field))")
            }
            guard raw.count == bytes else {
                throw ONNXError.dataSizeMismatch(file: path, tensor: t.name, offset: t.offset, field: "raw_data", expected: bytes, found: raw.count)
            }
            let storage = try TensorStorage.file(file, offset: raw.lowerBound, count: raw.count, label: label)
            return .tensor(TensorRef(dtype: dtype, shape: shape, storage: storage))
        }
        if t.typed.isEmpty {
            guard count == 0 else { throw ONNXError.missingData(file: path, tensor: t.name, offset: t.offset) }
            return .tensor(.memory([], dtype: dtype, shape: shape, label: label))
        }
        let (field, per) = typedField(for: dtype)
        if let wrong = t.typed.first(where: { $0.field != field }) {
            throw ONNXError.conflictingData(file: path, tensor: t.name, offset: t.offset,
                                            reason: "\(fieldName(wrong.field)) cannot hold \(ONNXDataType.name(t.dataType)) (onnx.proto keeps it in \(fieldName(field)))")
        }
        let found = try TypedData.count(t.typed, file: file, tensor: t.name)
        let (expected, o2) = count.multipliedReportingOverflow(by: per)
        guard !o2, found == expected else {
            throw ONNXError.dataSizeMismatch(file: path, tensor: t.name, offset: t.offset, field: fieldName(field) + " (values)",
                                             expected: expected, found: found)
        }
        let fields = t.typed
        let name = t.name
        let storage = TensorStorage(byteCount: bytes, backing: .deferred {
            try TypedData.decode(fields, file: file, tensor: name, dtype: dtype, byteCount: bytes)
        }, label: label)
        return .tensor(TensorRef(dtype: dtype, shape: shape, storage: storage))
    }
}

extension ONNXDataType {
    static let undefined = 0
}

/// Values of the typed TensorProto fields (float_data, int32_data, ...), packed or not.
enum TypedData {
    /// How many values the fields hold.
    static func count(_ fields: [WireField], file: OpenFile, tensor: String) throws -> Int {
        var total = 0
        for f in fields {
            switch f.wireType {
            case WireField.varint, WireField.fixed32, WireField.fixed64:
                try checkWireType(f, file: file, tensor: tensor)
                total += 1
            case WireField.lengthDelimited:
                let width = fixedWidth(f.field)
                if width > 0 {
                    guard f.payload.count % width == 0 else {
                        throw ONNXError.fieldOutOfBounds(file: file.path, offset: f.offset, message: "TensorProto '\(tensor)'", field: f.field,
                                                         length: UInt64(f.payload.count), available: f.payload.count / width * width)
                    }
                    total += f.payload.count / width
                } else {
                    // Each varint ends with a byte below 0x80; the last byte must end one.
                    let n = try file.withMappedBytes(offset: f.payload.lowerBound, count: f.payload.count) { b -> Int in
                        guard b.isEmpty || b[b.count - 1] < 0x80 else {
                            throw ONNXError.badVarint(file: file.path, offset: f.payload.upperBound - 1, message: "TensorProto '\(tensor)'")
                        }
                        return b.reduce(0) { $0 + ($1 < 0x80 ? 1 : 0) }
                    }
                    total += n
                }
            default:
                throw ONNXError.badWireType(file: file.path, offset: f.offset, message: "TensorProto '\(tensor)'", field: f.field, wireType: f.wireType)
            }
        }
        return total
    }

    /// Bytes per packed value: 4 for float_data, 8 for double_data, 0 (varint) otherwise.
    static func fixedWidth(_ field: Int) -> Int {
        switch field {
        case TensorProto.floatData: return 4
        case TensorProto.doubleData: return 8
        default: return 0
        }
    }

    static func checkWireType(_ f: WireField, file: OpenFile, tensor: String) throws {
        let expected: Int
        switch fixedWidth(f.field) {
        case 4: expected = WireField.fixed32
        case 8: expected = WireField.fixed64
        default: expected = WireField.varint
        }
        guard f.wireType == expected else {
            throw ONNXError.badWireType(file: file.path, offset: f.offset, message: "TensorProto '\(tensor)'", field: f.field, wireType: f.wireType)
        }
    }

    /// The values as little-endian elements of `dtype`. int32_data carries narrower kinds
    /// in its low bits (float16 and bfloat16 as their bit patterns, bool as 0/1).
    static func decode(_ fields: [WireField], file: OpenFile, tensor: String, dtype: DType, byteCount: Int) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(byteCount)
        // Complex64 keeps (real, imaginary) pairs of float_data: each value is 4 bytes.
        let width = dtype == .c64 ? 4 : dtype.byteSize
        func put(_ v: UInt64) {
            for k in 0..<width { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(k)))) }
        }
        for f in fields {
            if f.wireType != WireField.lengthDelimited { put(f.value); continue }
            let fixed = fixedWidth(f.field)
            try file.withMappedBytes(offset: f.payload.lowerBound, count: f.payload.count) { b in
                if fixed > 0 {
                    var i = 0
                    while i + fixed <= b.count {
                        var v: UInt64 = 0
                        for k in 0..<fixed { v |= UInt64(b[i + k]) << (8 * UInt64(k)) }
                        put(v)
                        i += fixed
                    }
                } else {
                    var v: UInt64 = 0, shift: UInt64 = 0
                    for byte in b {
                        if shift < 64 { v |= UInt64(byte & 0x7F) << shift }
                        if byte & 0x80 == 0 { put(v); v = 0; shift = 0 } else { shift += 7 }
                    }
                }
            }
        }
        guard out.count == byteCount else {
            throw ONNXError.dataSizeMismatch(file: file.path, tensor: tensor, offset: fields.first?.offset ?? 0,
                                             field: "typed data (bytes)", expected: byteCount, found: out.count)
        }
        if dtype == .bool {
            for i in out.indices where out[i] > 1 { out[i] = 1 }
        }
        return out
    }
}
