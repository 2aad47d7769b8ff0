import Foundation
import PorterCore

/// One member of a zip archive, from its central directory record.
public struct ZipEntry: Sendable {
    public var name: String
    public var method: Int
    public var compressedSize: Int
    public var size: Int
    public var crc32: UInt32
    public var localHeaderOffset: Int
}

/// A zip archive read with Porter's own parser (EOCD, ZIP64, central directory, local
/// headers). Stored entries are handed out as zero-copy file ranges; deflated entries
/// are inflated lazily with zlib.
public struct ZipArchive: Sendable {
    public let file: OpenFile
    public let entries: [ZipEntry]
    private let byName: [String: Int]

    static let maxEntries = 1_000_000

    public init(file: OpenFile) throws {
        self.file = file
        let path = file.path
        let size = file.size
        guard size >= 22 else { throw PyTorchError.notAZip(path: path, reason: "\(size) bytes is shorter than an end-of-central-directory record") }
        let tailCount = min(size, 22 + 65_535)
        let tailStart = size - tailCount
        let tail = try file.read(offset: tailStart, count: tailCount)
        var eocd = -1
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4B, tail[i + 2] == 0x05, tail[i + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw PyTorchError.notAZip(path: path, reason: "no end-of-central-directory record") }
        var r = ByteReader(Array(tail[eocd...]), source: path, baseOffset: tailStart + eocd)
        try r.skip(10)
        var count = Int(try r.readLE(UInt16.self))
        var cdSize = Int(try r.readLE(UInt32.self))
        var cdOffset = Int(try r.readLE(UInt32.self))
        // ZIP64: a locator sits just before the EOCD record.
        if eocd >= 20, tail[eocd - 20] == 0x50, tail[eocd - 19] == 0x4B, tail[eocd - 18] == 0x06, tail[eocd - 17] == 0x07 {
            var loc = ByteReader(Array(tail[(eocd - 20)..<eocd]), source: path, baseOffset: tailStart + eocd - 20)
            try loc.skip(8)
            let recordOffset = try Int.checked(try loc.readLE(UInt64.self), source: path, what: "ZIP64 end record offset")
            let record = try file.read(offset: recordOffset, count: 56)
            var z = ByteReader(record, source: path, baseOffset: recordOffset)
            guard try z.readLE(UInt32.self) == 0x06064B50 else {
                throw PyTorchError.badZip(path: path, offset: recordOffset, reason: "ZIP64 end record signature missing")
            }
            try z.skip(28)
            count = try Int.checked(try z.readLE(UInt64.self), source: path, what: "ZIP64 entry count")
            cdSize = try Int.checked(try z.readLE(UInt64.self), source: path, what: "ZIP64 directory size")
            cdOffset = try Int.checked(try z.readLE(UInt64.self), source: path, what: "ZIP64 directory offset")
        }
        guard count <= ZipArchive.maxEntries else { throw PyTorchError.badZip(path: path, offset: tailStart + eocd, reason: "\(count) entries exceeds Porter's limit") }
        guard cdOffset >= 0, cdSize >= 0, cdOffset <= size, cdSize <= size - cdOffset else {
            throw PyTorchError.badZip(path: path, offset: tailStart + eocd, reason: "central directory (\(cdSize) bytes at \(cdOffset)) lies outside the file")
        }
        var cd = ByteReader(try file.read(offset: cdOffset, count: cdSize), source: path, baseOffset: cdOffset)
        var list: [ZipEntry] = []
        var names: [String: Int] = [:]
        for _ in 0..<count {
            let at = cd.absoluteOffset
            guard try cd.readLE(UInt32.self) == 0x02014B50 else { throw PyTorchError.badZip(path: path, offset: at, reason: "central directory record signature missing") }
            try cd.skip(6)
            let method = Int(try cd.readLE(UInt16.self))
            try cd.skip(4)
            let crc = try cd.readLE(UInt32.self)
            var csize = UInt64(try cd.readLE(UInt32.self))
            var usize = UInt64(try cd.readLE(UInt32.self))
            let nameLen = Int(try cd.readLE(UInt16.self))
            let extraLen = Int(try cd.readLE(UInt16.self))
            let commentLen = Int(try cd.readLE(UInt16.self))
            try cd.skip(8)
            var offset = UInt64(try cd.readLE(UInt32.self))
            let name = String(decoding: try cd.readBytes(nameLen), as: UTF8.self)
            var extra = ByteReader(Array(try cd.readBytes(extraLen)), source: path, baseOffset: cd.absoluteOffset - extraLen)
            try cd.skip(commentLen)
            while extra.remaining >= 4 {
                let id = try extra.readLE(UInt16.self)
                let len = Int(try extra.readLE(UInt16.self))
                if id == 0x0001 {
                    var z = ByteReader(Array(try extra.readBytes(len)), source: path, baseOffset: extra.absoluteOffset - len)
                    if usize == 0xFFFF_FFFF { usize = try z.readLE(UInt64.self) }
                    if csize == 0xFFFF_FFFF { csize = try z.readLE(UInt64.self) }
                    if offset == 0xFFFF_FFFF { offset = try z.readLE(UInt64.self) }
                } else {
                    try extra.skip(min(len, extra.remaining))
                }
            }
            let entry = ZipEntry(name: name, method: method,
                                 compressedSize: try Int.checked(csize, source: path, what: "size of \(name)"),
                                 size: try Int.checked(usize, source: path, what: "size of \(name)"), crc32: crc,
                                 localHeaderOffset: try Int.checked(offset, source: path, what: "offset of \(name)"))
            guard entry.localHeaderOffset <= size, entry.compressedSize <= size else {
                throw PyTorchError.badZip(path: path, offset: at, reason: "entry \(name) lies outside the file")
            }
            names[name] = list.count
            list.append(entry)
        }
        entries = list
        byName = names
    }

    public init(path: String) throws { try self.init(file: try OpenFile(path: path)) }

    public func entry(_ name: String) -> ZipEntry? { byName[name].map { entries[$0] } }

    /// The folder every entry sits under (e.g. `archive`), or "" when they do not share one.
    public var commonPrefix: String {
        guard let first = entries.first, let slash = first.name.firstIndex(of: "/") else { return "" }
        let prefix = String(first.name[...slash])
        return entries.allSatisfy({ $0.name.hasPrefix(prefix) }) ? prefix : ""
    }

    /// Absolute offset of an entry's data (after its local header), checked against the file.
    public func dataOffset(of entry: ZipEntry) throws -> Int {
        let header = try file.read(offset: entry.localHeaderOffset, count: 30)
        var r = ByteReader(header, source: file.path, baseOffset: entry.localHeaderOffset)
        guard try r.readLE(UInt32.self) == 0x04034B50 else {
            throw PyTorchError.badZip(path: file.path, offset: entry.localHeaderOffset, reason: "local header signature of \(entry.name) missing")
        }
        try r.skip(22)
        let n = Int(try r.readLE(UInt16.self))
        let e = Int(try r.readLE(UInt16.self))
        let start = entry.localHeaderOffset + 30 + n + e
        try file.checkRange(offset: start, count: entry.compressedSize)
        return start
    }

    /// The entry's bytes (inflated if needed). For small entries such as pickles.
    public func read(_ entry: ZipEntry) throws -> [UInt8] {
        let start = try dataOffset(of: entry)
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.size else {
                throw PyTorchError.badZip(path: file.path, offset: entry.localHeaderOffset, reason: "stored entry \(entry.name) has different compressed and plain sizes")
            }
            return try file.read(offset: start, count: entry.size)
        case 8:
            return try file.withMappedBytes(offset: start, count: entry.compressedSize) {
                try Zlib.inflateRaw($0, expectedSize: entry.size, label: file.path, entry: entry.name)
            }
        default:
            throw PyTorchError.unsupportedCompression(path: file.path, entry: entry.name, method: entry.method)
        }
    }

    /// A lazy storage over the entry: a file range when stored, inflated on first use when deflated.
    public func storage(_ entry: ZipEntry) throws -> TensorStorage {
        let label = "\(file.path):\(entry.name)"
        let start = try dataOffset(of: entry)
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.size else {
                throw PyTorchError.badZip(path: file.path, offset: entry.localHeaderOffset, reason: "stored entry \(entry.name) has different compressed and plain sizes")
            }
            return try TensorStorage.file(file, offset: start, count: entry.size, label: label)
        case 8:
            let file = self.file
            return TensorStorage(byteCount: entry.size, backing: .deferred {
                try file.withMappedBytes(offset: start, count: entry.compressedSize) {
                    try Zlib.inflateRaw($0, expectedSize: entry.size, label: file.path, entry: entry.name)
                }
            }, label: label)
        default:
            throw PyTorchError.unsupportedCompression(path: file.path, entry: entry.name, method: entry.method)
        }
    }
}
