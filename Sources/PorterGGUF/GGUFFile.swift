import Foundation
import PorterCore

/// The parsed header of a GGUF file: version, metadata, tensor infos and where the tensor
/// data begins. Parsing reads no tensor data; every count, length, offset and size is
/// checked against the file before it is used.
public struct GGUFFile: Sendable {
    public struct TensorInfo: Sendable, Equatable {
        public var name: String
        /// ggml order: `dims[0]` is the innermost (fastest-varying) dimension.
        public var dims: [Int]
        public var type: GGMLType
        /// Offset from the start of the data section, as stored.
        public var offset: UInt64
        /// Absolute byte offset of the tensor's data in the file.
        public var start: Int
        /// Bytes the tensor takes in the file.
        public var byteCount: Int
        /// Absolute offset of the tensor's info record (for errors).
        public var infoOffset: Int

        /// Row-major shape (outermost first), as numpy, PyTorch and safetensors state it.
        public var shape: Shape { Shape(dims.reversed()) }
        public var elementCount: Int { dims.reduce(1, *) }
    }

    public var path: String
    public var version: UInt32
    /// Keys in file order.
    public var metadata: [(key: String, value: GGUFValue)]
    public var tensors: [TensorInfo]
    public var alignment: Int
    /// Absolute offset of the data section.
    public var dataStart: Int
    public var fileSize: Int

    public func value(_ key: String) -> GGUFValue? { metadata.first { $0.key == key }?.value }

    /// Parses the header of `file`.
    public static func parse(_ file: OpenFile) throws -> GGUFFile {
        try file.withMappedBytes(offset: 0, count: file.size) { try parse($0, path: file.path) }
    }

    /// Parses a header held in memory (the fuzz harness and tests).
    public static func parse(bytes: [UInt8], path: String) throws -> GGUFFile {
        try bytes.withUnsafeBytes { try parse($0, path: path) }
    }

    static func parse(_ buffer: UnsafeRawBufferPointer, path: String) throws -> GGUFFile {
        var c = Cursor(buffer: buffer, path: path)
        guard buffer.count >= 4, Array(buffer[0..<4]) == GGUFFormat.magic else { throw GGUFError.badMagic(file: path) }
        c.position = 4
        let version = try c.u32("the version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(file: path, version: version) }
        let tensorCountAt = c.position
        let tensorCount = try c.u64("the tensor count")
        let kvCountAt = c.position
        let kvCount = try c.u64("the metadata key count")
        // Each key takes at least 13 bytes (length, one byte, type); each tensor info at least 24.
        let kvLimit = UInt64(c.remaining / 13)
        guard kvCount <= kvLimit else {
            throw GGUFError.countTooLarge(file: path, offset: kvCountAt, what: "the metadata key count", count: kvCount, limit: kvLimit)
        }
        var metadata: [(key: String, value: GGUFValue)] = []
        var seen = Set<String>()
        metadata.reserveCapacity(Int(kvCount))
        for _ in 0..<Int(kvCount) {
            let keyAt = c.position
            let key = try c.string("a metadata key")
            guard seen.insert(key).inserted else { throw GGUFError.duplicateKey(file: path, offset: keyAt, key: key) }
            let typeAt = c.position
            let raw = try c.u32("the type of key '\(key)'")
            guard let type = GGUFValueType(rawValue: raw) else {
                throw GGUFError.unknownValueType(file: path, offset: typeAt, key: key, type: raw)
            }
            metadata.append((key, try c.value(type, key: key, depth: 0)))
        }
        let tensorLimit = UInt64(c.remaining / 24)
        guard tensorCount <= tensorLimit else {
            throw GGUFError.countTooLarge(file: path, offset: tensorCountAt, what: "the tensor count", count: tensorCount, limit: tensorLimit)
        }
        var alignment = GGUFFormat.defaultAlignment
        if let a = metadata.first(where: { $0.key == "general.alignment" })?.value {
            guard case let .uint32(v) = a else {
                throw GGUFError.badMetadata(file: path, key: "general.alignment", reason: "must be a uint32, found \(a.type)")
            }
            guard v > 0, v & (v - 1) == 0 else { throw GGUFError.badAlignment(file: path, alignment: UInt64(v)) }
            alignment = Int(v)
        }
        var infos: [(name: String, dims: [Int], type: GGMLType, offset: UInt64, at: Int)] = []
        var names = Set<String>()
        for _ in 0..<Int(tensorCount) {
            let at = c.position
            let name = try c.string("a tensor name")
            guard names.insert(name).inserted else { throw GGUFError.duplicateTensor(file: path, offset: at, tensor: name) }
            let nDims = try c.u32("the dimension count of tensor '\(name)'")
            guard nDims <= UInt32(GGUFFormat.maxDims) else {
                throw GGUFError.badShape(file: path, offset: at, tensor: name, dims: [], reason: "\(nDims) dimensions, ggml has at most \(GGUFFormat.maxDims)")
            }
            var raw: [UInt64] = []
            for _ in 0..<Int(nDims) { raw.append(try c.u64("the dimensions of tensor '\(name)'")) }
            var dims: [Int] = []
            var count = 1
            for d in raw {
                guard d <= UInt64(Int64.max) else {
                    throw GGUFError.badShape(file: path, offset: at, tensor: name, dims: raw, reason: "a dimension over 2^63 - 1")
                }
                let (p, o) = count.multipliedReportingOverflow(by: Int(d))
                guard !o else { throw GGUFError.badShape(file: path, offset: at, tensor: name, dims: raw, reason: "the element count overflows") }
                count = p
                dims.append(Int(d))
            }
            let type = GGMLType(rawValue: try c.u32("the type of tensor '\(name)'"))
            let offset = try c.u64("the data offset of tensor '\(name)'")
            infos.append((name, dims, type, offset, at))
        }
        // The data section starts at the next multiple of the alignment.
        let (padded, o) = c.position.addingReportingOverflow(alignment - 1)
        guard !o else { throw GGUFError.truncated(file: path, offset: c.position, what: "the padding before the tensor data") }
        let dataStart = padded / alignment * alignment
        var tensors: [TensorInfo] = []
        for i in infos {
            guard let storage = i.type.storage else {
                throw GGUFError.unsupportedTensorType(file: path, tensor: i.name, type: i.type.rawValue, name: i.type.name)
            }
            let elements = i.dims.reduce(1, *)
            let bytes: Int
            switch storage {
            case let .plain(dtype):
                let (b, o) = elements.multipliedReportingOverflow(by: dtype.byteSize)
                guard !o else { throw GGUFError.badShape(file: path, offset: i.at, tensor: i.name, dims: i.dims.map(UInt64.init), reason: "the byte size overflows") }
                bytes = b
            case let .blocks(q):
                let innermost = i.dims.first ?? 1
                guard innermost % q.blockSize == 0 else {
                    throw GGUFError.notWholeBlocks(file: path, tensor: i.name, type: q.ggmlName, innermost: innermost, blockSize: q.blockSize)
                }
                guard let b = q.byteCount(elements: elements) else {
                    throw GGUFError.badShape(file: path, offset: i.at, tensor: i.name, dims: i.dims.map(UInt64.init), reason: "the byte size overflows")
                }
                bytes = b
            }
            guard i.offset % UInt64(alignment) == 0 else {
                throw GGUFError.misalignedTensor(file: path, tensor: i.name, offset: i.offset, alignment: alignment)
            }
            guard i.offset <= UInt64(buffer.count) else {
                throw GGUFError.tensorPastEnd(file: path, tensor: i.name, start: buffer.count, bytes: bytes, fileSize: buffer.count)
            }
            let (start, o1) = dataStart.addingReportingOverflow(Int(i.offset))
            let (end, o2) = start.addingReportingOverflow(bytes)
            guard !o1, !o2, end <= buffer.count else {
                throw GGUFError.tensorPastEnd(file: path, tensor: i.name, start: o1 ? Int.max : start, bytes: bytes, fileSize: buffer.count)
            }
            tensors.append(TensorInfo(name: i.name, dims: i.dims, type: i.type, offset: i.offset, start: start, byteCount: bytes, infoOffset: i.at))
        }
        // No two tensors may share bytes.
        let byStart = tensors.filter { $0.byteCount > 0 }.sorted { $0.start < $1.start }
        for (a, b) in zip(byStart, byStart.dropFirst()) where b.start < a.start + a.byteCount {
            throw GGUFError.overlappingTensors(file: path, tensor: b.name, start: b.start, other: a.name, otherEnd: a.start + a.byteCount)
        }
        return GGUFFile(path: path, version: version, metadata: metadata, tensors: tensors, alignment: alignment,
                        dataStart: dataStart, fileSize: buffer.count)
    }
}

/// A bounds-checked little-endian reader over the mapped file.
struct Cursor {
    let buffer: UnsafeRawBufferPointer
    let path: String
    var position = 0

    init(buffer: UnsafeRawBufferPointer, path: String) {
        self.buffer = buffer
        self.path = path
    }

    var remaining: Int { buffer.count - position }

    mutating func take(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else { throw GGUFError.truncated(file: path, offset: buffer.count, what: what()) }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: buffer[position..<(position + n)])
    }

    mutating func int<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let b = try take(MemoryLayout<T>.size, what())
        var v: T = 0
        for i in 0..<MemoryLayout<T>.size { v |= T(truncatingIfNeeded: b[i]) << (8 * i) }
        return v
    }

    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try int(UInt32.self, what()) }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try int(UInt64.self, what()) }

    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let at = position
        let length = try u64(what())
        guard length <= UInt64(GGUFFormat.maxStringLength), length <= UInt64(remaining) else {
            if length <= UInt64(GGUFFormat.maxStringLength) { throw GGUFError.truncated(file: path, offset: buffer.count, what: what()) }
            throw GGUFError.stringTooLong(file: path, offset: at, what: what(), length: length, cap: GGUFFormat.maxStringLength)
        }
        let bytes = try take(Int(length), what())
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw GGUFError.invalidString(file: path, offset: at + 8, what: what())
        }
        return s
    }

    mutating func value(_ type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        let what = "the value of key '\(key)'"
        switch type {
        case .uint8: return .uint8(try int(UInt8.self, what))
        case .int8: return .int8(try int(Int8.self, what))
        case .uint16: return .uint16(try int(UInt16.self, what))
        case .int16: return .int16(try int(Int16.self, what))
        case .uint32: return .uint32(try int(UInt32.self, what))
        case .int32: return .int32(try int(Int32.self, what))
        case .float32: return .float32(Float(bitPattern: try int(UInt32.self, what)))
        case .uint64: return .uint64(try int(UInt64.self, what))
        case .int64: return .int64(try int(Int64.self, what))
        case .float64: return .float64(Double(bitPattern: try int(UInt64.self, what)))
        case .bool:
            let at = position
            let b = try int(UInt8.self, what)
            guard b <= 1 else { throw GGUFError.badMetadata(file: path, key: key, reason: "bool byte \(b) at byte \(at) is neither 0 nor 1") }
            return .bool(b == 1)
        case .string: return .string(try string(what))
        case .array:
            let typeAt = position
            guard depth < GGUFFormat.maxArrayDepth else { throw GGUFError.arrayTooDeep(file: path, offset: typeAt, key: key, depth: depth + 1) }
            let raw = try u32("the element type of key '\(key)'")
            guard let elementType = GGUFValueType(rawValue: raw) else {
                throw GGUFError.unknownValueType(file: path, offset: typeAt, key: key, type: raw)
            }
            let countAt = position
            let count = try u64("the element count of key '\(key)'")
            let limit = UInt64(remaining / elementType.minimumSize)
            guard count <= limit else {
                throw GGUFError.countTooLarge(file: path, offset: countAt, what: "the element count of key '\(key)'", count: count, limit: limit)
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) { items.append(try value(elementType, key: key, depth: depth + 1)) }
            return .array(elementType, items)
        }
    }
}
