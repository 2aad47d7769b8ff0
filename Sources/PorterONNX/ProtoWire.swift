import Foundation

/// One protobuf field as it sits in the file: its number, wire type, where its tag
/// starts, and its value (a varint or fixed-width number in `number`, or the absolute
/// byte range of a length-delimited payload).
struct WireField {
    var field: Int
    var wireType: Int
    /// Absolute offset of the field's tag.
    var offset: Int
    /// Varint (wire type 0) or fixed64/fixed32 bits (wire types 1, 5).
    var value: UInt64
    /// Payload of a length-delimited field (wire type 2), absolute offsets.
    var payload: Range<Int>

    static let varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5
}

/// Walks the fields of one protobuf message inside the mapped file without decoding
/// payloads: every length is checked against what is left of the enclosing message,
/// so a hostile length can never reach past it (or past the file).
struct WireReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    /// Message name for errors (`GraphProto`, `TensorProto 'w'`).
    let message: String
    private(set) var position: Int
    let end: Int

    init(_ bytes: UnsafeRawBufferPointer, range: Range<Int>, file: String, message: String) {
        self.bytes = bytes
        self.position = range.lowerBound
        self.end = range.upperBound
        self.file = file
        self.message = message
    }

    mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = position
        while true {
            guard position < end, shift < 64 else {
                throw ONNXError.badVarint(file: file, offset: start, message: message)
            }
            let b = bytes[position]
            position += 1
            // The tenth byte may only carry the top bit of a 64-bit value.
            if shift == 63 && b > 1 { throw ONNXError.badVarint(file: file, offset: start, message: message) }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private mutating func readFixed(_ count: Int, field: Int, tag: Int) throws -> UInt64 {
        guard end - position >= count else {
            throw ONNXError.fieldOutOfBounds(file: file, offset: tag, message: message, field: field,
                                             length: UInt64(count), available: end - position)
        }
        var v: UInt64 = 0
        for i in 0..<count { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += count
        return v
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws -> WireField? {
        guard position < end else { return nil }
        let tagOffset = position
        let tag = try readVarint()
        let wireType = Int(tag & 7)
        let number = tag >> 3
        guard number >= 1, number <= 0x1FFF_FFFF else {
            throw ONNXError.badWireType(file: file, offset: tagOffset, message: message, field: Int(truncatingIfNeeded: number), wireType: wireType)
        }
        let field = Int(number)
        switch wireType {
        case WireField.varint:
            return WireField(field: field, wireType: wireType, offset: tagOffset, value: try readVarint(), payload: 0..<0)
        case WireField.fixed64:
            return WireField(field: field, wireType: wireType, offset: tagOffset, value: try readFixed(8, field: field, tag: tagOffset), payload: 0..<0)
        case WireField.fixed32:
            return WireField(field: field, wireType: wireType, offset: tagOffset, value: try readFixed(4, field: field, tag: tagOffset), payload: 0..<0)
        case WireField.lengthDelimited:
            let length = try readVarint()
            guard length <= UInt64(end - position) else {
                throw ONNXError.fieldOutOfBounds(file: file, offset: tagOffset, message: message, field: field,
                                                 length: length, available: end - position)
            }
            let start = position
            position += Int(length)
            return WireField(field: field, wireType: wireType, offset: tagOffset, value: length, payload: start..<position)
        default:
            // 3 and 4 are groups (never used by onnx.proto), 6 and 7 are undefined.
            throw ONNXError.badWireType(file: file, offset: tagOffset, message: message, field: field, wireType: wireType)
        }
    }

    /// Throws unless `f` has wire type `type`.
    func expect(_ f: WireField, _ type: Int) throws {
        guard f.wireType == type else {
            throw ONNXError.badWireType(file: file, offset: f.offset, message: message, field: f.field, wireType: f.wireType)
        }
    }

    func string(_ f: WireField) throws -> String {
        try expect(f, WireField.lengthDelimited)
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[f.payload]), as: UTF8.self)
    }

    func bytesOf(_ f: WireField) throws -> [UInt8] {
        try expect(f, WireField.lengthDelimited)
        return Array(bytes[f.payload])
    }

    /// A repeated varint field element or a packed run of them, appended to `out`
    /// (proto2 writes them unpacked, proto3 packed; parsers must take both).
    func appendVarints(_ f: WireField, to out: inout [Int64]) throws {
        switch f.wireType {
        case WireField.varint: out.append(Int64(bitPattern: f.value))
        case WireField.lengthDelimited:
            var r = WireReader(bytes, range: f.payload, file: file, message: message)
            while r.position < r.end { out.append(Int64(bitPattern: try r.readVarint())) }
        default:
            throw ONNXError.badWireType(file: file, offset: f.offset, message: message, field: f.field, wireType: f.wireType)
        }
    }

    /// A repeated float field element or packed run, appended to `out`.
    func appendFloats(_ f: WireField, to out: inout [Float]) throws {
        switch f.wireType {
        case WireField.fixed32: out.append(Float(bitPattern: UInt32(truncatingIfNeeded: f.value)))
        case WireField.lengthDelimited:
            guard f.payload.count % 4 == 0 else {
                throw ONNXError.fieldOutOfBounds(file: file, offset: f.offset, message: message, field: f.field,
                                                 length: UInt64(f.payload.count), available: f.payload.count / 4 * 4)
            }
            var i = f.payload.lowerBound
            while i < f.payload.upperBound {
                var v: UInt32 = 0
                for k in 0..<4 { v |= UInt32(bytes[i + k]) << (8 * UInt32(k)) }
                out.append(Float(bitPattern: v))
                i += 4
            }
        default:
            throw ONNXError.badWireType(file: file, offset: f.offset, message: message, field: f.field, wireType: f.wireType)
        }
    }
}
