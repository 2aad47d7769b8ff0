import Foundation
import PorterCore

/// The regular members of a tar archive (v7, ustar, GNU or PAX) as ranges of the file:
/// just what torch's pre-1.0 serialization needs, resolved as Python's `tarfile` (which
/// torch's `legacy_load` uses) resolves them. Names come from the name and prefix fields,
/// a PAX `path` record or a GNU long-name member; sizes from the octal or base-256 size
/// field or a PAX `size` record; a repeated name means its last member. Every header's
/// checksum is verified and every member must lie inside the file.
///
/// Whatever `tarfile` could read differently across Python releases, or differently from
/// a plain reading of the headers, is refused with `PyTorchError.ambiguousArchive`: link
/// members (tarfile follows them to other members), types tarfile does not know (it reads
/// them as regular files), global PAX headers (they rename every later member), directory,
/// device, FIFO and sparse members, PAX records that change how names or data are read,
/// names that are not UTF-8, and repeated names of the members torch reads.
struct TarArchive {
    struct Member: Sendable {
        let name: String
        /// Offset of the member's 512-byte header.
        let headerOffset: Int
        /// Offset of the member's first data byte.
        let dataOffset: Int
        let size: Int
        var end: Int { dataOffset + size }
    }

    static let blockSize = 512
    static let maxMembers = 100_000
    /// Largest PAX extended header or GNU long name Porter reads.
    static let maxExtendedHeader = 1 << 20

    let file: OpenFile
    private(set) var members: [Member] = []

    /// True when Python's `tarfile` takes `head` for a tar: its first 512 bytes are not all
    /// zero and their checksum field holds (tarfile checks no magic, so old v7 archives
    /// count). torch.load tries tarfile on every file that is not a zip before unpickling it.
    static func looksLikeTar(_ head: [UInt8]) -> Bool {
        guard head.count >= blockSize else { return false }
        let header = Array(head.prefix(blockSize))
        return !header.allSatisfy({ $0 == 0 }) && checksumHolds(header)
    }

    /// The member names torch's `legacy_load` reads.
    static let torchMembers: Set<String> = ["sys_info", "pickle", "tensors", "storages"]
    /// PAX records that only describe a member (times, owners, comments): anything else
    /// (`linkpath`, `hdrcharset`, `GNU.sparse.*`, ...) changes how tarfile reads it.
    static let inertPaxKeys: Set<String> = ["path", "size", "mtime", "atime", "ctime", "uid", "gid", "uname", "gname", "comment"]

    /// The name in the first header (no PAX or GNU extension applied), for probing.
    static func firstName(_ head: [UInt8]) -> String? {
        guard looksLikeTar(head) else { return nil }
        return field(Array(head.prefix(blockSize)), 0, 100)
    }

    init(file: OpenFile) throws {
        self.file = file
        var offset = 0
        var pending: [String: String] = [:]
        var longName: String?
        while offset < file.size {
            guard file.size - offset >= Self.blockSize else {
                throw bad(offset, "the archive ends inside a header (\(file.size - offset) of 512 bytes)")
            }
            let header = try file.read(offset: offset, count: Self.blockSize)
            if header.allSatisfy({ $0 == 0 }) { break }
            guard Self.checksumHolds(header) else { throw bad(offset, "header checksum does not match") }
            var size = try sizeField(header, at: offset)
            if let s = pending["size"] {
                guard let v = Int(s), v >= 0 else { throw bad(offset, "PAX size record '\(s.prefix(30))' is not a size") }
                size = v
            }
            let dataOffset = offset + Self.blockSize
            guard size <= file.size - dataOffset else {
                throw bad(offset, "member of \(size) bytes runs past the end of the file (\(file.size - dataOffset) bytes left)")
            }
            let type = header[156]
            func ambiguous(_ why: String) -> PyTorchError {
                PyTorchError.ambiguousArchive(path: file.path, reason: "tar member at byte \(offset) \(why)")
            }
            switch type {
            case UInt8(ascii: "x"):
                guard pending.isEmpty, longName == nil else { throw ambiguous("is a second extended header in a row") }
                pending = try paxRecords(offset: dataOffset, size: size, headerOffset: offset)
                if let key = pending.keys.sorted().first(where: { !Self.inertPaxKeys.contains($0) }) {
                    throw ambiguous("has the PAX record \(key.prefix(40)), which changes how tarfile reads the member")
                }
            case UInt8(ascii: "g"):
                throw ambiguous("is a global PAX header: tarfile applies it to every later member (it can rename them)")
            case UInt8(ascii: "L"):
                guard pending.isEmpty, longName == nil else { throw ambiguous("is a second extended header in a row") }
                guard size <= Self.maxExtendedHeader else { throw bad(offset, "GNU long name of \(size) bytes") }
                longName = try Self.utf8(Array(try file.read(offset: dataOffset, count: size).prefix { $0 != 0 }), offset: offset, path: file.path)
            case 0, UInt8(ascii: "0"):
                guard members.count < Self.maxMembers else { throw bad(offset, "more than \(Self.maxMembers) members") }
                let prefix = try Self.field(header, 345, 155, offset: offset, path: file.path)
                let short = try Self.field(header, 0, 100, offset: offset, path: file.path)
                let plain = prefix.isEmpty ? short : prefix + "/" + short
                let name = pending["path"] ?? longName ?? plain
                if type == 0 && short.hasSuffix("/") { throw ambiguous("(\(name.prefix(80))) is read by tarfile as a directory") }
                if Self.torchMembers.contains(name), members.contains(where: { $0.name == name }) {
                    throw ambiguous("repeats the member name \(name); tools differ on which copy they read")
                }
                members.append(Member(name: name, headerOffset: offset, dataOffset: dataOffset, size: size))
                pending = [:]
                longName = nil
            case UInt8(ascii: "1"), UInt8(ascii: "2"):
                throw ambiguous("is a \(type == UInt8(ascii: "1") ? "hard" : "symbolic") link: tarfile reads the member it points to instead")
            default:
                let flag = (0x21...0x7E).contains(type) ? "'\(Character(UnicodeScalar(type)))'" : "0x\(String(type, radix: 16))"
                throw ambiguous("has type \(flag), which torch's pre-1.0 files never use (tarfile reads unknown types as regular files and skips the data of directories and devices differently)")
            }
            // size ≤ file.size - dataOffset, so rounding up to a block cannot overflow.
            offset = dataOffset + (size + Self.blockSize - 1) / Self.blockSize * Self.blockSize
        }
    }

    /// The last member of that name (tar's rule when a name repeats).
    func member(_ name: String) -> Member? { members.last { $0.name == name } }

    func read(_ member: Member, limit: Int) throws -> [UInt8] {
        guard member.size <= limit else {
            throw PyTorchError.badTar(path: file.path, offset: member.headerOffset, reason: "member \(member.name) is \(member.size) bytes, more than the \(limit) Porter reads")
        }
        return try file.read(offset: member.dataOffset, count: member.size)
    }

    private func bad(_ offset: Int, _ reason: String) -> PyTorchError {
        PyTorchError.badTar(path: file.path, offset: offset, reason: reason)
    }

    /// A NUL-terminated text field, as tarfile's `nts` cuts it.
    private static func field(_ header: [UInt8], _ start: Int, _ length: Int) -> String {
        String(decoding: header[start..<(start + length)].prefix { $0 != 0 }, as: UTF8.self)
    }

    /// A name field, refused unless it is UTF-8 (tarfile keeps other bytes as surrogate
    /// escapes, which would not compare as Porter compares them).
    private static func field(_ header: [UInt8], _ start: Int, _ length: Int, offset: Int, path: String) throws -> String {
        try utf8(Array(header[start..<(start + length)].prefix { $0 != 0 }), offset: offset, path: path)
    }

    private static func utf8(_ bytes: [UInt8], offset: Int, path: String) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw PyTorchError.ambiguousArchive(path: path, reason: "tar member at byte \(offset) has a name that is not UTF-8")
        }
        return s
    }

    /// tarfile's `nti` for octal fields: the text up to the first NUL, stripped of ASCII
    /// whitespace, read as Python's `int(text, 8)` would; nil where tarfile raises. Only
    /// plain digits are accepted (a sign, `0o` or `_`, which Python allows, is refused as nil).
    static func pythonOctal(_ raw: ArraySlice<UInt8>) -> Int? {
        let cut = raw.prefix { $0 != 0 }
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || (0x09...0x0D).contains($0) || (0x1C...0x1F).contains($0) }
        let trimmed = cut.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        if trimmed.isEmpty { return 0 }
        var value = 0
        for b in trimmed {
            guard (0x30...0x37).contains(b) else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 8)
            let (n, o2) = m.addingReportingOverflow(Int(b - 0x30))
            guard !o1, !o2 else { return nil }
            value = n
        }
        return value
    }

    /// The header checksum: the sum of its bytes with the checksum field read as spaces
    /// (unsigned, or signed as some old writers did), stored in octal.
    private static func checksumHolds(_ header: [UInt8]) -> Bool {
        var unsigned = 0, signed = 0
        for (i, b) in header.enumerated() {
            let v = (148..<156).contains(i) ? 0x20 : b
            unsigned += Int(v)
            signed += Int(Int8(bitPattern: v))
        }
        guard let stored = pythonOctal(header[148..<156]) else { return false }
        return stored == unsigned || stored == signed
    }

    /// Size field: octal digits as tarfile's `nti` reads them, or base-256 when the first byte
    /// is 0x80 (0xFF, negative base-256, and any other high first byte are refused).
    private func sizeField(_ header: [UInt8], at offset: Int) throws -> Int {
        let raw = header[124..<136]
        if raw.first! & 0x80 != 0 {
            guard raw.first == 0x80 else { throw bad(offset, "size field starts with byte 0x\(String(raw.first!, radix: 16)), which tarfile does not read as a size") }
            var value = 0
            for (i, b) in raw.enumerated() {
                let byte = i == 0 ? b & 0x7F : b
                let (shifted, o1) = value.multipliedReportingOverflow(by: 256)
                let (next, o2) = shifted.addingReportingOverflow(Int(byte))
                guard !o1, !o2 else { throw bad(offset, "base-256 size does not fit 63 bits") }
                value = next
            }
            return value
        }
        guard let v = Self.pythonOctal(raw) else {
            throw bad(offset, "size field '\(String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self).prefix(12))' is not octal")
        }
        return v
    }

    /// PAX extended records: `"<length> <key>=<value>\n"`, the length counting the whole record.
    private func paxRecords(offset: Int, size: Int, headerOffset: Int) throws -> [String: String] {
        guard size <= Self.maxExtendedHeader else { throw bad(headerOffset, "PAX header of \(size) bytes") }
        let bytes = try file.read(offset: offset, count: size)
        var records: [String: String] = [:]
        var i = 0
        while i < bytes.count, bytes[i] != 0 {
            guard let space = bytes[i...].firstIndex(of: UInt8(ascii: " ")), space - i <= 8,
                  let length = Int(String(decoding: bytes[i..<space], as: UTF8.self)),
                  length > space - i + 1, length <= bytes.count - i, bytes[i + length - 1] == UInt8(ascii: "\n")
            else { throw bad(offset + i, "malformed PAX record") }
            let record = bytes[(space + 1)..<(i + length - 1)]
            guard let eq = record.firstIndex(of: UInt8(ascii: "=")) else { throw bad(offset + i, "PAX record without '='") }
            guard let key = String(validating: record[record.startIndex..<eq], as: UTF8.self),
                  let value = String(validating: record[(eq + 1)...], as: UTF8.self) else {
                throw PyTorchError.ambiguousArchive(path: file.path, reason: "PAX record at byte \(offset + i) is not UTF-8")
            }
            records[key] = value
            i += length
        }
        return records
    }
}
