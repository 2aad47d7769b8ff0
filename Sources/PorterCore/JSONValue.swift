import Foundation

/// A JSON value that keeps integers exact (configs carry vocab sizes and ids).
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int64.self) { self = .int(i); return }
        if let d = try? c.decode(Double.self) { self = .double(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
        if let o = try? c.decode([String: JSONValue].self) { self = .object(o); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case let .bool(b): try c.encode(b)
        case let .int(i): try c.encode(i)
        case let .double(d): try c.encode(d)
        case let .string(s): try c.encode(s)
        case let .array(a): try c.encode(a)
        case let .object(o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case let .object(o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? { if case let .string(s) = self { return s }; return nil }
    public var boolValue: Bool? { if case let .bool(b) = self { return b }; return nil }
    public var intValue: Int? {
        switch self {
        case let .int(i): return Int(exactly: i)
        case let .double(d): return Int(exactly: d)
        default: return nil
        }
    }
    public var doubleValue: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        default: return nil
        }
    }
    public var arrayValue: [JSONValue]? { if case let .array(a) = self { return a }; return nil }
    public var objectValue: [String: JSONValue]? { if case let .object(o) = self { return o }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// Parses JSON bytes.
    /// Encodes deterministically: sorted keys, optionally pretty-printed, in the layout of
    /// `JSONValue.encoder(pretty:)`, except that a float with an integral value keeps its
    /// `.0` (`1.0`, as Python's `json` writes it): Foundation's encoder writes `1`, which
    /// strict readers (transformers' config dataclasses) take for an int.
    public func encoded(pretty: Bool = true) throws -> Data {
        var out = ""
        try JSONValue.write(self, into: &out, pretty: pretty, indent: 0)
        return Data(out.utf8)
    }

    private static func write(_ v: JSONValue, into out: inout String, pretty: Bool, indent: Int) throws {
        switch v {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d):
            guard d.isFinite else {
                throw EncodingError.invalidValue(d, .init(codingPath: [], debugDescription: "JSON has no \(d)"))
            }
            out += d == 0 ? (d.sign == .minus ? "-0.0" : "0.0") : "\(d)"
        case let .string(s): writeString(s, into: &out)
        case let .array(items):
            out += "["
            if pretty { out += "\n" }
            for (i, item) in items.enumerated() {
                if pretty { out += String(repeating: "  ", count: indent + 1) }
                try write(item, into: &out, pretty: pretty, indent: indent + 1)
                if i < items.count - 1 { out += "," }
                if pretty { out += "\n" }
            }
            if pretty { out += items.isEmpty ? "\n" + String(repeating: "  ", count: indent) : String(repeating: "  ", count: indent) }
            out += "]"
        case let .object(members):
            out += "{"
            if pretty { out += "\n" }
            let sorted = members.sorted { $0.key < $1.key }
            for (i, (k, item)) in sorted.enumerated() {
                if pretty { out += String(repeating: "  ", count: indent + 1) }
                writeString(k, into: &out)
                out += pretty ? " : " : ":"
                try write(item, into: &out, pretty: pretty, indent: indent + 1)
                if i < sorted.count - 1 { out += "," }
                if pretty { out += "\n" }
            }
            if pretty { out += sorted.isEmpty ? "\n" + String(repeating: "  ", count: indent) : String(repeating: "  ", count: indent) }
            out += "}"
        }
    }

    /// `s` as a JSON string literal: quotes, backslashes and control characters escaped
    /// (the short forms where JSON has them, else `\u00xx`), everything else verbatim.
    public static func quoted(_ s: String) -> String {
        var out = ""
        writeString(s, into: &out)
        return out
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{c}": out += "\\f"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    /// Porter's JSON encoder: sorted keys, no escaped slashes, optionally pretty.
    public static func encoder(pretty: Bool = true) -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}
