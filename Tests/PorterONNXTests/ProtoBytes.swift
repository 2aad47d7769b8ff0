import Foundation

/// A small protobuf encoder for building malformed ONNX files in tests (field numbers of
/// onnx.proto), independent of the reader's own scanner.
struct PB {
    var bytes: [UInt8] = []

    static func varint(_ v: UInt64) -> [UInt8] {
        var v = v, out: [UInt8] = []
        repeat {
            var b = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { b |= 0x80 }
            out.append(b)
        } while v != 0
        return out
    }

    mutating func tag(_ field: Int, _ wire: Int) { bytes += PB.varint(UInt64(field << 3 | wire)) }
    mutating func int(_ field: Int, _ v: Int64) { tag(field, 0); bytes += PB.varint(UInt64(bitPattern: v)) }
    mutating func data(_ field: Int, _ b: [UInt8]) { tag(field, 2); bytes += PB.varint(UInt64(b.count)) + b }
    mutating func string(_ field: Int, _ s: String) { data(field, Array(s.utf8)) }
    mutating func message(_ field: Int, _ m: PB) { data(field, m.bytes) }
    mutating func float(_ field: Int, _ f: Float) {
        tag(field, 5)
        withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes += $0 }
    }

    /// A TensorProto.
    static func tensor(_ name: String?, dims: [Int64], type: Int64, raw: [UInt8]? = nil, _ extra: (inout PB) -> Void = { _ in }) -> PB {
        var t = PB()
        for d in dims { t.int(1, d) }
        t.int(2, type)
        if let name { t.string(8, name) }
        if let raw { t.data(9, raw) }
        extra(&t)
        return t
    }

    /// A ModelProto (IR 8, opset 17) whose graph holds `initializers` and `nodes`.
    static func model(initializers: [PB] = [], nodes: [PB] = []) -> [UInt8] {
        var g = PB()
        for n in nodes { g.message(1, n) }
        g.string(2, "g")
        for t in initializers { g.message(5, t) }
        var m = PB()
        m.int(1, 8)
        m.string(2, "test")
        var op = PB()
        op.int(2, 17)
        m.message(8, op)
        m.message(7, g)
        return m.bytes
    }

    static func externalEntry(_ key: String, _ value: String) -> PB {
        var e = PB()
        e.string(1, key)
        e.string(2, value)
        return e
    }
}
