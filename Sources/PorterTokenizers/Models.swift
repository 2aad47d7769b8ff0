import Foundation

/// One token a model produced for a piece of text: its id, its string in the vocabulary, and the range of
/// the piece's scalars it covers.
public struct ModelToken: Sendable, Equatable {
    public var id: Int
    public var value: String
    public var lo: Int
    public var hi: Int
}

/// The tokenization models Porter runs (`model.type`).
public enum TokenModel: Sendable {
    case wordPiece(WordPiece)
    case bpe(BPE)
    case unigram(Unigram)
    case sentencePieceBPE(SentencePieceBPE)
    case wordBPE(WordBPE)

    public func tokenize(_ piece: NormalizedText) throws -> [ModelToken] {
        switch self {
        case let .wordPiece(m): return try m.tokenize(piece.scalars)
        case let .bpe(m): return try m.tokenize(piece.scalars)
        case let .unigram(m): return try m.tokenize(piece.scalars)
        case let .sentencePieceBPE(m): return try m.tokenize(piece.scalars)
        case let .wordBPE(m): return try m.tokenize(piece.scalars)
        }
    }

    public func id(of token: String) -> Int? {
        switch self {
        case let .wordPiece(m): return m.vocab[token]
        case let .bpe(m): return m.vocab[token]
        case let .unigram(m): return m.ids[token]
        case let .sentencePieceBPE(m): return m.ids[token]
        case let .wordBPE(m): return m.vocab[token]
        }
    }

    public func token(of id: Int) -> String? {
        switch self {
        case let .wordPiece(m): return m.tokens[id]
        case let .bpe(m): return m.tokens[id]
        case let .unigram(m): return id >= 0 && id < m.pieces.count ? m.pieces[id].piece : nil
        case let .sentencePieceBPE(m): return id >= 0 && id < m.pieces.count ? m.pieces[id] : nil
        case let .wordBPE(m): return m.tokens[id]
        }
    }

    public var vocabSize: Int {
        switch self {
        case let .wordPiece(m): return m.vocab.count
        case let .bpe(m): return m.vocab.count
        case let .unigram(m): return m.pieces.count
        case let .sentencePieceBPE(m): return m.pieces.count
        case let .wordBPE(m): return m.vocab.count
        }
    }
}

@inline(__always) func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
    var v = String.UnicodeScalarView()
    v.append(contentsOf: scalars)
    return String(v)
}

/// Thread-safe memo of word → tokens, bounded (cleared when full), as `tokenizers` caches BPE words.
final class WordCache: @unchecked Sendable {
    private var map: [TokenKey: [ModelToken]] = [:]
    private let lock = NSLock()
    private let capacity: Int
    init(capacity: Int = 50_000) { self.capacity = capacity }
    func get(_ k: String) -> [ModelToken]? { lock.lock(); defer { lock.unlock() }; return map[TokenKey(k)] }
    func put(_ k: String, _ v: [ModelToken]) {
        lock.lock(); defer { lock.unlock() }
        if map.count >= capacity { map.removeAll(keepingCapacity: true) }
        map[TokenKey(k)] = v
    }
}

// MARK: - WordPiece

/// Greedy longest-match-first WordPiece (BERT): a word longer than `maxInputCharsPerWord`, or one with a
/// part no vocabulary entry covers, becomes the single `unkToken`.
public struct WordPiece: Sendable {
    public let vocab: Vocabulary
    public let tokens: [Int: String]
    public let unkToken: String
    public let unkId: Int
    public let continuingSubwordPrefix: String
    public let maxInputCharsPerWord: Int
    let longest: Int

    public init(vocab: Vocabulary, unkToken: String, continuingSubwordPrefix: String = "##",
                maxInputCharsPerWord: Int = 100) throws {
        guard let unk = vocab[unkToken] else {
            throw TokenizerError.unknownToken(file: "WordPiece", path: "model.unk_token", token: unkToken)
        }
        self.vocab = vocab
        var r: [Int: String] = [:]
        for (k, v) in vocab.entries { r[v] = k }
        self.tokens = r
        self.unkToken = unkToken
        self.unkId = unk
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        self.longest = vocab.entries.map { $0.0.unicodeScalars.count }.max() ?? 1
    }

    public func tokenize(_ w: [Unicode.Scalar]) throws -> [ModelToken] {
        let n = w.count
        if n == 0 { return [] }
        let whole = [ModelToken(id: unkId, value: unkToken, lo: 0, hi: n)]
        if n > maxInputCharsPerWord { return whole }
        var out: [ModelToken] = []
        var start = 0
        while start < n {
            var end = min(n, start + longest)
            var found: ModelToken?
            while start < end {
                var s = string(w[start..<end])
                if start > 0 { s = continuingSubwordPrefix + s }
                if let id = vocab[s] {
                    found = ModelToken(id: id, value: s, lo: start, hi: end)
                    break
                }
                end -= 1
            }
            guard let f = found else { return whole }
            out.append(f)
            start = end
        }
        return out
    }
}

// MARK: - BPE

/// Byte-pair encoding as `tokenizers` runs it: each scalar a symbol (with `continuing_subword_prefix` on
/// all but the first and `end_of_word_suffix` on the last), unknown scalars as `<0xXX>` byte tokens under
/// `byte_fallback` or as the unk token (fused when `fuse_unk`), then the lowest-ranked adjacent pair merged
/// first, the leftmost among equals, until no merge applies. `ignore_merges` returns a word found whole in
/// the vocabulary as one token.
public struct BPE: Sendable {
    public let vocab: Vocabulary
    public let tokens: [Int: String]
    /// (left id, right id) → (rank, merged id).
    let merges: [UInt64: (rank: Int32, id: Int32)]
    public let unkToken: String?
    public let continuingSubwordPrefix: String?
    public let endOfWordSuffix: String?
    public let fuseUnk: Bool
    public let byteFallback: Bool
    public let ignoreMerges: Bool
    let byteIds: [Int?]
    let cache = WordCache()

    /// `merges` in rank order. Throws when a merge names or makes a token the vocabulary lacks.
    public init(vocab: Vocabulary, merges: [(String, String)], unkToken: String? = nil,
                continuingSubwordPrefix: String? = nil, endOfWordSuffix: String? = nil, fuseUnk: Bool = false,
                byteFallback: Bool = false, ignoreMerges: Bool = false, file: String = "tokenizer.json",
                mergesPath: String = "model.merges") throws {
        self.vocab = vocab
        var r: [Int: String] = [:]
        r.reserveCapacity(vocab.count)
        for (k, v) in vocab.entries { r[v] = k }
        self.tokens = r
        let prefixBytes = continuingSubwordPrefix?.utf8.count ?? 0
        var m: [UInt64: (rank: Int32, id: Int32)] = [:]
        m.reserveCapacity(merges.count)
        for (i, (a, b)) in merges.enumerated() {
            let path = "\(mergesPath)[\(i)]"
            guard let ia = vocab[a] else { throw TokenizerError.mergeOutOfVocabulary(file: file, path: path, token: a) }
            guard let ib = vocab[b] else { throw TokenizerError.mergeOutOfVocabulary(file: file, path: path, token: b) }
            let bu = Array(b.utf8)
            guard bu.count >= prefixBytes, let tail = String(bytes: bu[prefixBytes...], encoding: .utf8) else {
                throw TokenizerError.invalidValue(file: file, path: path, reason: "the right token is shorter than continuing_subword_prefix")
            }
            let merged = a + tail
            guard let im = vocab[merged] else { throw TokenizerError.mergeOutOfVocabulary(file: file, path: path, token: merged) }
            m[Self.key(ia, ib)] = (Int32(i), Int32(im))
        }
        self.merges = m
        if let u = unkToken, vocab[u] == nil {
            throw TokenizerError.unknownToken(file: file, path: "model.unk_token", token: u)
        }
        self.unkToken = unkToken
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.endOfWordSuffix = endOfWordSuffix
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.byteIds = (0..<256).map { vocab[String(format: "<0x%02X>", $0)] }
    }

    @inline(__always) static func key(_ a: Int, _ b: Int) -> UInt64 { UInt64(UInt32(truncatingIfNeeded: a)) << 32 | UInt64(UInt32(truncatingIfNeeded: b)) }

    public func tokenize(_ w: [Unicode.Scalar]) throws -> [ModelToken] {
        if w.isEmpty { return [] }
        let word = string(w[...])
        if ignoreMerges, let id = vocab[word] { return [ModelToken(id: id, value: word, lo: 0, hi: w.count)] }
        if let hit = cache.get(word) { return hit }
        let out = try merge(w)
        cache.put(word, out)
        return out
    }

    private struct Symbol { var id: Int; var lo: Int; var hi: Int }

    private func merge(_ w: [Unicode.Scalar]) throws -> [ModelToken] {
        var symbols: [Symbol] = []
        symbols.reserveCapacity(w.count)
        var unk: Symbol?
        let n = w.count
        for i in 0..<n {
            var s = String(Character(w[i]))
            if i > 0, let p = continuingSubwordPrefix { s = p + s }
            if i == n - 1, let x = endOfWordSuffix { s += x }
            if let id = vocab[s] {
                if let u = unk { symbols.append(u); unk = nil }
                symbols.append(Symbol(id: id, lo: i, hi: i + 1))
                continue
            }
            if byteFallback {
                let bytes = Array(s.utf8)
                let ids = bytes.compactMap { byteIds[Int($0)] }
                if ids.count == bytes.count {
                    // As in `tokenizers`, a pending unk is not flushed here: it lands after the bytes.
                    for id in ids { symbols.append(Symbol(id: id, lo: i, hi: i + 1)) }
                    continue
                }
            }
            guard let u = unkToken, let uid = vocab[u] else {
                // `tokenizers` drops a scalar it cannot represent when the model has no unk token.
                continue
            }
            if var pending = unk {
                if fuseUnk {
                    pending.hi = i + 1
                    unk = pending
                } else {
                    symbols.append(pending)
                    unk = Symbol(id: uid, lo: i, hi: i + 1)
                }
            } else {
                unk = Symbol(id: uid, lo: i, hi: i + 1)
            }
        }
        if let u = unk { symbols.append(u) }

        while symbols.count > 1 {
            var bestRank = Int32.max
            var bestPos = -1
            var bestId: Int32 = 0
            for p in 0..<(symbols.count - 1) {
                if let m = merges[Self.key(symbols[p].id, symbols[p + 1].id)], m.rank < bestRank {
                    bestRank = m.rank
                    bestPos = p
                    bestId = m.id
                }
            }
            if bestPos < 0 { break }
            symbols[bestPos] = Symbol(id: Int(bestId), lo: symbols[bestPos].lo, hi: symbols[bestPos + 1].hi)
            symbols.remove(at: bestPos + 1)
        }
        return symbols.map { ModelToken(id: $0.id, value: tokens[$0.id] ?? "", lo: $0.lo, hi: $0.hi) }
    }
}

// MARK: - Unigram

/// SentencePiece's unigram model: the segmentation with the highest total score (Viterbi over a trie of
/// the pieces); a scalar no piece covers scores `min score − 10` as unk; consecutive unks are fused; under
/// `byte_fallback` an unk run becomes its UTF-8 bytes as `<0xXX>` tokens.
public struct Unigram: Sendable {
    public let pieces: [(piece: String, score: Double)]
    public let ids: Vocabulary
    public let unkId: Int?
    public let byteFallback: Bool
    let minScore: Double
    let floatSums: Bool
    let trie: ScalarTrie
    let cache = WordCache()

    /// `floatSums` adds path scores in single precision, as sentencepiece does (tokenizers uses double); it
    /// decides ties between segmentations of equal pieces in another order. `matchable` (default: all) says which pieces may be matched in text (SentencePiece never matches its
    /// CONTROL, UNKNOWN and BYTE pieces); `minScore` (default: the lowest score) sets the unk score.
    public init(pieces: [(piece: String, score: Double)], unkId: Int?, byteFallback: Bool,
                file: String = "tokenizer.json", matchable: [Bool]? = nil, minScore: Double? = nil,
                floatSums: Bool = false) throws {
        self.floatSums = floatSums
        self.pieces = pieces
        var ids = Vocabulary()
        ids.reserveCapacity(pieces.count)
        var t = ScalarTrie()
        for (i, p) in pieces.enumerated() {
            ids[p.piece] = i  // a repeated piece: the last one wins, as in `tokenizers`
            if matchable?[i] ?? true { t.insert(Array(p.piece.unicodeScalars), id: i) }
        }
        if let u = unkId, u < 0 || u >= pieces.count {
            throw TokenizerError.idConflict(file: file, path: "model.unk_id", id: u, reason: "is not an index of model.vocab")
        }
        self.ids = ids
        self.unkId = unkId
        self.byteFallback = byteFallback
        self.minScore = minScore ?? pieces.map { $0.score }.min() ?? 0
        self.trie = t
    }

    public func tokenize(_ w: [Unicode.Scalar]) throws -> [ModelToken] {
        if w.isEmpty { return [] }
        let key = string(w[...])
        if let hit = cache.get(key) { return hit }
        let out = try viterbi(w)
        cache.put(key, out)
        return out
    }

    private func viterbi(_ w: [Unicode.Scalar]) throws -> [ModelToken] {
        let n = w.count
        let unkScore = minScore - 10.0
        var best = [Double](repeating: 0, count: n + 1)
        var from = [Int](repeating: -1, count: n + 1)
        var node = [Int](repeating: -1, count: n + 1)
        var start = 0
        while start < n {
            let here = best[start]
            var single = false
            trie.prefixes(of: w, from: start) { end, id in
                let cand = floatSums ? Double(Float(pieces[id].score) + Float(here)) : pieces[id].score + here
                if from[end] < 0 || cand > best[end] {
                    best[end] = cand
                    from[end] = start
                    node[end] = id
                }
                if end == start + 1 { single = true }
            }
            if !single {
                guard let u = unkId else {
                    throw TokenizerError.unencodable(text: key(w), reason: "the unigram model has no unk_id for \(String(Character(w[start])).debugDescription)")
                }
                let cand = floatSums ? Double(Float(unkScore) + Float(here)) : unkScore + here
                if from[start + 1] < 0 || cand > best[start + 1] {
                    best[start + 1] = cand
                    from[start + 1] = start
                    node[start + 1] = u
                }
            }
            start += 1
        }
        // Back-track, fusing unk runs.
        var spans: [(lo: Int, hi: Int, id: Int)] = []
        var end = n
        while end > 0 {
            let s = from[end]
            let id = node[end]
            if id == unkId, let last = spans.last, last.id == id, last.lo == end {
                spans[spans.count - 1].lo = s
            } else {
                spans.append((s, end, id))
            }
            end = s
        }
        spans.reverse()
        var out: [ModelToken] = []
        out.reserveCapacity(spans.count)
        for sp in spans {
            let text = string(w[sp.lo..<sp.hi])
            if sp.id != unkId {
                out.append(ModelToken(id: sp.id, value: text, lo: sp.lo, hi: sp.hi))
                continue
            }
            if let id = ids[text] {
                out.append(ModelToken(id: id, value: text, lo: sp.lo, hi: sp.hi))
                continue
            }
            if byteFallback {
                let bytes = Array(text.utf8)
                let byteTokens = bytes.map { b -> ModelToken? in
                    let name = String(format: "<0x%02X>", b)
                    return ids[name].map { ModelToken(id: $0, value: name, lo: sp.lo, hi: sp.hi) }
                }
                if byteTokens.allSatisfy({ $0 != nil }) {
                    out.append(contentsOf: byteTokens.compactMap { $0 })
                    continue
                }
            }
            out.append(ModelToken(id: sp.id, value: text, lo: sp.lo, hi: sp.hi))
        }
        return out
    }

    private func key(_ w: [Unicode.Scalar]) -> String { string(w[...]) }
}

/// A trie over Unicode scalars: node 0 is the root.
struct ScalarTrie: Sendable {
    var children: [[Unicode.Scalar: Int32]] = [[:]]
    var terminal: [Int32] = [-1]

    mutating func insert(_ s: [Unicode.Scalar], id: Int) {
        var node = 0
        for c in s {
            if let next = children[node][c] {
                node = Int(next)
            } else {
                children.append([:])
                terminal.append(-1)
                let new = children.count - 1
                children[node][c] = Int32(new)
                node = new
            }
        }
        terminal[node] = Int32(id)
    }

    /// Calls `body(end, id)` for every piece that is a prefix of `w[from...]`, shortest first.
    func prefixes(of w: [Unicode.Scalar], from: Int, _ body: (Int, Int) -> Void) {
        var node = 0
        var i = from
        while i < w.count, let next = children[node][w[i]] {
            node = Int(next)
            i += 1
            if terminal[node] >= 0 { body(i, Int(terminal[node])) }
        }
    }
}
