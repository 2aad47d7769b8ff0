/// A bounds-checked little-endian cursor over bytes Porter does not trust.
///
/// Every read checks the remaining length first and throws `CoreError.truncated`
/// naming the source and the absolute byte offset.
public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    /// Absolute offset of `bytes[0]` in the source (for error messages).
    public let baseOffset: Int
    /// Names the source in errors (a path, or `file.pt:data.pkl`).
    public let source: String
    public private(set) var position: Int = 0

    public init(_ bytes: [UInt8], source: String, baseOffset: Int = 0) {
        self.bytes = bytes
        self.source = source
        self.baseOffset = baseOffset
    }

    public var remaining: Int { bytes.count - position }
    public var isAtEnd: Bool { position >= bytes.count }
    /// Absolute offset of the cursor.
    public var absoluteOffset: Int { baseOffset + position }

    public mutating func seek(to position: Int) throws {
        guard position >= 0, position <= bytes.count else {
            throw CoreError.truncated(source: source, offset: baseOffset + max(0, position), needed: 0, available: 0)
        }
        self.position = position
    }

    public mutating func require(_ count: Int) throws {
        guard count >= 0, count <= remaining else {
            throw CoreError.truncated(source: source, offset: absoluteOffset, needed: count, available: remaining)
        }
    }

    public mutating func readU8() throws -> UInt8 {
        try require(1)
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func readBytes(_ count: Int) throws -> ArraySlice<UInt8> {
        try require(count)
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    public mutating func skip(_ count: Int) throws {
        try require(count)
        position += count
    }

    public mutating func readLE<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        try require(size)
        var v: T = 0
        for i in 0..<size { v |= T(truncatingIfNeeded: bytes[position + i]) << (8 * i) }
        position += size
        return v
    }

    public mutating func readBE<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        try require(size)
        var v: T = 0
        for i in 0..<size { v = (v << 8) | T(truncatingIfNeeded: bytes[position + i]) }
        position += size
        return v
    }

    /// Reads a base-128 varint of at most `maxBytes` bytes (protobuf / LevelDB style).
    public mutating func readVarint(maxBytes: Int = 10) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<maxBytes {
            let b = try readU8()
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        throw CoreError.storageFailed(source: source, reason: "varint longer than \(maxBytes) bytes at byte \(absoluteOffset)")
    }

    /// Reads up to (not including) `delimiter`, consuming it.
    public mutating func readLine(delimiter: UInt8 = 0x0A) throws -> ArraySlice<UInt8> {
        guard let end = bytes[position...].firstIndex(of: delimiter) else {
            throw CoreError.truncated(source: source, offset: absoluteOffset, needed: remaining + 1, available: remaining)
        }
        defer { position = end + 1 }
        return bytes[position..<end]
    }
}

extension Int {
    /// Converts an untrusted unsigned size to Int, or throws naming what it was.
    public static func checked<T: BinaryInteger>(_ value: T, source: String, what: String) throws -> Int {
        guard let v = Int(exactly: value) else { throw CoreError.sizeOverflow(source: source, what: what) }
        return v
    }
}
