import Foundation

/// A JSON number as written, so ids are read exactly and scores correctly rounded (`Double(text)`).
struct JSONNumber: Sendable {
    let text: String
    var isInteger: Bool { !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) }
}

/// A JSON object with its members in file order. Keys are compared byte for byte (`TokenKey`): Swift's
/// `String` equality is canonical equivalence, so a `[String: Any]` would merge `"é"` and `"e\u{301}"`,
/// two different vocabulary entries. A key given twice keeps its last value (as serde's maps do).
final class JSONObject: @unchecked Sendable {
    private(set) var members: [(key: String, value: Any)] = []
    private var index: [TokenKey: Int] = [:]

    func set(_ key: String, _ value: Any) {
        if let i = index[TokenKey(key)] { members[i].value = value; return }
        index[TokenKey(key)] = members.count
        members.append((key, value))
    }

    subscript(_ key: String) -> Any? { index[TokenKey(key)].map { members[$0].value } }
    var count: Int { members.count }
}

/// Porter's JSON reader for tokenizer files (RFC 8259): UTF-8 only, strings with every escape (a lone
/// surrogate is refused), numbers kept as text, nesting at most `maxDepth`. Errors name the byte offset.
struct JSONText {
    static let maxDepth = 512

    struct Failure: Error { let reason: String }

    private let b: [UInt8]
    private var i = 0

    static func parse(_ data: Data) throws -> Any {
        var p = JSONText(b: [UInt8](data))
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == p.b.count else { throw p.fail("unexpected text after the JSON value") }
        return v
    }

    private init(b: [UInt8]) {
        // A UTF-8 byte order mark is allowed before the text (as JSONSerialization allows it).
        self.b = b
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
    }

    private func fail(_ what: String) -> Failure { Failure(reason: "byte \(i): \(what)") }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func value(depth: Int) throws -> Any {
        guard i < b.count else { throw fail("the text ends where a value should be") }
        switch b[i] {
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth)") }
            i += 1
            let o = JSONObject()
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return o }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
                let k = try string()
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                i += 1
                skipSpace()
                o.set(k, try value(depth: depth + 1))
                skipSpace()
                guard i < b.count else { throw fail("the text ends inside an object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return o }
                throw fail("expected ',' or '}' in an object")
            }
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw fail("nested deeper than \(Self.maxDepth)") }
            i += 1
            var a: [Any] = []
            skipSpace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return a }
            while true {
                skipSpace()
                a.append(try value(depth: depth + 1))
                skipSpace()
                guard i < b.count else { throw fail("the text ends inside an array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return a }
                throw fail("expected ',' or ']' in an array")
            }
        case UInt8(ascii: "\""): return try string()
        case UInt8(ascii: "t"): try word("true"); return true
        case UInt8(ascii: "f"): try word("false"); return false
        case UInt8(ascii: "n"): try word("null"); return NSNull()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character")
        }
    }

    private mutating func word(_ w: StaticString) throws {
        let n = w.utf8CodeUnitCount
        guard i + n <= b.count else { throw fail("unexpected end of text") }
        let ok = w.withUTF8Buffer { buf in (0..<n).allSatisfy { b[i + $0] == buf[$0] } }
        guard ok else { throw fail("unexpected word") }
        i += n
    }

    private mutating func number() throws -> JSONNumber {
        let start = i
        func digits() -> Int { let s = i; while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }; return i - s }
        if b[i] == UInt8(ascii: "-") { i += 1 }
        guard i < b.count else { throw fail("a number ends after '-'") }
        if b[i] == UInt8(ascii: "0") { i += 1 } else if digits() == 0 { throw fail("a number needs digits") }
        if i < b.count, b[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw fail("a number needs digits after '.'") }
        }
        if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
            i += 1
            if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw fail("a number needs digits in its exponent") }
        }
        return JSONNumber(text: String(decoding: b[start..<i], as: UTF8.self))
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count else { throw fail("a \\u escape needs four hex digits") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: throw fail("a \\u escape needs four hex digits")
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func string() throws -> String {
        i += 1  // the opening quote
        var out: [UInt8] = []
        var runStart = i
        while true {
            guard i < b.count else { throw fail("the text ends inside a string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                out += b[runStart..<i]
                i += 1
                break
            }
            if c < 0x20 { throw fail("a control character inside a string must be escaped") }
            if c != UInt8(ascii: "\\") { i += 1; continue }
            out += b[runStart..<i]
            i += 1
            guard i < b.count else { throw fail("the text ends inside an escape") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var u = try hex4()
                if (0xD800...0xDBFF).contains(u) {
                    guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else { throw fail("a lone surrogate \\u escape") }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw fail("a lone surrogate \\u escape") }
                    u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(u) {
                    throw fail("a lone surrogate \\u escape")
                }
                guard let scalar = Unicode.Scalar(u) else { throw fail("an invalid \\u escape") }
                out += Array(String(Character(scalar)).utf8)
            default: throw fail("an unknown escape")
            }
            runStart = i
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("a string is not valid UTF-8") }
        return s
    }
}
