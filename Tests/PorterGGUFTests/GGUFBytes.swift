import Foundation
@testable import PorterGGUF

/// Builds GGUF bytes field by field, so malformed-file tests can break exactly one field.
struct GGUFBytes {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
    mutating func pad(to alignment: Int) { while bytes.count % alignment != 0 { bytes.append(0) } }

    /// Header: magic, version, tensor count, key count.
    static func header(version: UInt32 = 3, tensors: UInt64, keys: UInt64) -> GGUFBytes {
        var b = GGUFBytes()
        b.bytes = Array("GGUF".utf8)
        b.u32(version)
        b.u64(tensors)
        b.u64(keys)
        return b
    }

    mutating func keyU32(_ key: String, _ v: UInt32) { string(key); u32(GGUFValueType.uint32.rawValue); u32(v) }
    mutating func keyString(_ key: String, _ v: String) { string(key); u32(GGUFValueType.string.rawValue); string(v) }

    mutating func tensorInfo(_ name: String, dims: [UInt64], type: UInt32 = 0, offset: UInt64) {
        string(name)
        u32(UInt32(dims.count))
        for d in dims { u64(d) }
        u32(type)
        u64(offset)
    }

    /// A valid file: `count` F32 tensors of `elements` floats each, packed with 32-byte alignment.
    static func valid(tensors count: Int = 2, elements: Int = 8) -> [UInt8] {
        var b = header(tensors: UInt64(count), keys: 1)
        b.keyString("general.architecture", "test")
        for i in 0..<count { b.tensorInfo("t\(i)", dims: [UInt64(elements)], offset: UInt64(i * ((elements * 4 + 31) / 32 * 32))) }
        b.pad(to: 32)
        for i in 0..<count {
            for e in 0..<elements { b.u32(Float(i * 100 + e).bitPattern) }
            b.pad(to: 32)
        }
        return b.bytes
    }
}
