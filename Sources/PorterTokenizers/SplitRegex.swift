import Foundation

/// A split pattern from a tokenizer file, run as written on ICU's regex engine (Foundation's
/// `NSRegularExpression`), which supports what the real patterns use: `\p{L}`, `\p{N}`, lookahead `(?!\S)`,
/// case-insensitive groups `(?i:…)`, counted repetition `\p{N}{1,3}`.
///
/// `tokenizers` runs these patterns on Oniguruma, whose shorthand classes are Unicode properties; ICU's
/// differ (`\s` misses U+000B and U+0085, `\w` adds Join_Control, `\h` means horizontal space). Porter
/// spells the shorthands out as Oniguruma defines them before compiling — a translation of the same pattern,
/// never a substitution of a "nearest known" one:
/// `\s` → `\p{White_Space}`, `\w` → `[\p{L}\p{M}\p{Nd}\p{Pc}]`, `\d` → `\p{Nd}`, `\h` → `[0-9A-Fa-f]`
/// (and the negated forms).
public final class SplitRegex: @unchecked Sendable {
    public let pattern: String
    let translated: String
    let regex: NSRegularExpression

    public enum Dialect: Sendable {
        /// Oniguruma, as `tokenizers` compiles `Split` / `Replace` patterns.
        case oniguruma
        /// Rust's `regex` crate, as the `Whitespace` pre-tokenizer uses (its `\w` includes Join_Control).
        case rustRegex
    }

    public init(_ pattern: String, dialect: Dialect = .oniguruma) throws {
        self.pattern = pattern
        self.translated = Self.translate(pattern, dialect: dialect)
        self.regex = try NSRegularExpression(pattern: translated, options: [])
    }

    static func translate(_ p: String, dialect: Dialect) -> String {
        let word = dialect == .oniguruma ? "\\p{L}\\p{M}\\p{Nd}\\p{Pc}" : "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}"
        var out = ""
        var it = p.unicodeScalars.makeIterator()
        while let c = it.next() {
            guard c == "\\" else { out.unicodeScalars.append(c); continue }
            guard let n = it.next() else { out += "\\"; break }
            switch n {
            case "s": out += "\\p{White_Space}"
            case "S": out += "\\P{White_Space}"
            case "w": out += "[\(word)]"
            case "W": out += "[^\(word)]"
            case "d": out += "\\p{Nd}"
            case "D": out += "\\P{Nd}"
            case "h" where dialect == .oniguruma: out += "[0-9A-Fa-f]"
            case "H" where dialect == .oniguruma: out += "[^0-9A-Fa-f]"
            default:
                out += "\\"
                out.unicodeScalars.append(n)
            }
        }
        return out
    }

    /// Matched ranges over `scalars`, in scalar indices, left to right (empty matches dropped).
    public func matches(in scalars: [Unicode.Scalar]) throws -> [Range<Int>] {
        if scalars.isEmpty { return [] }
        // UTF-16 text for ICU, and where each UTF-16 unit's scalar starts.
        var units = 0
        var unitToScalar: [Int32] = []
        unitToScalar.reserveCapacity(scalars.count + 1)
        for (i, s) in scalars.enumerated() {
            let w = UTF16.width(s)
            units += w
            unitToScalar.append(Int32(i))
            if w == 2 { unitToScalar.append(Int32(i)) }
        }
        unitToScalar.append(Int32(scalars.count))
        let identity = units == scalars.count  // no surrogate pairs: UTF-16 index == scalar index
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        let text = String(view)
        var out: [Range<Int>] = []
        let started = Date()
        let budget = TokenizerLimits.regexSeconds(forScalars: scalars.count)
        var timedOut = false
        var calls = 0
        regex.enumerateMatches(in: text, options: [.reportProgress],
                               range: NSRange(location: 0, length: units)) { result, _, stop in
            if let r = result?.range, r.location != NSNotFound, r.length > 0 {
                let lo = identity ? r.location : Int(unitToScalar[r.location])
                let hi = identity ? r.location + r.length : Int(unitToScalar[r.location + r.length])
                if hi > lo { out.append(lo..<hi) }
            }
            // ICU calls back for every match and, with .reportProgress, periodically inside a long one.
            calls += 1
            if calls & 63 == 0, Date().timeIntervalSince(started) > budget {
                timedOut = true
                stop.pointee = true
            }
        }
        if timedOut { throw TokenizerError.regexTimeLimit(pattern: pattern, seconds: budget) }
        return out
    }
}
