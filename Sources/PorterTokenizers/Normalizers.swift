import Foundation

/// The normalizers of `tokenizer.json` Porter runs (`normalizer.type`). Anything else is refused.
public indirect enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case stripAccents
    case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool?, lowercase: Bool)
    case prepend(String)
    case replace(pattern: ReplacePattern, content: String)
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])
    /// `tokenizers`' `Precompiled`: SentencePiece rules applied per grapheme cluster.
    case precompiled(PrecompiledCharsmap)
    /// sentencepiece's own use of the same rules (a `tokenizer.model`): longest match at each position.
    case sentencePieceRules(PrecompiledCharsmap)
    /// `tokenizers`' `Nmt`: drops ASCII control characters, folds other whitespace-like code points to a space.
    case nmt

    public enum ReplacePattern: Sendable {
        case string(String)
        case regex(SplitRegex)
    }

    public func apply(_ t: inout NormalizedText) throws {
        switch self {
        case .nfc: UnicodeForms.apply(&t, form: .nfc)
        case .nfd: UnicodeForms.apply(&t, form: .nfd)
        case .nfkc: UnicodeForms.apply(&t, form: .nfkc)
        case .nfkd: UnicodeForms.apply(&t, form: .nfkd)
        case .lowercase: Self.lowercase(&t)
        case .stripAccents: t.filter { !CharClass.isMark($0) }
        case let .bert(cleanText, chinese, strip, lower):
            if cleanText {
                t.mapScalars { c in
                    if c.value == 0 || c.value == 0xFFFD || CharClass.isBertControl(c) { return [] }
                    if CharClass.isBertWhitespace(c) { return c == " " ? nil : [" "] }
                    return nil
                }
            }
            if chinese {
                t.mapScalars { CharClass.isChineseChar($0) ? [" ", $0, " "] : nil }
            }
            if strip ?? lower {
                UnicodeForms.apply(&t, form: .nfd)
                t.filter { !CharClass.isMark($0) }
            }
            if lower { Self.lowercase(&t) }
        case let .prepend(p):
            t.prepend(Array(p.unicodeScalars))
        case let .replace(pattern, content):
            let matches: [Range<Int>]
            switch pattern {
            case let .string(s): matches = t.occurrences(of: Array(s.unicodeScalars))
            case let .regex(r): matches = try r.matches(in: t.scalars)
            }
            t.replace(matches, with: Array(content.unicodeScalars))
        case let .strip(left, right):
            var lo = 0, hi = t.count
            if left { while lo < hi && t.scalars[lo].properties.isWhitespace { lo += 1 } }
            if right { while hi > lo && t.scalars[hi - 1].properties.isWhitespace { hi -= 1 } }
            if lo != 0 || hi != t.count { t = t.slice(lo, hi) }
        case let .sequence(list):
            for n in list { try n.apply(&t) }
        case let .precompiled(rules): rules.graphemes(&t)
        case let .sentencePieceRules(rules): rules.sentencePiece(&t)
        case .nmt:
            t.mapScalars { c in
                switch c.value {
                case 0x01...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x8F, 0x9F: return []
                case 0x09, 0x0A, 0x0C, 0x0D, 0x1680, 0x200B...0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF, 0xFFFD: return [" "]
                default: return nil
                }
            }
        }
    }

    static func lowercase(_ t: inout NormalizedText) {
        t.mapScalars { c in
            if c.isASCII {
                let v = c.value
                return (v >= 65 && v <= 90) ? [Unicode.Scalar(v + 32)!] : nil
            }
            let m = c.properties.lowercaseMapping
            if m.unicodeScalars.count == 1 && m.unicodeScalars.first == c { return nil }
            return Array(m.unicodeScalars)
        }
    }

    /// Applies the normalizer to a plain string (for added tokens marked `normalized`).
    public func normalize(_ s: String) throws -> String {
        var t = NormalizedText(Substring(s).unicodeScalars)
        try apply(&t)
        return t.string
    }
}

/// Unicode normalization forms, applied segment by segment so each output scalar keeps an alignment: a
/// segment is a starter with the combining marks (and Hangul vowel/trailing jamo, spacing marks) after it.
/// Within a segment the k-th output scalar is aligned with the k-th input scalar (the last one when the
/// output is longer), which is how `tokenizers` aligns decompositions (extra scalars share the source's
/// alignment) and compositions (the composed scalar takes the first source's alignment).
enum UnicodeForms {
    enum Form { case nfc, nfd, nfkc, nfkd }

    static func apply(_ t: inout NormalizedText, form: Form) {
        var ns: [Unicode.Scalar] = []
        var st: [Int] = []
        var en: [Int] = []
        ns.reserveCapacity(t.count)
        st.reserveCapacity(t.count)
        en.reserveCapacity(t.count)
        var i = 0
        let n = t.count
        while i < n {
            let c = t.scalars[i]
            if c.value < 0x80 && (i + 1 == n || t.scalars[i + 1].value < 0x80) {
                ns.append(c)
                st.append(t.starts[i])
                en.append(t.ends[i])
                i += 1
                continue
            }
            var j = i + 1
            while j < n && continues(t.scalars[j]) { j += 1 }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: t.scalars[i..<j])
            let seg = String(view)
            let out: String
            switch form {
            case .nfc: out = seg.precomposedStringWithCanonicalMapping
            case .nfd: out = seg.decomposedStringWithCanonicalMapping
            case .nfkc: out = seg.precomposedStringWithCompatibilityMapping
            case .nfkd: out = seg.decomposedStringWithCompatibilityMapping
            }
            var k = 0
            for s in out.unicodeScalars {
                let src = i + min(k, j - i - 1)
                ns.append(s)
                st.append(t.starts[src])
                en.append(t.ends[src])
                k += 1
            }
            i = j
        }
        t.scalars = ns
        t.starts = st
        t.ends = en
    }

    private static func continues(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x300 { return false }
        if s.properties.canonicalCombiningClass.rawValue != 0 { return true }
        if (0x1160...0x11FF).contains(s.value) { return true }
        switch s.properties.generalCategory {
        case .spacingMark, .nonspacingMark, .enclosingMark: return true
        default: return false
        }
    }
}

/// Character classes as `tokenizers` defines them (Rust's `char` methods and the `unicode_categories` crate).
public enum CharClass {
    /// General category Mark (Mn, Mc, Me): what `StripAccents` removes.
    @inline(__always) public static func isMark(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x300 { return false }
        switch c.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    public static func isBertWhitespace(_ c: Unicode.Scalar) -> Bool {
        c == "\t" || c == "\n" || c == "\r" || c.properties.isWhitespace
    }

    /// Cc, Cf, Cn, Co, Cs except tab, newline, carriage return.
    public static func isBertControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        if c.value >= 0x20 && c.value < 0x7F { return false }
        switch c.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    public static func isChineseChar(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }

    /// ASCII punctuation or Unicode category P* (BERT's and the `Punctuation` pre-tokenizer's test).
    public static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII {
            let v = c.value
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Rust's `char::is_numeric`: Nd, Nl, No.
    public static func isNumeric(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return c.value >= 48 && c.value <= 57 }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    @inline(__always) public static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return c == " " || (c.value >= 9 && c.value <= 13) }
        return c.properties.isWhitespace
    }

    /// Rust `regex`'s `\w`: Alphabetic, Mark, Decimal_Number, Connector_Punctuation, Join_Control.
    public static func isWordChar(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII {
            let v = c.value
            return (48...57).contains(v) || (65...90).contains(v) || (97...122).contains(v) || v == 95
        }
        let p = c.properties
        if p.isAlphabetic || p.isJoinControl { return true }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }
}
