import Foundation

/// BPE on pre-tokenized words as subword-nmt, fastBPE and transformers' FSMT / XLM tokenizers run it:
/// a word's scalars, `</w>` joined to the last one, then the lowest-ranked adjacent pair merged (every
/// occurrence, left to right), until no pair has a rank. Merges need not be in the vocabulary; a
/// subword the vocabulary lacks becomes the unk token.
///
/// The vocabulary is looked up in one of two spellings: transformers' FSMT files keep the subwords as
/// BPE makes them (`tok` inside a word, `tok</w>` at its end); a fairseq dictionary holds fastBPE's
/// output (`tok@@` inside a word, `tok` at its end).
public struct WordBPE: Sendable {
    public enum Spelling: Sendable { case endOfWordSuffix, continuationMarker }

    public let vocab: Vocabulary
    public let tokens: [Int: String]
    public let spelling: Spelling
    public let unkId: Int
    /// "left right" (byte-exact) → rank.
    let ranks: [TokenKey: Int]
    let cache = WordCache()
    static let suffix = "</w>"

    /// `merges` in rank order; `unkToken` must be in `vocab`.
    public init(vocab: Vocabulary, merges: [(String, String)], spelling: Spelling, unkToken: String, file: String) throws {
        guard let u = vocab[unkToken] else { throw TokenizerError.unknownToken(file: file, path: "unk_token", token: unkToken) }
        self.vocab = vocab
        var r: [Int: String] = [:]
        for (k, v) in vocab.entries { r[v] = k }
        tokens = r
        self.spelling = spelling
        unkId = u
        var ranks: [TokenKey: Int] = [:]
        ranks.reserveCapacity(merges.count)
        // transformers builds `dict(zip(merges, range(len(merges))))`: a repeated pair keeps its last rank.
        for (i, (a, b)) in merges.enumerated() { ranks[TokenKey(a + " " + b)] = i }
        self.ranks = ranks
    }

    public func tokenize(_ w: [Unicode.Scalar]) throws -> [ModelToken] {
        if w.isEmpty { return [] }
        let key = string(w[...])
        if let hit = cache.get(key) { return hit }
        var syms: [(s: String, lo: Int, hi: Int)] = w.enumerated().map { (String(Character($1)), $0, $0 + 1) }
        syms[syms.count - 1].s += Self.suffix
        while syms.count > 1 {
            var best = Int.max, pair: (String, String)?
            for i in 0..<(syms.count - 1) {
                if let r = ranks[TokenKey(syms[i].s + " " + syms[i + 1].s)], r < best { best = r; pair = (syms[i].s, syms[i + 1].s) }
            }
            guard let (first, second) = pair else { break }
            var out: [(s: String, lo: Int, hi: Int)] = []
            out.reserveCapacity(syms.count)
            var i = 0
            while i < syms.count {
                if i < syms.count - 1, syms[i].s.utf8.elementsEqual(first.utf8), syms[i + 1].s.utf8.elementsEqual(second.utf8) {
                    out.append((first + second, syms[i].lo, syms[i + 1].hi))
                    i += 2
                } else {
                    out.append(syms[i])
                    i += 1
                }
            }
            syms = out
        }
        let out = syms.map { s -> ModelToken in
            let name: String
            switch spelling {
            case .endOfWordSuffix: name = s.s
            case .continuationMarker:
                name = s.s.hasSuffix(Self.suffix) ? String(decoding: Array(s.s.utf8.dropLast(4)), as: UTF8.self) : s.s + "@@"
            }
            if let id = vocab[name] { return ModelToken(id: id, value: name, lo: s.lo, hi: s.hi) }
            return ModelToken(id: unkId, value: tokens[unkId] ?? "<unk>", lo: s.lo, hi: s.hi)
        }
        cache.put(key, out)
        return out
    }
}
