import CHDF5
import CHDF5Shim
import Foundation
import PorterCore

extension H5File {
    /// Checks the attribute messages of a version-1 object header against their own sizes
    /// before libhdf5 decodes them.
    ///
    /// libhdf5 1.10.8's `H5O_attr_decode` trusts an attribute message's name, datatype and
    /// dataspace sizes and copies `npoints × element size` data bytes from wherever they
    /// lead, past the message and the header chunk (reached from `H5Aexists`,
    /// `H5Aopen`, …). This walks the header's chunks (following continuation messages)
    /// from the file's bytes and requires each unshared attribute message's parts to fit
    /// inside it. Version-2 headers (`OHDR`, checksummed) are left to libhdf5.
    func checkAttributeMessages(of object: H5Handle, path: String) throws {
        guard let raw = rawFile else { return }
        var info = H5O_info_t()
        H5.prepare()
        guard H5Oget_info2(object.id, &info, UInt32(H5O_INFO_BASIC)) >= 0 else {
            throw HDF5Error.operationFailed(file: self.path, path: display(path), operation: "H5Oget_info", detail: H5.errorText())
        }
        var sizeofAddr = 0, sizeofSize = 0
        var userblock: UInt64 = 0
        guard porter_h5f_sizes(handle.id, &sizeofAddr, &sizeofSize, &userblock) == 0,
              [2, 4, 8].contains(sizeofAddr), [2, 4, 8].contains(sizeofSize) else {
            throw HDF5Error.operationFailed(file: self.path, path: display(path), operation: "H5Pget_sizes", detail: H5.errorText())
        }
        try H5RawChecks.checkObjectHeader(raw, address: UInt64(info.addr), sizes: H5RawChecks.Sizes(addr: sizeofAddr, size: sizeofSize, userblock: userblock),
                                          file: self.path, path: display(path))
    }
}

/// Porter's own checks of HDF5 bytes, done before libhdf5 decodes them: pure functions of
/// the file's bytes and the sizes its superblock declares, so they are fuzzed in-process
/// (`fuzz-hdf5-checks`) apart from libhdf5.
public enum H5RawChecks {
    /// Sizes of addresses and lengths (2, 4 or 8 bytes) and the user-block offset.
    public struct Sizes: Sendable {
        public var addr: Int
        public var size: Int
        public var userblock: UInt64
        public init(addr: Int, size: Int, userblock: UInt64) {
            self.addr = addr
            self.size = size
            self.userblock = userblock
        }
    }

    /// Checks the attribute messages of the version-1 object header at `address` (relative
    /// to the user block): the header's chunks (following continuation messages) must lie
    /// in the file, and each unshared attribute message's name, datatype, dataspace and
    /// data must fit inside it. Version-2 headers (`OHDR`, checksummed) are left to libhdf5.
    public static func checkObjectHeader(_ raw: OpenFile, address: UInt64, sizes: Sizes, file: String, path: String) throws {
        let sizeofAddr = sizes.addr, sizeofSize = sizes.size, userblock = sizes.userblock
        func bad(_ at: Int, _ reason: String, attribute: String = "?") -> HDF5Error {
            HDF5Error.badAttribute(file: file, path: path, attribute: attribute,
                                   reason: "corrupt object header at byte \(at): \(reason)")
        }
        guard [2, 4, 8].contains(sizeofAddr), [2, 4, 8].contains(sizeofSize) else {
            throw bad(0, "sizes of addresses (\(sizeofAddr)) and lengths (\(sizeofSize)) are not 2, 4 or 8 bytes")
        }
        func absolute(_ addr: UInt64) -> Int? {
            let (a, o) = addr.addingReportingOverflow(userblock)
            return o ? nil : Int(exactly: a)
        }
        guard let start = absolute(address), start <= raw.size, raw.size - start >= 16 else { return }
        var prefix = ByteReader(try raw.read(offset: start, count: 16), source: file, baseOffset: start)
        guard try prefix.readU8() == 1 else { return }  // version 2 (OHDR) or other: libhdf5's own checks
        try prefix.skip(1)
        let messageCount = Int(try prefix.readLE(UInt16.self))
        try prefix.skip(4)
        let headerSize = Int(try prefix.readLE(UInt32.self))
        var chunks: [(offset: Int, size: Int)] = [(start + 16, headerSize)]
        var seen = 0
        var chunkIndex = 0
        while chunkIndex < chunks.count, chunkIndex < 1024 {
            let chunk = chunks[chunkIndex]
            chunkIndex += 1
            guard chunk.offset <= raw.size, chunk.size <= raw.size - chunk.offset else {
                throw bad(start, "header chunk at byte \(chunk.offset) (\(chunk.size) bytes) runs past the end of the file")
            }
            var r = ByteReader(try raw.read(offset: chunk.offset, count: chunk.size), source: file, baseOffset: chunk.offset)
            while r.remaining >= 8, seen < messageCount {
                let at = r.absoluteOffset
                let type = try r.readLE(UInt16.self)
                let size = Int(try r.readLE(UInt16.self))
                let flags = try r.readU8()
                try r.skip(3)
                guard size <= r.remaining else { throw bad(start, "message at byte \(at) (\(size) bytes) runs past its header chunk") }
                let body = Array(try r.readBytes(size))
                seen += 1
                if type == 0x0010, body.count >= sizeofAddr + sizeofSize {
                    // Continuation: another chunk of this header.
                    var c = ByteReader(body, source: file, baseOffset: at + 8)
                    let addr = try readSizedValue(&c, sizeofAddr)
                    let length = try readSizedValue(&c, sizeofSize)
                    guard let o = absolute(addr), let l = Int(exactly: length) else { throw bad(start, "continuation at byte \(at) is out of range") }
                    chunks.append((o, l))
                } else if type == 0x000C, flags & 0x02 == 0 {
                    try checkAttributeMessage(body, at: at + 8, sizeofAddr: sizeofAddr, sizeofSize: sizeofSize, file: file,
                                              bad: { bad(start, $0, attribute: attributeName(body)) })
                }
            }
        }
    }

    /// The name an attribute message carries (best effort, for error messages).
    private static func attributeName(_ body: [UInt8]) -> String {
        guard body.count > 8 else { return "?" }
        let head = body[0] == 3 ? 9 : 8
        guard head < body.count else { return "?" }
        let n = min(Int(body[2]) | Int(body[3]) << 8, body.count - head)
        var bytes = body[head..<(head + n)]
        if let z = bytes.firstIndex(of: 0) { bytes = bytes[bytes.startIndex..<z] }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func readSizedValue(_ reader: inout ByteReader, _ size: Int) throws -> UInt64 {
        switch size {
        case 2: return UInt64(try reader.readLE(UInt16.self))
        case 4: return UInt64(try reader.readLE(UInt32.self))
        default: return try reader.readLE(UInt64.self)
        }
    }

    /// One attribute message: its name, datatype, dataspace and data must fit its size.
    private static func checkAttributeMessage(_ body: [UInt8], at offset: Int, sizeofAddr: Int, sizeofSize: Int, file: String,
                                              bad: (String) -> HDF5Error) throws {
        guard body.count >= 8 else { throw bad("attribute message at byte \(offset) is \(body.count) bytes") }
        let version = body[0]
        let attrFlags = body[1]
        let nameSize = Int(body[2]) | Int(body[3]) << 8
        let typeSize = Int(body[4]) | Int(body[5]) << 8
        let spaceSize = Int(body[6]) | Int(body[7]) << 8
        func align8(_ n: Int) -> Int { (n + 7) & ~7 }
        let typeAt: Int, spaceAt: Int, dataAt: Int
        switch version {
        case 1:
            typeAt = 8 + align8(nameSize)
            spaceAt = typeAt + align8(typeSize)
            dataAt = spaceAt + align8(spaceSize)
        case 2, 3:
            if attrFlags & 0x03 != 0 { return }  // shared datatype or dataspace: stored elsewhere
            let head = version == 3 ? 9 : 8
            typeAt = head + nameSize
            spaceAt = typeAt + typeSize
            dataAt = spaceAt + spaceSize
        default:
            throw bad("attribute message at byte \(offset) has unknown version \(version)")
        }
        guard dataAt <= body.count, typeSize >= 8, spaceSize >= 2 else {
            throw bad("attribute message at byte \(offset): name (\(nameSize)), datatype (\(typeSize)) and dataspace (\(spaceSize)) sizes exceed the message (\(body.count) bytes)")
        }
        // Datatype: class in the low nibble of byte 0, element size at bytes 4..7.
        let typeClass = body[typeAt] & 0x0F
        var elementSize = Int(body[typeAt + 4]) | Int(body[typeAt + 5]) << 8 | Int(body[typeAt + 6]) << 16 | Int(body[typeAt + 7]) << 24
        if typeClass == 9 {
            // Variable-length: libhdf5 converts each element as (length × base type size) bytes,
            // so a corrupt base size turns a 10-byte string into gigabytes. The base type
            // follows the 8-byte vlen header; its size is at bytes 4..7 of it. A string's base
            // is one-byte characters.
            guard typeSize >= 16 else { throw bad("attribute message at byte \(offset): variable-length datatype of \(typeSize) bytes has no base type") }
            let b = typeAt + 12
            let baseSize = Int(body[b]) | Int(body[b + 1]) << 8 | Int(body[b + 2]) << 16 | Int(body[b + 3]) << 24
            let isString = body[typeAt + 1] & 0x0F == 1
            guard isString ? baseSize == 1 : (baseSize >= 1 && baseSize <= maxAttributeBytes) else {
                throw bad("attribute message at byte \(offset): variable-length \(isString ? "string" : "sequence") has a base type of \(baseSize) bytes"
                          + (isString ? " (strings are one-byte characters)" : ""))
            }
            elementSize = 4 + sizeofAddr + 4  // on-disk reference
        }
        // Dataspace: version, rank, flags, then (v1: 5 reserved bytes) the dimensions.
        let spaceVersion = body[spaceAt]
        let rank = Int(body[spaceAt + 1])
        var npoints = 1
        var dimsAt: Int
        switch spaceVersion {
        case 1: dimsAt = spaceAt + 8
        case 2:
            guard spaceSize >= 4 else { throw bad("attribute message at byte \(offset): dataspace too short") }
            if body[spaceAt + 3] == 2 { npoints = 0 }  // null dataspace
            dimsAt = spaceAt + 4
        default: throw bad("attribute message at byte \(offset): unknown dataspace version \(spaceVersion)")
        }
        guard rank <= 32, dimsAt + rank * sizeofSize <= spaceAt + spaceSize else {
            throw bad("attribute message at byte \(offset): dataspace of rank \(rank) does not fit its \(spaceSize) bytes")
        }
        var d = ByteReader(Array(body[dimsAt..<(dimsAt + rank * sizeofSize)]), source: file, baseOffset: offset + dimsAt)
        for _ in 0..<rank {
            let dim = try readSizedValue(&d, sizeofSize)
            guard let di = Int(exactly: dim) else { throw bad("attribute message at byte \(offset): dimension \(dim)") }
            let (p, o) = npoints.multipliedReportingOverflow(by: di)
            guard !o else { throw bad("attribute message at byte \(offset): element count overflows") }
            npoints = p
        }
        let (dataSize, o) = npoints.multipliedReportingOverflow(by: elementSize)
        guard !o, dataSize <= body.count - dataAt else {
            throw bad("attribute message at byte \(offset): \(npoints) elements of \(elementSize) bytes do not fit the message (\(body.count - dataAt) bytes left)")
        }
    }
}
