import Foundation
import PorterCore

/// The regular members of a POSIX tar archive (ustar or PAX) as ranges of the file: just
/// what torch's pre-1.0 serialization needs. Names come from the ustar name and prefix
/// fields, a PAX `path` record or a GNU long-name member; sizes from the octal or
/// base-256 size field or a PAX `size` record. Every header's checksum is verified and
/// every member must lie inside the file.
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

    /// True when `head` starts with a ustar header ("ustar" magic at 257) whose checksum holds.
    static func looksLikeTar(_ head: [UInt8]) -> Bool {
        guard head.count >= blockSize else { return false }
        let header = Array(head.prefix(blockSize))
        return Array(header[257..<262]) == Array("ustar".utf8) && checksumHolds(header)
    }

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
            switch type {
            case UInt8(ascii: "x"):
                pending = try paxRecords(offset: dataOffset, size: size, headerOffset: offset)
            case UInt8(ascii: "g"):
                break  // global PAX records: nothing torch files depend on
            case UInt8(ascii: "L"):
                guard size <= Self.maxExtendedHeader else { throw bad(offset, "GNU long name of \(size) bytes") }
                longName = String(decoding: try file.read(offset: dataOffset, count: size).prefix { $0 != 0 }, as: UTF8.self)
            default:
                if type == 0 || type == UInt8(ascii: "0") || type == UInt8(ascii: "7") {
                    guard members.count < Self.maxMembers else { throw bad(offset, "more than \(Self.maxMembers) members") }
                    let prefix = Self.field(header, 345, 155)
                    let plain = prefix.isEmpty ? Self.field(header, 0, 100) : prefix + "/" + Self.field(header, 0, 100)
                    members.append(Member(name: pending["path"] ?? longName ?? plain, headerOffset: offset, dataOffset: dataOffset, size: size))
                }
                pending = [:]
                longName = nil
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

    private static func field(_ header: [UInt8], _ start: Int, _ length: Int) -> String {
        String(decoding: header[start..<(start + length)].prefix { $0 != 0 }, as: UTF8.self)
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
        let text = String(decoding: header[148..<156], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        guard let stored = Int(text, radix: 8) else { return false }
        return stored == unsigned || stored == signed
    }

    /// Size field: octal digits (NUL/space padded), or base-256 when the high bit is set.
    private func sizeField(_ header: [UInt8], at offset: Int) throws -> Int {
        let raw = header[124..<136]
        if raw.first! & 0x80 != 0 {
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
        let text = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
        if text.isEmpty { return 0 }
        guard let v = Int(text, radix: 8), v >= 0 else { throw bad(offset, "size field '\(text)' is not octal") }
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
            records[String(decoding: record[record.startIndex..<eq], as: UTF8.self)] = String(decoding: record[(eq + 1)...], as: UTF8.self)
            i += length
        }
        return records
    }
}
