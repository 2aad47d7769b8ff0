import Foundation

/// SentencePiece's `tokenizer.model` (a `ModelProto` protobuf), read by a minimal protobuf reader of the
/// few fields Porter needs (field numbers from sentencepiece_model.proto):
/// `pieces` 1 {`piece` 1, `score` 2, `type` 3}, `trainer_spec` 2 {`model_type` 3, `treat_whitespace_as_suffix` 24,
/// `byte_fallback` 35, `unk_id` 40}, `normalizer_spec` 3 {`name` 1, `precompiled_charsmap` 2, `add_dummy_prefix` 3,
/// `remove_extra_whitespaces` 4, `escape_whitespaces` 5}.
///
/// Runs the model as sentencepiece does: its precompiled normalization rules (`nmt_nfkc` and the like,
/// `PrecompiledCharsmap`; none for `identity`), extra whitespace removed, the dummy prefix, `▁` for
/// spaces, then BPE by piece score or Unigram Viterbi,
/// unknown pieces as bytes under byte fallback. CONTROL, UNKNOWN and BYTE pieces are never matched in text.
public enum SentencePieceModel {
    public enum PieceType: Int, Sendable { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }

    public struct Piece: Sendable { public var piece: String; public var score: Float; public var type: PieceType }

    public struct Proto: Sendable {
        public var pieces: [Piece] = []
        public var modelType = 1
        public var byteFallback = false
        public var treatWhitespaceAsSuffix = false
        public var normalizerName = ""
        /// The charsmap's bytes (empty for the identity rule).
        public var precompiledCharsmap: ArraySlice<UInt8> = []
        public var addDummyPrefix = true
        public var removeExtraWhitespaces = true
        public var escapeWhitespaces = true
    }

    public static func load(_ url: URL) throws -> Tokenizer {
        let data = try TokenizerJSON.readBounded(url)
        return try tokenizer(try parse([UInt8](data), file: url.path), file: url.path)
    }

    public static func parse(_ bytes: [UInt8], file: String) throws -> Proto {
        var proto = Proto()
        var r = ProtoReader(bytes: bytes, file: file, base: 0)
        while let (field, wire) = try r.tag() {
            switch (field, wire) {
            case (1, 2):
                var p = Piece(piece: "", score: 0, type: .normal)
                let at = r.offset
                var m = try r.message()
                while let (f, w) = try m.tag() {
                    switch (f, w) {
                    case (1, 2): p.piece = try m.string()
                    case (2, 5): p.score = Float(bitPattern: try m.fixed32())
                    case (3, 0):
                        let v = try m.varint()
                        guard let t = PieceType(rawValue: Int(truncatingIfNeeded: v)) else {
                            throw TokenizerError.invalidValue(file: file, path: "pieces[\(proto.pieces.count)].type (byte \(at))", reason: "unknown piece type \(v)")
                        }
                        p.type = t
                    default: try m.skip(w)
                    }
                }
                proto.pieces.append(p)
                if proto.pieces.count > TokenizerLimits.maxVocab {
                    throw TokenizerError.tooLarge(file: file, path: "pieces", count: proto.pieces.count, limit: TokenizerLimits.maxVocab)
                }
            case (2, 2):
                var m = try r.message()
                while let (f, w) = try m.tag() {
                    switch (f, w) {
                    case (3, 0): proto.modelType = Int(truncatingIfNeeded: try m.varint())
                    case (24, 0): proto.treatWhitespaceAsSuffix = try m.varint() != 0
                    case (35, 0): proto.byteFallback = try m.varint() != 0
                    default: try m.skip(w)
                    }
                }
            case (3, 2):
                var m = try r.message()
                while let (f, w) = try m.tag() {
                    switch (f, w) {
                    case (1, 2): proto.normalizerName = try m.string()
                    case (2, 2): proto.precompiledCharsmap = try m.lengthDelimited()
                    case (3, 0): proto.addDummyPrefix = try m.varint() != 0
                    case (4, 0): proto.removeExtraWhitespaces = try m.varint() != 0
                    case (5, 0): proto.escapeWhitespaces = try m.varint() != 0
                    default: try m.skip(w)
                    }
                }
            default:
                try r.skip(wire)
            }
        }
        if proto.pieces.isEmpty { throw TokenizerError.missingKey(file: file, path: "pieces (field 1)") }
        return proto
    }

    public static func tokenizer(_ p: Proto, file: String) throws -> Tokenizer {
        if p.treatWhitespaceAsSuffix {
            throw TokenizerError.unsupported(file: file, path: "trainer_spec.treat_whitespace_as_suffix", what: "whitespace as suffix")
        }
        var seen = Set<TokenKey>()
        for (i, piece) in p.pieces.enumerated() {
            if piece.type == .userDefined || piece.type == .unused {
                throw TokenizerError.unsupported(file: file, path: "pieces[\(i)].type", what: "SentencePiece \(piece.type == .unused ? "UNUSED" : "USER_DEFINED") pieces")
            }
            if piece.piece.isEmpty { throw TokenizerError.invalidValue(file: file, path: "pieces[\(i)].piece", reason: "empty piece") }
            if !seen.insert(TokenKey(piece.piece)).inserted {
                throw TokenizerError.idConflict(file: file, path: "pieces[\(i)].piece", id: i, reason: "repeats the piece \(TokenizerError.clip(piece.piece))")
            }
        }
        var norms: [Normalizer] = []
        if !p.precompiledCharsmap.isEmpty {
            norms.append(.sentencePieceRules(try PrecompiledCharsmap(p.precompiledCharsmap, file: file, path: "normalizer_spec.precompiled_charsmap")))
        }
        if p.removeExtraWhitespaces {
            norms.append(.replace(pattern: .regex(try SplitRegex("^ +| +$")), content: ""))
            norms.append(.replace(pattern: .regex(try SplitRegex(" {2,}")), content: " "))
        }
        if p.addDummyPrefix { norms.append(.prepend(p.escapeWhitespaces ? "▁" : " ")) }
        if p.escapeWhitespaces { norms.append(.replace(pattern: .string(" "), content: "▁")) }
        let unk = p.pieces.firstIndex { $0.type == .unknown }
        let model: TokenModel
        switch p.modelType {
        case 1:
            model = .unigram(try Unigram(pieces: p.pieces.map { ($0.piece, Double($0.score)) }, unkId: unk, byteFallback: p.byteFallback,
                                         file: file, matchable: p.pieces.map { $0.type == .normal },
                                         minScore: p.pieces.filter { $0.type == .normal }.map { Double($0.score) }.min(), floatSums: true))
        case 2:
            model = .sentencePieceBPE(SentencePieceBPE(pieces: p.pieces, unkId: unk, byteFallback: p.byteFallback))
        default:
            throw TokenizerError.unsupported(file: file, path: "trainer_spec.model_type", what: "SentencePiece model type \(p.modelType) (WORD or CHAR)")
        }
        return try Tokenizer(model: model, normalizer: norms.isEmpty ? nil : .sequence(norms), origin: "tokenizer.model")
    }
}

/// SentencePiece's BPE: scalars as symbols, then repeatedly the adjacent pair whose concatenation is a
/// piece with the highest score (the leftmost among equals) is merged; remaining symbols that are no
/// piece become bytes (byte fallback) or unk.
public struct SentencePieceBPE: Sendable {
    public let ids: Vocabulary
    public let pieces: [String]
    let scores: [TokenKey: Float]
    let unkId: Int?
    let byteFallback: Bool
    let byteIds: [Int?]
    let cache = WordCache()

    init(pieces: [SentencePieceModel.Piece], unkId: Int?, byteFallback: Bool) {
        var ids = Vocabulary()
        var scores: [TokenKey: Float] = [:]
        for (i, p) in pieces.enumerated() {
            ids[p.piece] = i
            if p.type == .normal { scores[TokenKey(p.piece)] = p.score }
        }
        self.ids = ids
        self.pieces = pieces.map { $0.piece }
        self.scores = scores
        self.unkId = unkId
        self.byteFallback = byteFallback
        self.byteIds = (0..<256).map { b in
            let name = String(format: "<0x%02X>", b)
            return pieces.firstIndex { $0.type == .byte && $0.piece == name }
        }
    }

    public func tokenize(_ w: [Unicode.Scalar]) throws -> [ModelToken] {
        if w.isEmpty { return [] }
        let key = string(w[...])
        if let hit = cache.get(key) { return hit }
        var syms: [(s: String, lo: Int, hi: Int)] = w.enumerated().map { (String(Character($1)), $0, $0 + 1) }
        while syms.count > 1 {
            var best: Float = -.infinity
            var at = -1
            for i in 0..<(syms.count - 1) {
                if let sc = scores[TokenKey(syms[i].s + syms[i + 1].s)], sc > best || at < 0 {
                    best = sc
                    at = i
                }
            }
            if at < 0 { break }
            syms[at] = (syms[at].s + syms[at + 1].s, syms[at].lo, syms[at + 1].hi)
            syms.remove(at: at + 1)
        }
        var out: [ModelToken] = []
        for s in syms {
            if let id = ids[s.s] {
                out.append(ModelToken(id: id, value: s.s, lo: s.lo, hi: s.hi))
                continue
            }
            if byteFallback {
                let bytes = Array(s.s.utf8)
                let bi = bytes.compactMap { byteIds[Int($0)] }
                if bi.count == bytes.count {
                    for id in bi { out.append(ModelToken(id: id, value: pieces[id], lo: s.lo, hi: s.hi)) }
                    continue
                }
            }
            guard let u = unkId else { throw TokenizerError.unencodable(text: s.s, reason: "the SentencePiece model has no unk piece") }
            // sentencepiece merges a run of unknown pieces into one (SentencePieceProcessor::Encode).
            if let last = out.last, last.id == u, last.hi == s.lo {
                out[out.count - 1].hi = s.hi
                continue
            }
            out.append(ModelToken(id: u, value: pieces[u], lo: s.lo, hi: s.hi))
        }
        cache.put(key, out)
        return out
    }
}

/// A bounds-checked protobuf wire-format reader.
struct ProtoReader {
    let bytes: [UInt8]
    let file: String
    let base: Int
    var pos = 0
    var end: Int

    init(bytes: [UInt8], file: String, base: Int, start: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.file = file
        self.base = base
        self.pos = start
        self.end = end ?? bytes.count
    }

    var offset: Int { pos }

    func fail(_ what: String) -> TokenizerError {
        .invalidValue(file: file, path: "byte \(pos)", reason: what)
    }

    mutating func varint() throws -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < end else { throw fail("a varint runs past the end of its message") }
            let b = bytes[pos]
            pos += 1
            if shift >= 64 { throw fail("a varint longer than 10 bytes") }
            v |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return v }
            shift += 7
        }
    }

    mutating func tag() throws -> (Int, Int)? {
        if pos >= end { return nil }
        let t = try varint()
        let field = Int(truncatingIfNeeded: t >> 3)
        if field == 0 { throw fail("field number 0") }
        return (field, Int(t & 7))
    }

    mutating func length() throws -> Int {
        let n = try varint()
        guard n <= UInt64(end - pos) else { throw fail("a length of \(n) bytes runs past the end of its message") }
        return Int(n)
    }

    mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
        let n = try length()
        defer { pos += n }
        return bytes[pos..<(pos + n)]
    }

    mutating func string() throws -> String {
        let b = try lengthDelimited()
        guard let s = String(bytes: b, encoding: .utf8) else { throw fail("a string that is not UTF-8") }
        if s.unicodeScalars.count > TokenizerLimits.maxTokenScalars { throw fail("a piece longer than \(TokenizerLimits.maxTokenScalars) scalars") }
        return s
    }

    mutating func fixed32() throws -> UInt32 {
        guard end - pos >= 4 else { throw fail("a fixed32 runs past the end") }
        let v = UInt32(bytes[pos]) | UInt32(bytes[pos + 1]) << 8 | UInt32(bytes[pos + 2]) << 16 | UInt32(bytes[pos + 3]) << 24
        pos += 4
        return v
    }

    mutating func message() throws -> ProtoReader {
        let n = try length()
        let sub = ProtoReader(bytes: bytes, file: file, base: base, start: pos, end: pos + n)
        pos += n
        return sub
    }

    mutating func skip(_ wire: Int) throws {
        switch wire {
        case 0: _ = try varint()
        case 1:
            guard end - pos >= 8 else { throw fail("a fixed64 runs past the end") }
            pos += 8
        case 2: pos += try length()
        case 5:
            guard end - pos >= 4 else { throw fail("a fixed32 runs past the end") }
            pos += 4
        default: throw fail("wire type \(wire) is not one Porter reads (groups are obsolete)")
        }
    }
}
