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
    /// Entries by ASCII-lower-cased name: torch's zip reader (miniz, `mz_zip_reader_locate_file`
    /// without `MZ_ZIP_FLAG_CASE_SENSITIVE`) finds entries ignoring ASCII case.
    private let byFoldedName: [String: Int]
    /// Pairs of entry names that are equal, or equal when ASCII case is ignored. torch's
    /// lookup then depends on miniz's sort order, so such archives are ambiguous.
    public let collisions: [(String, String)]
    private let budget: InflateBudget

    static let maxEntries = 1_000_000
    /// Most bytes Porter inflates from the deflated entries of one archive, in all: 64 MiB,
    /// or `PORTER_MAX_INFLATE_MIB` MiB. torch.save stores tensor data uncompressed; deflated
    /// entries are code and small pickles, so a larger total is a zip bomb or a recompressed
    /// checkpoint (the error says how to allow it).
    public static let maxInflatedBytes: Int = {
        if let text = ProcessInfo.processInfo.environment["PORTER_MAX_INFLATE_MIB"], let mib = Int(text), mib > 0, mib <= 1 << 20 {
            return mib << 20
        }
        return 64 << 20
    }()

    /// ASCII-only lower case, as miniz's `MZ_TOLOWER`.
    static func folded(_ name: String) -> String {
        String(decoding: name.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    public init(file: OpenFile) throws {
        self.file = file
        let path = file.path
        let size = file.size
        guard size >= 22 else { throw PyTorchError.truncatedZip(path: path, size: size, searched: size) }
        let tailCount = min(size, 22 + 65_535)
        let tailStart = size - tailCount
        let tail = try file.read(offset: tailStart, count: tailCount)
        var eocd = -1
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4B, tail[i + 2] == 0x05, tail[i + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw PyTorchError.truncatedZip(path: path, size: size, searched: tailCount) }
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
        var clashes: [(String, String)] = []
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
            // Deflate expands at most ~1032:1; a larger declared size is a zip bomb or corruption,
            // and must not decide how much memory Porter allocates.
            if method == 8, entry.size / 1032 > entry.compressedSize + 1 {
                throw PyTorchError.badZip(path: path, offset: at, reason: "entry \(name) declares \(entry.size) bytes from \(entry.compressedSize) deflated bytes, more than deflate can produce")
            }
            let key = Self.folded(name)
            if let earlier = names[key] { clashes.append((list[earlier].name, name)) }
            names[key] = list.count
            list.append(entry)
        }
        entries = list
        byFoldedName = names
        collisions = clashes
        budget = InflateBudget(limit: Self.maxInflatedBytes)
    }

    public init(path: String) throws { try self.init(file: try OpenFile(path: path)) }

    /// The entry torch's reader finds for `name` (ASCII case ignored, as miniz does).
    public func entry(_ name: String) -> ZipEntry? { byFoldedName[Self.folded(name)].map { entries[$0] } }

    /// The folder torch reads every record from: the first central-directory entry's name up to
    /// its first `/` (`PyTorchStreamReader`), with the slash; nil when that entry is in no folder,
    /// which torch refuses.
    public var torchPrefix: String? {
        guard let first = entries.first, let slash = first.name.firstIndex(of: "/") else { return nil }
        return String(first.name[...slash])
    }

    /// Throws `PyTorchError.ambiguousArchive` when torch's reader and Porter's could pick
    /// different entries: names that collide exactly or when ASCII case is ignored.
    public func refuseAmbiguity() throws {
        if let (a, b) = collisions.first {
            throw PyTorchError.ambiguousArchive(path: file.path, reason: a == b
                ? "two entries are named \(a); which one torch reads depends on its zip reader's sort order"
                : "entries \(a) and \(b) differ only in case; torch's zip reader ignores case, so which one it reads depends on its sort order")
        }
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
            try budget.take(entry.size, path: file.path, entry: entry.name)
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
            try budget.take(entry.size, path: file.path, entry: entry.name)
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

/// The bytes one archive may still inflate: every deflated entry Porter reads (or hands out
/// as a lazy storage) is charged its declared size first, so a small archive of many
/// highly compressed entries cannot make Porter allocate without bound.
final class InflateBudget: @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int
    let limit: Int

    init(limit: Int) {
        self.limit = limit
        left = limit
    }

    func take(_ count: Int, path: String, entry: String) throws {
        lock.lock()
        defer { lock.unlock() }
        guard count <= left else {
            throw PyTorchError.inflateFailed(path: path, entry: entry, reason: "inflating its \(count) bytes would pass the \(limit >> 20) MiB Porter inflates from one archive (torch.save stores tensors uncompressed; set PORTER_MAX_INFLATE_MIB to allow more for a recompressed checkpoint)")
        }
        left -= count
    }
}
