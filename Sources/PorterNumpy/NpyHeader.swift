import Foundation
import PorterCore

/// The header of a `.npy` array (format versions 1.0, 2.0 and 3.0): magic `\x93NUMPY`,
/// version, a little-endian header length (u16 for 1.0, u32 after), then a Python dict
/// literal `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
struct NpyHeader: Equatable {
    var dtype: DType
    var byteOrder: ByteOrder
    var fortranOrder: Bool
    var shape: [Int]
    /// Offset of the first data byte from the start of the array.
    var dataOffset: Int
    /// An object array (`descr` `O`): its data is a pickle, not elements (`dtype` is meaningless).
    var isObject = false

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// Largest header Porter reads (numpy itself refuses headers over 10 000 bytes by default).
    static let maxHeaderBytes = 1 << 16

    var elementCount: Int { shape.reduce(1, *) }

    /// Parses the header at the start of `bytes` (which need hold only the header). An
    /// object array throws `NumpyError.objectArray` unless `allowObject`.
    static func parse(_ bytes: [UInt8], path: String, allowObject: Bool = false) throws -> NpyHeader {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw NumpyError.notNpy(path: path, reason: "no \\x93NUMPY magic")
        }
        let major = bytes[6]
        let length: Int, start: Int
        switch major {
        case 1:
            length = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NumpyError.badHeader(path: path, offset: 8, reason: "header length cut short") }
            length = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        default:
            throw NumpyError.badHeader(path: path, offset: 6, reason: "format version \(major).\(bytes[7]) is not 1, 2 or 3")
        }
        guard length <= maxHeaderBytes else { throw NumpyError.badHeader(path: path, offset: 8, reason: "header of \(length) bytes is larger than Porter reads") }
        guard bytes.count >= start + length else {
            throw NumpyError.badHeader(path: path, offset: start, reason: "header of \(length) bytes runs past the end (\(bytes.count - start) bytes)")
        }
        let textBytes = Array(bytes[start..<(start + length)])
        guard let text = String(validating: textBytes, as: UTF8.self) else {
            throw NumpyError.badHeader(path: path, offset: start, reason: "header is not text")
        }
        var p = LiteralParser(text: Array(text.unicodeScalars), path: path, base: start)
        let dict = try p.dictionary()
        guard case let .string(descr)? = dict["descr"] else {
            if dict["descr"] != nil { throw NumpyError.unsupportedDtype(path: path, descr: "a structured dtype") }
            throw NumpyError.badHeader(path: path, offset: start, reason: "no 'descr' key")
        }
        guard case let .bool(fortran)? = dict["fortran_order"] else { throw NumpyError.badHeader(path: path, offset: start, reason: "no boolean 'fortran_order'") }
        guard case let .tuple(shape)? = dict["shape"] else { throw NumpyError.badHeader(path: path, offset: start, reason: "no tuple 'shape'") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw NumpyError.badHeader(path: path, offset: start, reason: "negative dimension in shape \(shape)") }
        var count = 1
        for d in shape {
            let (m, o) = count.multipliedReportingOverflow(by: d)
            guard !o else { throw NumpyError.badHeader(path: path, offset: start, reason: "shape \(shape) overflows") }
            count = m
        }
        if allowObject, descr == "O" || descr == "|O" {
            return NpyHeader(dtype: .u8, byteOrder: .little, fortranOrder: fortran, shape: shape, dataOffset: start + length, isObject: true)
        }
        let (dtype, order) = try Self.dtype(descr, path: path)
        guard !count.multipliedReportingOverflow(by: dtype.byteSize).overflow else {
            throw NumpyError.badHeader(path: path, offset: start, reason: "shape \(shape) overflows")
        }
        return NpyHeader(dtype: dtype, byteOrder: order, fortranOrder: fortran, shape: shape, dataOffset: start + length)
    }

    /// `<f4`, `>i8`, `|u1`, `|b1`, …; `O` (object) is refused as unsafe.
    static func dtype(_ descr: String, path: String) throws -> (DType, ByteOrder) {
        var text = Substring(descr)
        var order = ByteOrder.little
        if let first = text.first, "<>|=".contains(first) {
            if first == ">" { order = .big }
            text = text.dropFirst()
        }
        if text == "O" || text.hasPrefix("O") { throw NumpyError.objectArray(path: path) }
        let table: [String: DType] = ["f2": .f16, "f4": .f32, "f8": .f64, "i1": .i8, "i2": .i16, "i4": .i32, "i8": .i64,
                                      "u1": .u8, "u2": .u16, "u4": .u32, "u8": .u64, "b1": .bool, "c8": .c64]
        guard let d = table[String(text)] else { throw NumpyError.unsupportedDtype(path: path, descr: descr) }
        return (d, d.byteSize == 1 ? .little : order)
    }

    /// Element strides for Fortran order (nil for C order).
    var strides: [Int]? {
        guard fortranOrder, shape.count > 1 else { return nil }
        var s: [Int] = []
        var step = 1
        for d in shape { s.append(step); step *= max(d, 1) }
        return s
    }
}

/// The Python literals a `.npy` header holds: a dict of string keys to strings, booleans
/// and tuples of integers. Anything else is an error naming the offset.
private struct LiteralParser {
    enum Value: Equatable { case string(String), bool(Bool), tuple([Int]), other }

    let text: [Unicode.Scalar]
    let path: String
    let base: Int
    var i = 0

    init(text: [Unicode.Scalar], path: String, base: Int) {
        self.text = text
        self.path = path
        self.base = base
    }

    func fail(_ why: String) -> NumpyError { .badHeader(path: path, offset: base + i, reason: why) }

    mutating func skipSpace() { while i < text.count, text[i].properties.isWhitespace { i += 1 } }

    mutating func expect(_ c: Unicode.Scalar) throws {
        skipSpace()
        guard i < text.count, text[i] == c else { throw fail("expected '\(c)'") }
        i += 1
    }

    mutating func peek() -> Unicode.Scalar? { skipSpace(); return i < text.count ? text[i] : nil }

    mutating func dictionary() throws -> [String: Value] {
        try expect("{")
        var out: [String: Value] = [:]
        while peek() != "}" {
            guard case let .string(key) = try value() else { throw fail("dict key is not a string") }
            try expect(":")
            out[key] = try value()
            guard out.count <= 64 else { throw fail("too many header keys") }
            if peek() == "," { i += 1 } else { break }
        }
        try expect("}")
        return out
    }

    mutating func value() throws -> Value {
        guard let c = peek() else { throw fail("header ends early") }
        if c == "'" || c == "\"" {
            i += 1
            var s = ""
            while i < text.count, text[i] != c {
                guard text[i] != "\\" else { throw fail("escapes in header strings are not supported") }
                s.unicodeScalars.append(text[i]); i += 1
            }
            guard i < text.count else { throw fail("unterminated string") }
            i += 1
            return .string(s)
        }
        if c == "(" {
            i += 1
            var items: [Int] = []
            while peek() != ")" {
                var digits = ""
                while let d = peek(), d.properties.numericType != nil || d == "L" {
                    if d != "L" { digits.unicodeScalars.append(d) }
                    i += 1
                }
                guard let n = Int(digits) else { throw fail("shape entry is not an integer") }
                items.append(n)
                guard items.count <= 64 else { throw fail("more than 64 dimensions") }
                if peek() == "," { i += 1 } else { break }
            }
            try expect(")")
            return .tuple(items)
        }
        for (word, v) in [("True", Value.bool(true)), ("False", Value.bool(false))] where text[i...].starts(with: word.unicodeScalars) {
            i += word.unicodeScalars.count
            return v
        }
        if c == "[" { throw NumpyError.unsupportedDtype(path: path, descr: "a structured dtype") }
        throw fail("unexpected '\(c)'")
    }
}
