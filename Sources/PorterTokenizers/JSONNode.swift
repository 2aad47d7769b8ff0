import Foundation

/// A JSON value from `JSONSerialization` together with the key path it was found at, so every error can
/// name where in the file it is (`pre_tokenizer.pretokenizers[1].pattern.Regex`).
struct JSONNode {
    let value: Any
    let path: String
    let file: String

    static func parse(_ data: Data, file: String) throws -> JSONNode {
        let any: Any
        do {
            any = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw TokenizerError.notJSON(file: file, reason: (error as NSError).localizedDescription)
        }
        return JSONNode(value: any, path: "", file: file)
    }

    private func child(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    var isNull: Bool { value is NSNull }

    func object() throws -> [String: Any] {
        guard let o = value as? [String: Any] else {
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
        // JSONSerialization gives NSNumber for both; a bool is the CFBoolean kind.
        if let n = value as? NSNumber, isBoolean(n) { return n.boolValue }
        throw TokenizerError.wrongType(file: file, path: path, expected: "true or false")
    }

    func int(min: Int = Int.min, max: Int = Int.max) throws -> Int {
        guard let n = value as? NSNumber, !isBoolean(n) else {
            throw TokenizerError.wrongType(file: file, path: path, expected: "an integer")
        }
        let d = n.doubleValue
        guard d.rounded() == d, d >= Double(min), d <= Double(max), d.magnitude < 9.0e15 else {
            throw TokenizerError.invalidValue(file: file, path: path, reason: "\(n) is not an integer in \(min)...\(max)")
        }
        return n.intValue
    }

    func double() throws -> Double {
        guard let n = value as? NSNumber, !isBoolean(n) else {
            throw TokenizerError.wrongType(file: file, path: path, expected: "a number")
        }
        // swift-corelibs-foundation hands long mantissas over as NSDecimalNumber, whose doubleValue is off by
        // an ulp or two; the decimal string parsed by Double is correctly rounded (unigram scores tie-break on it).
        var d = n.doubleValue
        if let dec = n as? NSDecimalNumber, let exact = Double(dec.stringValue) { d = exact }
        guard d.isFinite else { throw TokenizerError.invalidValue(file: file, path: path, reason: "not a finite number") }
        return d
    }

    func string(_ key: String, default def: String) throws -> String { try optional(key)?.string() ?? def }
    func bool(_ key: String, default def: Bool) throws -> Bool { try optional(key)?.bool() ?? def }
    func optionalString(_ key: String) throws -> String? { try optional(key)?.string() }

    func invalid(_ reason: String) -> TokenizerError { .invalidValue(file: file, path: path, reason: reason) }
    func keyPath(_ key: String) -> String { child(key) }
}

func isBoolean(_ n: NSNumber) -> Bool {
    #if canImport(Darwin)
    return CFGetTypeID(n) == CFBooleanGetTypeID()
    #else
    // swift-corelibs-foundation's JSONSerialization makes booleans as NSNumber(value: Bool), objCType "c";
    // integers come back as "q" (Int64) or "Q".
    return n.objCType.pointee == 0x63
    #endif
}
