import Foundation

/// Protobuf encoding for the writer: small messages built in memory; tensor payloads are
/// framed here (tag and length) and streamed by the caller.
struct ProtoEncoder {
    var bytes: [UInt8] = []

    static func varintSize(_ v: UInt64) -> Int {
        var v = v, n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }

    mutating func varint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func tag(_ field: Int, _ wire: Int) { varint(UInt64(field << 3 | wire)) }
    mutating func int(_ field: Int, _ v: Int64) { tag(field, 0); varint(UInt64(bitPattern: v)) }
    mutating func float(_ field: Int, _ v: Float) {
        tag(field, 5)
        withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 }
    }
    mutating func data(_ field: Int, _ b: [UInt8]) { tag(field, 2); varint(UInt64(b.count)); bytes += b }
    mutating func string(_ field: Int, _ s: String) { data(field, Array(s.utf8)) }
    mutating func message(_ field: Int, _ m: ProtoEncoder) { data(field, m.bytes) }
    mutating func packedInts(_ field: Int, _ values: [Int64]) {
        var p = ProtoEncoder()
        for v in values { p.varint(UInt64(bitPattern: v)) }
        data(field, p.bytes)
    }

    /// Tag and length of a length-delimited field of `length` bytes.
    static func header(_ field: Int, length: Int) -> [UInt8] {
        var e = ProtoEncoder()
        e.tag(field, 2)
        e.varint(UInt64(length))
        return e.bytes
    }
}
