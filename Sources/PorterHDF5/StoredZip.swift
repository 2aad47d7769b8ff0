import Foundation
import PorterCore

/// A minimal reader of a zip archive's central directory, enough for Keras 3 `.keras`
/// files (which Keras writes with stored, uncompressed entries). Every offset and size is
/// checked against the archive's length.
struct StoredZip {
    struct Entry {
        var name: String
        /// 0 stored, 8 deflate, …
        var method: UInt16
        var compressedSize: Int
        var uncompressedSize: Int
        /// Offset of the entry's data (after its local header) in the archive.
        var dataOffset: Int
    }

    let file: OpenFile
    let entries: [String: Entry]

    init(file: OpenFile) throws {
        self.file = file
        let path = file.path
        let tailLength = min(file.size, 22 + 65_535)
        guard tailLength >= 22 else { throw HDF5Error.archive(file: path, offset: 0, reason: "too short for a zip archive (\(file.size) bytes)") }
        let tailStart = file.size - tailLength
        let tail = try file.read(offset: tailStart, count: tailLength)
        var eocd: Int?
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4B, tail[i + 2] == 0x05, tail[i + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard let e = eocd else { throw HDF5Error.archive(file: path, offset: file.size, reason: "no end-of-central-directory record; not a zip archive or truncated") }
        var r = ByteReader(Array(tail[e...]), source: path, baseOffset: tailStart + e)
        try r.skip(10)
        let count = Int(try r.readLE(UInt16.self))
        let cdSize = Int(try r.readLE(UInt32.self))
        let cdOffset = Int(try r.readLE(UInt32.self))
        guard cdOffset != 0xFFFF_FFFF, count != 0xFFFF else {
            throw HDF5Error.archive(file: path, offset: tailStart + e, reason: "ZIP64 archives are not supported for .keras files")
        }
        guard cdSize <= 64 << 20 else { throw HDF5Error.archive(file: path, offset: tailStart + e, reason: "central directory of \(cdSize) bytes is implausibly large") }
        let cd = try file.read(offset: cdOffset, count: cdSize)
        var c = ByteReader(cd, source: path, baseOffset: cdOffset)
        var entries: [String: Entry] = [:]
        for _ in 0..<count {
            let at = c.absoluteOffset
            guard try c.readLE(UInt32.self) == 0x0201_4B50 else { throw HDF5Error.archive(file: path, offset: at, reason: "bad central directory entry signature") }
            try c.skip(6)
            let method = try c.readLE(UInt16.self)
            try c.skip(8)
            let csize = Int(try c.readLE(UInt32.self))
            let usize = Int(try c.readLE(UInt32.self))
            let nameLength = Int(try c.readLE(UInt16.self))
            let extraLength = Int(try c.readLE(UInt16.self))
            let commentLength = Int(try c.readLE(UInt16.self))
            try c.skip(8)
            let localOffset = Int(try c.readLE(UInt32.self))
            let name = String(decoding: try c.readBytes(nameLength), as: UTF8.self)
            try c.skip(extraLength + commentLength)
            guard csize != 0xFFFF_FFFF, usize != 0xFFFF_FFFF, localOffset != 0xFFFF_FFFF else {
                throw HDF5Error.archive(file: path, offset: at, reason: "entry \(name) needs ZIP64, which is not supported for .keras files")
            }
            let local = try file.read(offset: localOffset, count: 30)
            var l = ByteReader(local, source: path, baseOffset: localOffset)
            guard try l.readLE(UInt32.self) == 0x0403_4B50 else { throw HDF5Error.archive(file: path, offset: localOffset, reason: "bad local header signature for \(name)") }
            try l.skip(22)
            let ln = Int(try l.readLE(UInt16.self))
            let le = Int(try l.readLE(UInt16.self))
            let dataOffset = localOffset + 30 + ln + le
            do { try file.checkRange(offset: dataOffset, count: csize) } catch {
                throw HDF5Error.archive(file: path, offset: dataOffset, reason: "entry \(name) (\(csize) bytes) runs past the end of the archive")
            }
            entries[name] = Entry(name: name, method: method, compressedSize: csize, uncompressedSize: usize, dataOffset: dataOffset)
        }
        self.entries = entries
    }

    /// The entry's bytes' location, requiring it to be stored (uncompressed).
    func storedRange(_ name: String) throws -> (offset: Int, count: Int) {
        guard let e = entries[name] else {
            throw HDF5Error.archive(file: file.path, offset: 0, reason: "no entry \(name) (entries: \(entries.keys.sorted().joined(separator: ", ")))")
        }
        guard e.method == 0, e.compressedSize == e.uncompressedSize else {
            throw HDF5Error.archive(file: file.path, offset: e.dataOffset, reason: "entry \(name) is compressed (method \(e.method)); Porter reads stored .keras entries, as Keras writes them")
        }
        return (e.dataOffset, e.compressedSize)
    }

    func read(_ name: String, limit: Int = 64 << 20) throws -> [UInt8] {
        let r = try storedRange(name)
        guard r.count <= limit else { throw HDF5Error.tooLarge(file: file.path, path: name, bytes: r.count, limit: limit) }
        return try file.read(offset: r.offset, count: r.count)
    }
}
