import Foundation

/// A JSON value from `JSONText` (strings, `JSONNumber`, `Bool`, `NSNull`, arrays, `JSONObject`) together
/// with the key path it was found at, so every error can name where in the file it is
/// (`pre_tokenizer.pretokenizers[1].pattern.Regex`).
struct JSONNode {
    let value: Any
    let path: String
    let file: String

    static func parse(_ data: Data, file: String) throws -> JSONNode {
        let any: Any
        do {
            any = try JSONText.parse(data)
        } catch let e as JSONText.Failure {
            throw TokenizerError.notJSON(file: file, reason: e.reason)
        }
        return JSONNode(value: any, path: "", file: file)
    }

    private func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    var isNull: Bool { value is NSNull }

    func object() throws -> JSONObject {
        guard let o = value as? JSONObject else {
            throw TokenizerError.wrongType(file: file, path: path.isEmpty ? "(top level)" : path, expected: "an object")
        }
        return o
    }

    /// The value at `key`, or nil when absent or null.
    func optional(_ key: String) throws -> JSONNode? {
        let o = try object()
        guard let v = o[key], !(v is NSNull) else { return nil }
        return JSONNode(value: v, path: child(key), file: file)
    }

    func required(_ key: String) throws -> JSONNode {
        guard let n = try optional(key) else { throw TokenizerError.missingKey(file: file, path: child(key)) }
        return n
    }

    func has(_ key: String) throws -> Bool { try object()[key] != nil }

    func array(max: Int = Int.max) throws -> [JSONNode] {
        guard let a = value as? [Any] else { throw TokenizerError.wrongType(file: file, path: path, expected: "an array") }
        if a.count > max { throw TokenizerError.tooLarge(file: file, path: path, count: a.count, limit: max) }
        return a.enumerated().map { JSONNode(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    func string() throws -> String {
        guard let s = value as? String else { throw TokenizerError.wrongType(file: file, path: path, expected: "a string") }
        return s
    }

    func bool() throws -> Bool {
        if let b = value as? Bool { return b }
        throw TokenizerError.wrongType(file: file, path: path, expected: "true or false")
    }

    func int(min: Int = Int.min, max: Int = Int.max) throws -> Int {
        guard let n = value as? JSONNumber else {
            throw TokenizerError.wrongType(file: file, path: path, expected: "an integer")
        }
        let whole: Int?
        if n.isInteger { whole = Int(n.text) } else if let d = Double(n.text), d.rounded() == d, d.magnitude < 9.0e15 { whole = Int(d) } else { whole = nil }
        guard let i = whole, i >= min, i <= max else {
            throw TokenizerError.invalidValue(file: file, path: path, reason: "\(n.text) is not an integer in \(min)...\(max)")
        }
        return i
    }

    func double() throws -> Double {
        guard let n = value as? JSONNumber else {
            throw TokenizerError.wrongType(file: file, path: path, expected: "a number")
        }
        // The literal parsed by Double is correctly rounded (unigram scores tie-break on it).
        guard let d = Double(n.text), d.isFinite else { throw TokenizerError.invalidValue(file: file, path: path, reason: "not a finite number") }
        return d
    }

    func string(_ key: String, default def: String) throws -> String { try optional(key)?.string() ?? def }
    func bool(_ key: String, default def: Bool) throws -> Bool { try optional(key)?.bool() ?? def }
    func optionalString(_ key: String) throws -> String? { try optional(key)?.string() }

    func invalid(_ reason: String) -> TokenizerError { .invalidValue(file: file, path: path, reason: reason) }
    func keyPath(_ key: String) -> String { child(key) }
}
