/// Recomputes the masked CRC-32C trailers of a LevelDB table (TensorFlow's `.index`) so that
/// mutated blocks reach the block, entry and protobuf parsers instead of stopping at the
/// checksum check (the same idea as the robustness tests' `LevelDBChecksums`). Walks what it
/// can: the footer's metaindex and index handles, and the data-block handles the index block
/// lists; anything malformed is left as it is for the reader to reject.
public enum LevelDBChecksums {
    private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32c(_ bytes: ArraySlice<UInt8>, _ extra: UInt8) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        c = table[Int((c ^ UInt32(extra)) & 0xFF)] ^ (c >> 8)
        let crc = c ^ 0xFFFF_FFFF
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    static func varint(_ b: [UInt8], _ p: inout Int, limit: Int) -> Int? {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while p < limit, shift < 64 {
            let byte = b[p]; p += 1
            v |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return Int(exactly: v) }
            shift += 7
        }
        return nil
    }

    /// (offset, size) of a block whose contents and 5-byte trailer lie inside the table data.
    static func handle(_ b: [UInt8], _ p: inout Int, limit: Int, dataEnd: Int) -> (Int, Int)? {
        guard let off = varint(b, &p, limit: limit), let size = varint(b, &p, limit: limit),
              off >= 0, size >= 0, off <= dataEnd, size <= dataEnd - off, dataEnd - off - size >= 5 else { return nil }
        return (off, size)
    }

    static func fix(_ b: inout [UInt8], _ block: (Int, Int)) {
        let (off, size) = block
        let crc = crc32c(b[off..<(off + size)], b[off + size])
        for k in 0..<4 { b[off + size + 1 + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
    }

    public static func repair(_ b: inout [UInt8]) {
        guard b.count >= 48 else { return }
        let dataEnd = b.count - 48
        var p = dataEnd
        guard let meta = handle(b, &p, limit: b.count - 8, dataEnd: dataEnd),
              let index = handle(b, &p, limit: b.count - 8, dataEnd: dataEnd) else { return }
        fix(&b, meta)
        // The index block: prefix-compressed entries whose values are data-block handles.
        let (off, size) = index
        if size >= 4 {
            let restarts = Int(b[off + size - 4]) | Int(b[off + size - 3]) << 8 | Int(b[off + size - 2]) << 16 | Int(b[off + size - 1]) << 24
            if restarts <= (size - 4) / 4 {
                let end = off + size - 4 - 4 * restarts
                var q = off
                var count = 0
                while q < end, count < 100_000 {
                    count += 1
                    guard varint(b, &q, limit: end) != nil, let unshared = varint(b, &q, limit: end),
                          let valueLength = varint(b, &q, limit: end), unshared <= end - q else { break }
                    q += unshared
                    guard valueLength <= end - q else { break }
                    var v = q
                    if let data = handle(b, &v, limit: q + valueLength, dataEnd: dataEnd) { fix(&b, data) }
                    q += valueLength
                }
            }
        }
        fix(&b, index)  // last: a data block may overlap the index block's bytes
    }
}
