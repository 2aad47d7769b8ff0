import Foundation

/// Where a token came from in the caller's text, in Unicode scalars (the Python bindings' character offsets).
public struct TokenOffset: Hashable, Sendable, Codable {
    public var start: Int
    public var end: Int
    public init(_ start: Int, _ end: Int) { self.start = start; self.end = end }
}

/// The result of encoding one text.
public struct Encoding: Equatable, Sendable {
    public var ids: [Int] = []
    public var tokens: [String] = []
    public var offsets: [TokenOffset] = []
    public var typeIds: [Int] = []
    /// True for tokens the post-processor added ([CLS], <s>, …).
    public var specialMask: [Bool] = []

    public init() {}

    mutating func append(id: Int, token: String, offset: TokenOffset, typeId: Int = 0, special: Bool = false) {
        ids.append(id)
        tokens.append(token)
        offsets.append(offset)
        typeIds.append(typeId)
        specialMask.append(special)
    }

    mutating func append(contentsOf e: Encoding, typeId: Int) {
        ids += e.ids
        tokens += e.tokens
        offsets += e.offsets
        typeIds += Array(repeating: typeId, count: e.ids.count)
        specialMask += e.specialMask
    }
}

/// A token of the `added_tokens` list: matched in the text before the model runs, never split.
public struct AddedToken: Sendable, Equatable {
    public var id: Int
    public var content: String
    public var singleWord = false
    public var lstrip = false
    public var rstrip = false
    /// Matched against the normalized text (its content normalized too) rather than the original.
    public var normalized = true
    public var special = false

    public init(id: Int, content: String, singleWord: Bool = false, lstrip: Bool = false, rstrip: Bool = false,
                normalized: Bool = true, special: Bool = false) {
        self.id = id
        self.content = content
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.special = special
    }
}

/// The post-processors Porter runs (`post_processor.type`).
public indirect enum PostProcessor: Sendable {
    /// `single` items: a special token name or the sequence, with type ids; `specials` name → ids/tokens.
    case template(single: [TemplateItem], specials: [String: (ids: [Int], tokens: [String])])
    case bert(sep: (String, Int), cls: (String, Int))
    case roberta(sep: (String, Int), cls: (String, Int), trimOffsets: Bool, addPrefixSpace: Bool)
    case byteLevel(trimOffsets: Bool, addPrefixSpace: Bool)
    case sequence([PostProcessor])

    public enum TemplateItem: Sendable {
        case special(String, typeId: Int)
        case sequence(typeId: Int)
    }

    func process(_ e: Encoding, addSpecialTokens: Bool) -> Encoding {
        switch self {
        case let .template(single, specials):
            guard addSpecialTokens else { return e }
            var out = Encoding()
            for item in single {
                switch item {
                case let .special(name, typeId):
                    if let sp = specials[name] {
                        for (id, tok) in zip(sp.ids, sp.tokens) {
                            out.append(id: id, token: tok, offset: TokenOffset(0, 0), typeId: typeId, special: true)
                        }
                    }
                case let .sequence(typeId):
                    out.append(contentsOf: e, typeId: typeId)
                }
            }
            return out
        case let .bert(sep, cls):
            guard addSpecialTokens else { return e }
            return Self.wrap(e, cls: cls, sep: sep)
        case let .roberta(sep, cls, trim, prefix):
            let t = trim ? Self.trimOffsets(e, addPrefixSpace: prefix) : e
            guard addSpecialTokens else { return t }
            return Self.wrap(t, cls: cls, sep: sep)
        case let .byteLevel(trim, prefix):
            return trim ? Self.trimOffsets(e, addPrefixSpace: prefix) : e
        case let .sequence(list):
            var out = e
            for p in list { out = p.process(out, addSpecialTokens: addSpecialTokens) }
            return out
        }
    }

    private static func wrap(_ e: Encoding, cls: (String, Int), sep: (String, Int)) -> Encoding {
        var out = Encoding()
        out.append(id: cls.1, token: cls.0, offset: TokenOffset(0, 0), special: true)
        out.append(contentsOf: e, typeId: 0)
        out.append(id: sep.1, token: sep.0, offset: TokenOffset(0, 0), special: true)
        return out
    }

    /// ByteLevel's offset trimming: leading and trailing `Ġ` (space) of a token leave its offsets, except
    /// the one space `add_prefix_space` put before the first token.
    static func trimOffsets(_ e: Encoding, addPrefixSpace: Bool) -> Encoding {
        var out = e
        let space = ByteLevelAlphabet.byteToScalar[32]
        for i in out.tokens.indices {
            let sc = Array(out.tokens[i].unicodeScalars)
            var leading = 0
            while leading < sc.count && (sc[leading] == space || sc[leading].properties.isWhitespace) { leading += 1 }
            var trailing = 0
            while trailing < sc.count && (sc[sc.count - 1 - trailing] == space || sc[sc.count - 1 - trailing].properties.isWhitespace) { trailing += 1 }
            if leading == 0 && trailing == 0 { continue }
            var o = out.offsets[i]
            if leading > 0 {
                let isFirst = i == 0 || o.start == 0
                if isFirst && addPrefixSpace && leading == 1 { leading = 0 }
                o.start = min(o.start + leading, o.end)
            }
            if trailing > 0 && o.end >= trailing { o.end = max(o.end - trailing, o.start) }
            out.offsets[i] = o
        }
        return out
    }
}

/// A tokenizer: added tokens, normalizer, pre-tokenizer, model and post-processor, run as the Rust
/// `tokenizers` library runs them. Truncation and padding settings of a file are not applied.
public struct Tokenizer: Sendable {
    public var normalizer: Normalizer?
    public var preTokenizer: PreTokenizer?
    public var model: TokenModel
    public var postProcessor: PostProcessor?
    public var addedTokens: [AddedToken] { added.tokens }
    /// Where it was read from and in which format ("tokenizer.json", "vocab.txt", …).
    public var origin: String
    let added: AddedVocabulary

    public init(model: TokenModel, normalizer: Normalizer? = nil, preTokenizer: PreTokenizer? = nil,
                postProcessor: PostProcessor? = nil, addedTokens: [AddedToken] = [], origin: String) throws {
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.origin = origin
        self.added = try AddedVocabulary(addedTokens, normalizer: normalizer)
    }

    public var vocabSize: Int {
        var ids = Set<Int>()
        for t in added.tokens where model.token(of: t.id) == nil { ids.insert(t.id) }
        return model.vocabSize + ids.count
    }

    public func id(of token: String) -> Int? {
        if let t = added.tokens.first(where: { $0.content == token }) { return t.id }
        return model.id(of: token)
    }

    public func token(of id: Int) -> String? {
        if let t = added.tokens.first(where: { $0.id == id }) { return t.content }
        return model.token(of: id)
    }

    public func encode(_ text: String, addSpecialTokens: Bool = true) throws -> Encoding {
        var e = Encoding()
        let original = NormalizedText(Substring(text).unicodeScalars)
        for piece in added.split(original, normalized: false) {
            switch piece {
            case let .token(t, offset):
                e.append(id: t.id, token: t.content, offset: offset)
            case var .text(part):
                if let n = normalizer { try n.apply(&part) }
                for sub in added.split(part, normalized: true) {
                    switch sub {
                    case let .token(t, offset):
                        e.append(id: t.id, token: t.content, offset: offset)
                    case let .text(normal):
                        let words = try preTokenizer.map { try $0.apply([normal]) } ?? (normal.isEmpty ? [] : [normal])
                        for w in words {
                            for tok in try model.tokenize(w) {
                                let (a, b) = w.originalRange(tok.lo, tok.hi)
                                e.append(id: tok.id, token: tok.value, offset: TokenOffset(a, b))
                            }
                        }
                    }
                }
            }
        }
        if let p = postProcessor { e = p.process(e, addSpecialTokens: addSpecialTokens) }
        return e
    }
}

/// The added tokens, matched leftmost-longest in the text (original text for `normalized: false` tokens,
/// normalized text for the others), with `single_word`, `lstrip` and `rstrip` as `tokenizers` applies them.
struct AddedVocabulary: Sendable {
    let tokens: [AddedToken]
    private var rawTrie = ScalarTrie()
    private var normalizedTrie = ScalarTrie()
    private let hasRaw: Bool
    private let hasNormalized: Bool

    enum Piece {
        case text(NormalizedText)
        case token(AddedToken, TokenOffset)
    }

    init(_ tokens: [AddedToken], normalizer: Normalizer?) throws {
        self.tokens = tokens
        var raw = false, norm = false
        for (i, t) in tokens.enumerated() where !t.content.isEmpty {
            if t.normalized {
                let c = try normalizer?.normalize(t.content) ?? t.content
                if !c.isEmpty { normalizedTrie.insert(Array(c.unicodeScalars), id: i); norm = true }
            } else {
                rawTrie.insert(Array(t.content.unicodeScalars), id: i)
                raw = true
            }
        }
        hasRaw = raw
        hasNormalized = norm
    }

    func split(_ text: NormalizedText, normalized: Bool) -> [Piece] {
        let trie = normalized ? normalizedTrie : rawTrie
        guard normalized ? hasNormalized : hasRaw, !text.isEmpty else { return [.text(text)] }
        let s = text.scalars
        let n = s.count
        var out: [Piece] = []
        var startOffset = 0
        var i = 0
        while i < n {
            var longest: (end: Int, id: Int)?
            trie.prefixes(of: s, from: i) { end, id in longest = (end, id) }
            guard let m = longest else { i += 1; continue }
            var start = i
            var stop = m.end
            let t = tokens[m.id]
            i = m.end
            if t.singleWord {
                let startSpace = start == 0 || !CharClass.isWordChar(s[start - 1])
                let stopSpace = stop == n || !CharClass.isWordChar(s[stop])
                if !startSpace || !stopSpace { continue }
            }
            if t.lstrip {
                var k = start
                while k > 0 && CharClass.isWhitespace(s[k - 1]) { k -= 1 }
                start = max(k, startOffset)
            }
            if t.rstrip {
                while stop < n && CharClass.isWhitespace(s[stop]) { stop += 1 }
                i = stop
            }
            if startOffset < start { out.append(.text(text.slice(startOffset, start))) }
            let (a, b) = text.originalRange(start, stop)
            out.append(.token(t, TokenOffset(a, b)))
            startOffset = stop
        }
        if startOffset < n { out.append(.text(text.slice(startOffset, n))) }
        return out
    }
}
