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
        if let bad = JSONValue.firstInvalidUTF8(bytes) { throw SafetensorsError.headerNotUTF8(file: path, offset: 8 + bad) }
        guard bytes.first == UInt8(ascii: "{") else { throw SafetensorsError.headerNotObject(file: path) }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes, rejectDuplicateKeys: true, maxDepth: 64) } catch let failure as JSONParseError {
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

}
