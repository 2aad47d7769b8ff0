import Foundation
import PorterCore

/// The parsed, validated header of one safetensors file.
public struct SafetensorsHeader: Sendable {
    /// One tensor's entry, with offsets relative to the data buffer.
    public struct Entry: Sendable, Hashable {
        public var name: String
        public var dtype: DType
        public var shape: Shape
        /// `[begin, end)` relative to the start of the data buffer.
        public var dataRange: Range<Int>
    }

    /// Entries in data-offset order.
    public var entries: [Entry]
    /// `__metadata__` (string → string), empty when absent.
    public var metadata: [String: String]
    /// Header JSON length N (the data buffer starts at 8 + N).
    public var headerLength: Int
    public var dataStart: Int { 8 + headerLength }

    /// The reference implementation's cap on the header length.
    public static let maxHeaderLength = 100_000_000

    /// Reads and validates the header of `file`: every check of the format, with checked arithmetic.
    public static func read(from file: OpenFile) throws -> SafetensorsHeader {
        let path = file.path
        guard file.size >= 8 else { throw SafetensorsError.fileTooShort(file: path, size: file.size) }
        var lengthReader = ByteReader(try file.read(offset: 0, count: 8), source: path)
        let rawLength = try lengthReader.readLE(UInt64.self)
        guard rawLength <= UInt64(maxHeaderLength) else {
            throw SafetensorsError.headerTooLarge(file: path, length: rawLength, cap: maxHeaderLength)
        }
        let length = Int(rawLength)
        guard length <= file.size - 8 else {
            throw SafetensorsError.headerPastEnd(file: path, length: rawLength, fileSize: file.size)
        }
        let bytes = try file.read(offset: 8, count: length)
        return try parse(headerBytes: bytes, fileSize: file.size, path: path)
    }

    /// Validates header bytes (without the 8-byte length) of a file of `fileSize` bytes.
    public static func parse(headerBytes bytes: [UInt8], fileSize: Int, path: String) throws -> SafetensorsHeader {
        if let bad = firstInvalidUTF8(bytes) { throw SafetensorsError.headerNotUTF8(file: path, offset: 8 + bad) }
        guard bytes.first == UInt8(ascii: "{") else { throw SafetensorsError.headerNotObject(file: path) }
        let json: JSONValue
        do { json = try StrictJSON.parse(bytes) } catch let failure as StrictJSON.Failure {
            throw SafetensorsError.invalidJSON(file: path, offset: 8 + failure.offset, reason: failure.reason)
        }
        guard case let .object(top) = json else { throw SafetensorsError.headerNotObject(file: path) }

        var metadata: [String: String] = [:]
        if let meta = top["__metadata__"] {
            guard case let .object(pairs) = meta else { throw SafetensorsError.invalidMetadata(file: path, key: "__metadata__") }
            for (k, v) in pairs {
                guard case let .string(s) = v else { throw SafetensorsError.invalidMetadata(file: path, key: k) }
                metadata[k] = s
            }
        }

        var entries: [Entry] = []
        entries.reserveCapacity(top.count)
        for (name, value) in top where name != "__metadata__" {
            entries.append(try entry(name: name, value: value, path: path))
        }
        entries.sort { a, b in
            if a.dataRange.lowerBound != b.dataRange.lowerBound { return a.dataRange.lowerBound < b.dataRange.lowerBound }
            if a.dataRange.upperBound != b.dataRange.upperBound { return a.dataRange.upperBound < b.dataRange.upperBound }
            return a.name < b.name
        }
        // Contiguous from 0, no holes or overlaps, covering the buffer to the end of the file.
        var cursor = 0
        var previous = ""
        for e in entries {
            if e.dataRange.lowerBound < cursor {
                throw SafetensorsError.overlappingOffsets(file: path, tensor: e.name, begin: e.dataRange.lowerBound, previous: previous, previousEnd: cursor)
            }
            if e.dataRange.lowerBound > cursor {
                throw SafetensorsError.gapInOffsets(file: path, tensor: e.name, begin: e.dataRange.lowerBound, expected: cursor)
            }
            cursor = e.dataRange.upperBound
            previous = e.name
        }
        let bufferSize = fileSize - 8 - bytes.count
        guard cursor == bufferSize else {
            throw SafetensorsError.bufferNotCovered(file: path, covered: cursor, bufferSize: bufferSize)
        }
        return SafetensorsHeader(entries: entries, metadata: metadata, headerLength: bytes.count)
    }

    private static func entry(name: String, value: JSONValue, path: String) throws -> Entry {
        guard case let .object(fields) = value else {
            throw SafetensorsError.malformedEntry(file: path, tensor: name, reason: "not a JSON object")
        }
        guard case let .string(dtypeName)? = fields["dtype"] else {
            throw SafetensorsError.malformedEntry(file: path, tensor: name, reason: "missing or non-string 'dtype'")
        }
        guard let dims = integers(fields["shape"]) else {
            throw SafetensorsError.malformedEntry(file: path, tensor: name, reason: "missing 'shape' or not a list of integers")
        }
        guard let offsets = integers(fields["data_offsets"]), offsets.count == 2 else {
            throw SafetensorsError.malformedEntry(file: path, tensor: name, reason: "missing 'data_offsets' or not a pair of integers")
        }
        guard let dtype = DType(safetensorsName: dtypeName) else {
            throw SafetensorsError.unknownDType(file: path, tensor: name, dtype: dtypeName)
        }
        var intDims: [Int] = []
        for d in dims {
            guard d >= 0, let i = Int(exactly: d) else { throw SafetensorsError.invalidShape(file: path, tensor: name, shape: dims) }
            intDims.append(i)
        }
        let shape = Shape(intDims)
        guard let numel = shape.elementCount else { throw SafetensorsError.invalidShape(file: path, tensor: name, shape: dims) }
        guard offsets[0] >= 0, offsets[1] >= offsets[0], let begin = Int(exactly: offsets[0]), let end = Int(exactly: offsets[1]) else {
            throw SafetensorsError.invalidOffsets(file: path, tensor: name, begin: offsets[0], end: offsets[1])
        }
        let (needed, overflow) = numel.multipliedReportingOverflow(by: dtype.byteSize)
        guard !overflow else { throw SafetensorsError.invalidShape(file: path, tensor: name, shape: dims) }
        guard needed == end - begin else {
            throw SafetensorsError.sizeMismatch(file: path, tensor: name, dtype: dtypeName, shape: dims, expectedBytes: needed, actualBytes: end - begin)
        }
        return Entry(name: name, dtype: dtype, shape: shape, dataRange: begin..<end)
    }

    private static func integers(_ value: JSONValue?) -> [Int64]? {
        guard case let .array(items)? = value else { return nil }
        var out: [Int64] = []
        out.reserveCapacity(items.count)
        for item in items {
            switch item {
            case let .int(i): out.append(i)
            case let .double(d):
                // Only whole numbers in range count as integers.
                guard d.rounded() == d, let i = Int64(exactly: d) else { return nil }
                out.append(i)
            default: return nil
            }
        }
        return out
    }

    /// Offset of the first byte that breaks UTF-8 (overlongs, surrogates, > U+10FFFF included), or nil.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = bytes[i]
            if b0 < 0x80 { i += 1; continue }
            let need: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return i
            }
            guard i + need < n else { return i }
            let b1 = bytes[i + 1]
            guard b1 >= lo, b1 <= hi else { return i }
            for k in 2..<(need + 1) where k <= need {
                guard bytes[i + k] & 0xC0 == 0x80 else { return i }
            }
            i += need + 1
        }
        return nil
    }
}
