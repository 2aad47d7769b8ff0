import Foundation

/// The pre-tokenizers of `tokenizer.json` Porter runs (`pre_tokenizer.type`).
public indirect enum PreTokenizer: Sendable {
    case bert
    case whitespace
    case whitespaceSplit
    /// `useRegex` splits with GPT-2's pattern first; every piece is then mapped to GPT-2's byte alphabet.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(pattern: SplitPattern, behavior: SplitBehavior, invert: Bool)
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme, split: Bool)
    case digits(individual: Bool)
    case punctuation(SplitBehavior)
    case sequence([PreTokenizer])

    public enum SplitPattern: Sendable {
        case string(String)
        case regex(SplitRegex)
    }

    public enum PrependScheme: String, Sendable {
        case always, first, never
    }

    /// GPT-2's split pattern, which `ByteLevel` uses when `use_regex` is true.
    public static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let gpt2Regex: SplitRegex? = try? SplitRegex(gpt2Pattern)

    /// Splits every piece; `pieceIndex` of a piece is needed by nothing but `Metaspace(first)`, which looks at
    /// whether the piece starts the original text.
    public func apply(_ pieces: [NormalizedText]) throws -> [NormalizedText] {
        switch self {
        case .bert:
            return pieces.flatMap { p in
                p.split(where: CharClass.isWhitespace, behavior: .removed)
                    .flatMap { $0.split(where: CharClass.isPunctuation, behavior: .isolated) }
            }
        case .whitespace:
            return pieces.flatMap(Self.whitespaceSplitWords)
        case .whitespaceSplit:
            return pieces.flatMap { $0.split(where: CharClass.isWhitespace, behavior: .removed) }
        case let .byteLevel(addPrefixSpace, useRegex):
            var out: [NormalizedText] = []
            for var p in pieces {
                if addPrefixSpace && p.scalars.first != " " { p.prepend([" "]) }
                let parts: [NormalizedText]
                if useRegex {
                    guard let re = Self.gpt2Regex else { throw TokenizerError.unencodable(text: "", reason: "GPT-2's pattern did not compile") }
                    parts = p.split(matches: try re.matches(in: p.scalars), behavior: .isolated)
                } else {
                    parts = p.isEmpty ? [] : [p]
                }
                for part in parts { out.append(ByteLevelAlphabet.map(part)) }
            }
            return out
        case let .split(pattern, behavior, invert):
            return try pieces.flatMap { p -> [NormalizedText] in
                let matches: [Range<Int>]
                switch pattern {
                case let .string(s): matches = p.occurrences(of: Array(s.unicodeScalars))
                case let .regex(r): matches = try r.matches(in: p.scalars)
                }
                return p.split(matches: matches, behavior: behavior, invert: invert)
            }
        case let .metaspace(replacement, scheme, split):
            return pieces.flatMap { piece -> [NormalizedText] in
                var p = piece
                p.replace(p.occurrences(of: [" "]), with: [replacement])
                switch scheme {
                case .always:
                    if p.scalars.first != replacement { p.prepend([replacement]) }
                case .first:
                    if p.scalars.first != replacement && p.starts.first == 0 { p.prepend([replacement]) }
                case .never:
                    break
                }
                if split { return p.split(where: { $0 == replacement }, behavior: .mergedWithNext) }
                return p.isEmpty ? [] : [p]
            }
        case let .digits(individual):
            return pieces.flatMap { $0.split(where: CharClass.isNumeric, behavior: individual ? .isolated : .contiguous) }
        case let .punctuation(behavior):
            return pieces.flatMap { $0.split(where: CharClass.isPunctuation, behavior: behavior) }
        case let .sequence(list):
            var ps = pieces
            for pt in list { ps = try pt.apply(ps) }
            return ps
        }
    }

    /// `\w+|[^\w\s]+` with Rust `regex`'s classes: word runs and runs of other non-space characters.
    static func whitespaceSplitWords(_ p: NormalizedText) -> [NormalizedText] {
        var out: [NormalizedText] = []
        var i = 0
        let n = p.count
        while i < n {
            let c = p.scalars[i]
            if CharClass.isWhitespace(c) { i += 1; continue }
            let word = CharClass.isWordChar(c)
            var j = i + 1
            while j < n {
                let d = p.scalars[j]
                if CharClass.isWordChar(d) != word || (!word && CharClass.isWhitespace(d)) { break }
                j += 1
            }
            out.append(p.slice(i, j))
            i = j
        }
        return out
    }
}

/// GPT-2's byte alphabet: every byte as a printable scalar (printable Latin-1 bytes as themselves, the
/// rest from U+0100 up, in byte order).
public enum ByteLevelAlphabet {
    public static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var n: UInt32 = 0
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(256 + n)!
                n += 1
            }
        }
        return table
    }()

    public static let scalarToByte: [Unicode.Scalar: UInt8] = {
        var m: [Unicode.Scalar: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { m[s] = UInt8(b) }
        return m
    }()

    /// Each scalar becomes its UTF-8 bytes, each byte a scalar of the alphabet aligned with the source scalar.
    static func map(_ t: NormalizedText) -> NormalizedText {
        var ns: [Unicode.Scalar] = []
        var st: [Int] = []
        var en: [Int] = []
        ns.reserveCapacity(t.count + t.count / 2)
        st.reserveCapacity(t.count + t.count / 2)
        en.reserveCapacity(t.count + t.count / 2)
        for i in 0..<t.count {
            let c = t.scalars[i]
            if c.value < 0x80 {
                ns.append(byteToScalar[Int(c.value)])
                st.append(t.starts[i])
                en.append(t.ends[i])
            } else {
                for b in UTF8.encode(c)! {
                    ns.append(byteToScalar[Int(b)])
                    st.append(t.starts[i])
                    en.append(t.ends[i])
                }
            }
        }
        return NormalizedText(scalars: ns, starts: st, ends: en)
    }
}
