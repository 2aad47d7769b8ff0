import Foundation
import PorterCore

/// Format version 1 of `model.json` stored provenance steps as prose (`rename a → b`,
/// `transpose [1, 0]`, `split axis 0 sizes [4, 4, 4] part 2/3 → q`). This is the one
/// place that prose is read: each step is converted to a `TransformStep` once, when a
/// version-1 file is loaded. The spellings are exactly those Porter wrote at version 1.
enum LegacyProvenance {
    /// The typed step for one version-1 step, or nil when the text is not one Porter wrote.
    static func step(_ text: String) -> TransformStep? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "keep" { return .keep }
        if t.hasPrefix("unmapped") { return .unmapped }
        if t == "graph constant" { return .graphConstant }
        if t.hasPrefix("alias of ") { return .alias(of: String(t.dropFirst("alias of ".count))) }
        if t.hasPrefix("stored separately: ") { return .ownCopy(reason: String(t.dropFirst("stored separately: ".count))) }
        if t.hasPrefix("rename ") {
            let body = t.dropFirst("rename ".count)
            guard let arrow = body.range(of: " → ") else { return nil }
            return .rename(from: String(body[..<arrow.lowerBound]), to: String(body[arrow.upperBound...]))
        }
        if t.hasPrefix("transpose ") { return intList(t.dropFirst("transpose ".count)).map { .transpose(perm: $0) } }
        if t.hasPrefix("reshape ") { return intList(t.dropFirst("reshape ".count)).map { .reshape(shape: $0) } }
        if t.hasPrefix("cast ") {
            let pair = t.dropFirst("cast ".count).split(separator: "→", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let from = DType(rawValue: pair[0]), let to = DType(rawValue: pair[1]) else { return nil }
            return .cast(from: from, to: to)
        }
        if t.hasPrefix("split axis ") {
            // split axis A [sizes [..]] part i/n [→ NAME]
            var rest = Substring(t.dropFirst("split axis ".count))
            var into: String?
            if let arrow = rest.range(of: " → ") {
                into = String(rest[arrow.upperBound...])
                rest = rest[..<arrow.lowerBound]
            }
            guard let space = rest.firstIndex(of: " "), let axis = Int(rest[..<space]) else { return nil }
            rest = rest[rest.index(after: space)...]
            var sizes: [Int]?
            if rest.hasPrefix("sizes ") {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                sizes = intList(rest[rest.index(rest.startIndex, offsetBy: "sizes ".count)...close])
                guard sizes != nil else { return nil }
                rest = rest[rest.index(after: close)...].drop(while: { $0 == " " })
            }
            guard rest.hasPrefix("part ") else { return nil }
            let fraction = rest.dropFirst("part ".count).split(separator: "/")
            guard fraction.count == 2, let part = Int(fraction[0]), let of = Int(fraction[1]), part >= 1, part <= of else { return nil }
            if let sizes, sizes.count != of { return nil }
            return .split(axis: axis, sizes: sizes, index: part - 1, count: of, into: into)
        }
        if t.hasPrefix("concat axis ") {
            var rest = Substring(t.dropFirst("concat axis ".count))
            guard let space = rest.firstIndex(of: " "), let axis = Int(rest[..<space]) else { return nil }
            rest = rest[rest.index(after: space)...]
            guard rest.hasPrefix("of ["), let close = rest.firstIndex(of: "]") else { return nil }
            let names = rest[rest.index(rest.startIndex, offsetBy: 4)..<close]
                .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !names.isEmpty else { return nil }
            let after = rest[rest.index(after: close)...]
            let into = after.range(of: " → ").map { String(after[$0.upperBound...]) } ?? ""
            return .concat(axis: axis, sources: names, into: into)
        }
        if t.hasPrefix("tie ") {
            let pair = t.dropFirst("tie ".count).components(separatedBy: " = ")
            guard pair.count == 2 else { return nil }
            return .tie(name: pair[0], to: pair[1])
        }
        return nil
    }

    /// `[1, 0]` → [1, 0].
    static func intList<S: StringProtocol>(_ text: S) -> [Int]? {
        let s = text.trimmingCharacters(in: .whitespaces)
        guard s.hasPrefix("["), s.hasSuffix("]") else { return nil }
        let inner = s.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        if inner.isEmpty { return [] }
        var out: [Int] = []
        for part in inner.split(separator: ",") {
            guard let v = Int(part.trimmingCharacters(in: .whitespaces)) else { return nil }
            out.append(v)
        }
        return out
    }

    /// Rewrites a version-1 document's prose steps (`tensors[i].provenance.transforms[j]`)
    /// as typed steps, giving JSON the current schema decodes. Everything else is unchanged.
    static func upgrade(_ data: Data, file: String) throws -> Data {
        guard var root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw PorterModelError.invalidModelJSON(file: file, keyPath: "", reason: "not a JSON object")
        }
        guard var tensors = root["tensors"] as? [Any] else { return data }  // the decoder names what is missing
        let encoder = JSONEncoder()
        for (i, item) in tensors.enumerated() {
            guard var tensor = item as? [String: Any], var provenance = tensor["provenance"] as? [String: Any],
                  let steps = provenance["transforms"] as? [Any] else { continue }
            var typed: [Any] = []
            for (j, raw) in steps.enumerated() {
                let keyPath = "tensors[\(i)].provenance.transforms[\(j)]"
                guard let text = raw as? String else {
                    throw PorterModelError.invalidModelJSON(file: file, keyPath: keyPath, reason: "format version 1 stores steps as strings")
                }
                guard let step = step(text) else {
                    throw PorterModelError.legacyStep(file: file, keyPath: keyPath, version: 1, text: text)
                }
                typed.append(try JSONSerialization.jsonObject(with: encoder.encode(step)))
            }
            provenance["transforms"] = typed
            tensor["provenance"] = provenance
            tensors[i] = tensor
        }
        root["tensors"] = tensors
        return try JSONSerialization.data(withJSONObject: root)
    }
}
