import Foundation

/// Bounds-checked reading of pickle operands; errors name the source and absolute offset.
struct PickleCursor {
    let bytes: [UInt8]
    let source: String
    let baseOffset: Int
    var position: Int

    var absolute: Int { baseOffset + position }
    var remaining: Int { bytes.count - position }

    func truncated(_ what: String) -> PickleError { .truncated(source: source, offset: absolute, what: what) }

    mutating func u8(_ what: String) throws -> UInt8 {
        guard position < bytes.count else { throw truncated(what) }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func le(_ size: Int, _ what: String) throws -> UInt64 {
        guard size <= remaining else { throw truncated(what) }
        var v: UInt64 = 0
        for i in 0..<size { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
        position += size
        return v
    }

    mutating func take(_ count: UInt64, _ what: String) throws -> ArraySlice<UInt8> {
        guard count <= UInt64(remaining) else { throw truncated("\(what) of \(count) bytes") }
        let n = Int(count)
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    /// A text operand up to (not including) the newline.
    mutating func line(_ what: String) throws -> ArraySlice<UInt8> {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw truncated(what) }
        defer { position = end + 1 }
        return bytes[position..<end]
    }
}

/// Decoders for pickle's text operands.
enum PickleText {
    static func string(_ bytes: ArraySlice<UInt8>) -> String {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        return String(bytes.map { Character(Unicode.Scalar($0)) })  // latin-1
    }

    static func ascii(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: [" ", "\r"])
    }

    /// Little-endian two's-complement bytes → an int when it fits, else a big int.
    static func long(fromLittleEndian bytes: [UInt8]) -> PickleValue {
        if bytes.isEmpty { return .int(0) }
        let big = PickleBigInt(littleEndianBytes: bytes)
        if let v = big.int64Value { return .int(v) }
        return .bigInt(big)
    }

    /// A decimal integer of any width (`INT`, `LONG`), or nil when it is not one.
    static func decimal(_ text: String) -> PickleValue? {
        var t = text
        if t.hasSuffix("L") { t.removeLast() }
        if let v = Int64(t) { return .int(v) }
        var negative = false
        var digits = Substring(t)
        if digits.first == "-" { negative = true; digits = digits.dropFirst() } else if digits.first == "+" { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 20_000, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        // Magnitude in base 2^32 limbs, little-endian.
        var limbs: [UInt32] = [0]
        for ch in digits.utf8 {
            var carry = UInt64(ch - 48)
            for i in 0..<limbs.count {
                let v = UInt64(limbs[i]) * 10 + carry
                limbs[i] = UInt32(truncatingIfNeeded: v)
                carry = v >> 32
            }
            if carry > 0 { limbs.append(UInt32(carry)) }
        }
        var bytes: [UInt8] = []
        for l in limbs { for b in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: l >> (8 * UInt32(b)))) } }
        bytes.append(0)  // sign byte for the magnitude
        if negative {
            // Two's complement: invert and add one.
            var carry = 1
            for i in 0..<bytes.count {
                let v = Int(~bytes[i]) + carry
                bytes[i] = UInt8(truncatingIfNeeded: v)
                carry = v >> 8
            }
        }
        return long(fromLittleEndian: bytes)
    }

    /// Python `repr` of a byte string (`STRING`): quoted, with backslash escapes.
    static func quoted(_ raw: ArraySlice<UInt8>) -> [UInt8]? {
        var b = Array(raw)
        while let last = b.last, last == 0x0D || last == 0x20 { b.removeLast() }
        guard b.count >= 2, let q = b.first, (q == 0x27 || q == 0x22), b.last == q else { return nil }
        let body = b[1..<(b.count - 1)]
        var out: [UInt8] = []
        var i = body.startIndex
        while i < body.endIndex {
            let c = body[i]
            if c != 0x5C { out.append(c); i += 1; continue }
            i += 1
            guard i < body.endIndex else { return nil }
            let e = body[i]
            i += 1
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "v"): out.append(0x0B)
            case UInt8(ascii: "x"):
                guard i + 2 <= body.endIndex, let v = UInt8(String(decoding: body[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
                out.append(v)
                i += 2
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                var v = Int(e - 48)
                var n = 1
                while n < 3, i < body.endIndex, (48...55).contains(body[i]) { v = v * 8 + Int(body[i] - 48); i += 1; n += 1 }
                out.append(UInt8(truncatingIfNeeded: v))
            default: out.append(e)  // \\ \' \" and unknown escapes keep the character
            }
        }
        return out
    }

    /// `raw-unicode-escape` text (`UNICODE`): latin-1 bytes with `\uXXXX` / `\UXXXXXXXX` escapes.
    static func rawUnicodeEscape(_ raw: ArraySlice<UInt8>) -> String? {
        var scalars = String.UnicodeScalarView()
        let b = Array(raw)
        var i = 0
        while i < b.count {
            if b[i] == 0x5C, i + 1 < b.count, b[i + 1] == UInt8(ascii: "u") || b[i + 1] == UInt8(ascii: "U") {
                let n = b[i + 1] == UInt8(ascii: "u") ? 4 : 8
                guard i + 2 + n <= b.count, let v = UInt32(String(decoding: b[(i + 2)..<(i + 2 + n)], as: UTF8.self), radix: 16),
                      let s = Unicode.Scalar(v) else { return nil }
                scalars.append(s)
                i += 2 + n
            } else {
                scalars.append(Unicode.Scalar(b[i]))
                i += 1
            }
        }
        return String(scalars)
    }
}
