import Foundation
import PorterCore
import CSnappy

/// A position and length inside a table file (LevelDB's `BlockHandle`).
struct BlockHandle: Equatable {
    var offset: Int
    var size: Int

    static func decode(_ reader: inout ByteReader, file: String) throws -> BlockHandle {
        let offset = try Int.checked(reader.readVarint(), source: file, what: "block offset")
        let size = try Int.checked(reader.readVarint(), source: file, what: "block size")
        return BlockHandle(offset: offset, size: size)
    }
}

/// Reads the sorted key/value table (LevelDB layout) that a tensor bundle's `.index`
/// file is: a 48-byte footer with the index block's handle and a magic number, an
/// index block mapping keys to data blocks, data blocks of prefix-compressed entries
/// with restart points, each block followed by a type byte and a masked CRC32C.
struct SSTable {
    static let footerLength = 48
    static let magic: UInt64 = 0xDB47_7524_8B80_FB57
    /// Upper bound on one block, far above what TensorFlow writes (its default is 4 KiB... 1 MiB).
    static let maxBlockSize = 256 << 20

    let file: OpenFile
    var name: String { file.path }

    init(file: OpenFile) { self.file = file }

    /// Every key/value pair in key order, after verifying every block's checksum.
    func entries() throws -> [(key: [UInt8], value: [UInt8])] {
        guard file.size >= Self.footerLength else {
            throw TensorFlowError.badFooter(file: name, reason: "file is \(file.size) bytes, shorter than the footer")
        }
        let footerOffset = file.size - Self.footerLength
        var footer = ByteReader(try file.read(offset: footerOffset, count: Self.footerLength), source: name, baseOffset: footerOffset)
        try footer.seek(to: 40)
        let magic = try footer.readLE(UInt64.self)
        guard magic == Self.magic else {
            throw TensorFlowError.badFooter(file: name, reason: "magic number 0x\(String(magic, radix: 16)) at byte \(footerOffset + 40), expected 0x\(String(Self.magic, radix: 16))")
        }
        try footer.seek(to: 0)
        let metaIndex: BlockHandle
        let indexHandle: BlockHandle
        do {
            metaIndex = try BlockHandle.decode(&footer, file: name)
            indexHandle = try BlockHandle.decode(&footer, file: name)
        } catch {
            throw TensorFlowError.badFooter(file: name, reason: "unreadable block handles: \(error.localizedDescription)")
        }
        _ = metaIndex
        guard footer.position <= 40 else {
            throw TensorFlowError.badFooter(file: name, reason: "block handles overrun the 40 bytes reserved for them")
        }
        let index = try blockEntries(try block(indexHandle))
        var out: [(key: [UInt8], value: [UInt8])] = []
        for (indexKey, value) in index {
            var r = ByteReader(value, source: name)
            let handle: BlockHandle
            do { handle = try BlockHandle.decode(&r, file: name) } catch {
                throw TensorFlowError.malformedBlock(file: name, offset: indexHandle.offset, reason: "index entry '\(printable(indexKey))' holds no block handle")
            }
            for entry in try blockEntries(try block(handle)) {
                if let last = out.last, !(last.key.lexicographicallyPrecedes(entry.key)) {
                    throw TensorFlowError.malformedBlock(file: name, offset: handle.offset, reason: "keys out of order at '\(printable(entry.key))'")
                }
                out.append(entry)
            }
        }
        return out
    }

    /// One block's contents after checking the trailer's CRC and compression type.
    func block(_ handle: BlockHandle) throws -> ByteReader {
        guard handle.size <= Self.maxBlockSize else {
            throw TensorFlowError.malformedBlock(file: name, offset: handle.offset, reason: "block of \(handle.size) bytes exceeds the \(Self.maxBlockSize)-byte cap")
        }
        let (end, o1) = handle.offset.addingReportingOverflow(handle.size)
        let (endWithTrailer, o2) = end.addingReportingOverflow(5)
        guard !o1, !o2, handle.offset >= 0, endWithTrailer <= file.size - Self.footerLength else {
            throw TensorFlowError.malformedBlock(file: name, offset: handle.offset, reason: "block of \(handle.size) bytes (+5 trailer) runs past the table data (\(file.size - Self.footerLength) bytes)")
        }
        let bytes = try file.read(offset: handle.offset, count: handle.size + 5)
        let type = bytes[handle.size]
        var t = ByteReader(Array(bytes[(handle.size + 1)...]), source: name, baseOffset: end + 1)
        let stored = try t.readLE(UInt32.self)
        let computed = CRC32C.mask(CRC32C.checksum(bytes[0...handle.size]))
        guard stored == computed else {
            throw TensorFlowError.blockChecksumMismatch(file: name, blockOffset: handle.offset, stored: stored, computed: computed)
        }
        switch type {
        case 0:
            return ByteReader(Array(bytes[0..<handle.size]), source: name, baseOffset: handle.offset)
        case 1:
            return ByteReader(try snappyDecompress(Array(bytes[0..<handle.size]), blockOffset: handle.offset),
                              source: "\(name) (snappy block at byte \(handle.offset))", baseOffset: 0)
        default:
            throw TensorFlowError.unsupportedCompression(file: name, blockOffset: handle.offset, type: type)
        }
    }

    /// Uncompresses a snappy block with libsnappy, capped at `maxBlockSize`.
    func snappyDecompress(_ compressed: [UInt8], blockOffset: Int) throws -> [UInt8] {
        var length = 0
        let ok = compressed.withUnsafeBufferPointer { src in
            src.withMemoryRebound(to: CChar.self) { snappy_uncompressed_length($0.baseAddress, $0.count, &length) == SNAPPY_OK }
        }
        guard ok, length <= Self.maxBlockSize else {
            throw TensorFlowError.malformedBlock(file: name, offset: blockOffset, reason: ok ? "snappy block expands to \(length) bytes, over the cap" : "snappy data is corrupt")
        }
        var out = [UInt8](repeating: 0, count: length)
        var produced = length
        let status = compressed.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in snappy_uncompress(s.baseAddress, s.count, d.baseAddress, &produced) }
                }
            }
        }
        guard status == SNAPPY_OK, produced == length else {
            throw TensorFlowError.malformedBlock(file: name, offset: blockOffset, reason: "snappy data is corrupt")
        }
        return out
    }

    /// Decodes a block's prefix-compressed entries and checks its restart array.
    func blockEntries(_ block: ByteReader) throws -> [(key: [UInt8], value: [UInt8])] {
        let offset = block.baseOffset
        let size = block.bytes.count
        func fail(_ reason: String) -> TensorFlowError { .malformedBlock(file: name, offset: offset, reason: reason) }
        guard size >= 4 else { throw fail("\(size) bytes cannot hold the restart count") }
        var tail = block
        try tail.seek(to: size - 4)
        let restartCount = Int(try tail.readLE(UInt32.self))
        let (restartBytes, o) = restartCount.multipliedReportingOverflow(by: 4)
        guard !o, restartBytes <= size - 4 else {
            throw fail("\(restartCount) restart points do not fit in \(size) bytes")
        }
        let entriesEnd = size - 4 - restartBytes
        var restarts: [Int] = []
        try tail.seek(to: entriesEnd)
        for _ in 0..<restartCount { restarts.append(Int(try tail.readLE(UInt32.self))) }

        var r = block
        var key: [UInt8] = []
        var starts = Set<Int>()
        var out: [(key: [UInt8], value: [UInt8])] = []
        while r.position < entriesEnd {
            let start = r.position
            starts.insert(start)
            let shared = Int(try r.readVarint(maxBytes: 5))
            let unshared = Int(try r.readVarint(maxBytes: 5))
            let valueLength = Int(try r.readVarint(maxBytes: 5))
            guard shared <= key.count else { throw fail("entry at byte \(offset + start) shares \(shared) key bytes, previous key has \(key.count)") }
            guard unshared <= entriesEnd - r.position, valueLength <= entriesEnd - r.position - unshared else {
                throw fail("entry at byte \(offset + start) runs past the entries (\(unshared)+\(valueLength) bytes)")
            }
            if restarts.contains(start) && shared != 0 {
                throw fail("entry at restart point \(offset + start) shares key bytes")
            }
            key = Array(key[0..<shared]) + Array(try r.readBytes(unshared))
            out.append((key, Array(try r.readBytes(valueLength))))
        }
        for p in restarts where !starts.contains(p) && !(p == 0 && entriesEnd == 0) {  // an empty block restarts at 0
            throw fail("restart point \(p) is not the start of an entry")
        }
        return out
    }
}

/// A key as text for messages (slice keys hold binary bytes).
func printable(_ key: [UInt8]) -> String {
    if let s = String(bytes: key, encoding: .utf8), !key.contains(0) { return s }
    return key.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
}
