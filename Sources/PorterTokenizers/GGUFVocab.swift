import Foundation
import PorterCore

/// llama.cpp's token types (`tokenizer.ggml.token_type`, `llama_token_type`).
public enum GGUFTokenType: Int, Sendable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// One row of the pre-tokenizer table: the name llama.cpp gives a byte-level BPE family
/// (`tokenizer.ggml.pre`) and the `tokenizer.json` configuration it stands for, as the
/// family's real `tokenizer.json` spells it.
public struct GGUFPreTokenizer: Sendable {
    public let name: String
    /// The `normalizer` JSON text (`null` for none).
    public let normalizer: String
    /// The `pre_tokenizer` JSON texts this name stands for: the first is what Porter writes,
    /// the others are the same behaviour spelled another way (accepted when read, exactly).
    public let preTokenizers: [String]
    /// llama.cpp sets `ignore_merges` for this name (the vocabulary's whole words win).
    public let ignoreMerges: Bool
    /// Where llama.cpp's tokenizer for this name differs from the `tokenizer.json` it stands for
    /// (told to the user as a note of the conversion), or nil.
    public var llamaCppDiffers: String? = nil
}

/// The one table between `tokenizer.ggml.pre` and `tokenizer.json`'s normalizer, pre-tokenizer and
/// `ignore_merges`, used both ways. A configuration that is not in it is refused by name, never
/// mapped to the nearest entry. `trim_offsets` is not compared: it moves offsets, never ids.
public enum GGUFPreTokenizerTable {
    static let gpt2Split = #"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"#
    static let llama3Split = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"#
    static let qwen2Split = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"#
    static let byteLevelRegex = #"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"#
    static let byteLevelNoRegex = #"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":false}"#
    static func split(_ p: String) -> String { #"{"type":"Split","pattern":{"Regex":""# + p + #""},"behavior":"Isolated","invert":false}"# }
    static func sequence(_ items: String...) -> String { #"{"type":"Sequence","pretokenizers":["# + items.joined(separator: ",") + "]}" }

    public static let entries: [GGUFPreTokenizer] = canonicalEntries + aliases

    static let canonicalEntries: [GGUFPreTokenizer] = [
        // GPT-2 (and every model that reuses its tokenizer.json): ByteLevel with GPT-2's regex.
        GGUFPreTokenizer(name: "gpt-2", normalizer: "null", preTokenizers: [byteLevelRegex, sequence(split(gpt2Split), byteLevelNoRegex)],
                         ignoreMerges: false),
        // Llama 3: Split with its pattern, then ByteLevel without a regex; ignore_merges.
        GGUFPreTokenizer(name: "llama-bpe", normalizer: "null", preTokenizers: [sequence(split(llama3Split), byteLevelNoRegex)],
                         ignoreMerges: true),
        // Qwen2 / Qwen2.5 / Qwen3: NFC, then Split with single digits, then ByteLevel.
        // llama.cpp's "qwen2" pre-tokenizer does not normalize, and GGUF has no normalizer key
        // (fixtures/generate/check_gguf_llamacpp_tokenize.py measured it).
        GGUFPreTokenizer(name: "qwen2", normalizer: #"{"type":"NFC"}"#, preTokenizers: [sequence(split(qwen2Split), byteLevelNoRegex)],
                         ignoreMerges: false,
                         llamaCppDiffers: "tokenizer.json normalizes text to NFC; GGUF has no normalizer key and llama.cpp's \"qwen2\" pre-tokenizer does not normalize, so text not already in NFC (decomposed accents, combining marks) can become other tokens in llama.cpp"),
        // SmolLM: each digit alone, then GPT-2's pattern.
        GGUFPreTokenizer(name: "smollm", normalizer: "null",
                         preTokenizers: [sequence(#"{"type":"Digits","individual_digits":true}"#, byteLevelRegex),
                                         sequence(#"{"type":"Digits","individual_digits":true}"#, split(gpt2Split), byteLevelNoRegex)],
                         ignoreMerges: false),
        // Qwen3.5: Qwen2's split with marks joining letters (the pattern llama.cpp quotes as the
        // tokenizer.json's in src/llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_QWEN35), and no NFC: llama.cpp's
        // test ids (made by transformers from the real tokenizer) keep a decomposed é as e + U+0301.
        GGUFPreTokenizer(name: "qwen35", normalizer: "null", preTokenizers: [sequence(split(qwen35Split), byteLevelNoRegex)],
                         ignoreMerges: false),
        // DeepSeek Coder: line breaks, letters, punctuation and CJK runs split apart, each digit alone
        // (llama.cpp's five DEEPSEEK_CODER regexes, in order).
        GGUFPreTokenizer(name: "deepseek-coder", normalizer: "null",
                         preTokenizers: [sequence(split(#"[\r\n]"#), split(#"\\s?\\p{L}+"#), split(#"\\s?\\p{P}+"#), split(cjkRun),
                                                  #"{"type":"Digits","individual_digits":true}"#, byteLevelNoRegex)],
                         ignoreMerges: false),
        // DeepSeek LLM: line breaks, Latin/Greek/Cyrillic-range letters, ASCII and full-width
        // punctuation, trailing whitespace, CJK runs, digit runs (llama.cpp's DEEPSEEK_LLM regexes).
        GGUFPreTokenizer(name: "deepseek-llm", normalizer: "null",
                         preTokenizers: [sequence(split(#"[\r\n]"#), split(deepseekLetters), split(#"\\s?[!-/:-~\#u{FF01}-\#u{FF0F}\#u{FF1A}-\#u{FF5E}\#u{2018}-\#u{201F}\#u{3000}-\#u{3002}]+"#),
                                                  split(#"\\s+$"#), split(cjkRun), #"{"type":"Digits","individual_digits":false}"#, byteLevelNoRegex)],
                         ignoreMerges: false),
        // "default": what llama.cpp runs for a gpt2 vocabulary whose file names no pre-tokenizer
        // (older files: GPT-NeoX, Aquila) or names "default": its four default BPE regexes in order
        // (src/llama-vocab.cpp, llama-cpp-python 0.3.36), each splitting the pieces of the one before.
        GGUFPreTokenizer(name: "default", normalizer: "null",
                         preTokenizers: [sequence(split(#"[\\p{P}\\$\\+<=>\\^~\\|]+"#), split(#"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"#),
                                                  split(#"\\p{N}+"#), split(#"[0-9][0-9][0-9]"#), byteLevelNoRegex)],
                         ignoreMerges: false),
        // Falcon: punctuation runs, GPT-2's regex, then digits in threes (llama.cpp's FALCON regexes).
        GGUFPreTokenizer(name: "falcon", normalizer: "null",
                         preTokenizers: [sequence(#"{"type":"Punctuation","behavior":"Contiguous"}"#, byteLevelRegex,
                                                  #"{"type":"Digits","individual_digits":false}"#, split(#"[0-9][0-9][0-9]"#))],
                         ignoreMerges: false),
    ]

    static let qwen35Split = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"#
    static let cjkRun = #"[\#u{4E00}-\#u{9FA5}\#u{800}-\#u{4E00}\#u{AC00}-\#u{D7FF}]+"#
    // Copied from src/llama-vocab.cpp as escapes: the class holds characters NFC would change (U+1F7D, U+212A…),
    // which retyping turned into their canonical equivalents and so into reversed ranges.
    static let deepseekLetters = #"\\s?[A-Za-z\#u{B5}\#u{C0}-\#u{D6}\#u{D8}-\#u{F6}\#u{F8}-\#u{1BA}\#u{1BC}-\#u{1BF}\#u{1C4}-\#u{293}\#u{295}-\#u{2AF}\#u{370}-\#u{373}\#u{376}\#u{377}\#u{37B}-\#u{37D}\#u{37F}\#u{386}\#u{388}-\#u{38A}\#u{38C}\#u{38E}-\#u{3A1}\#u{3A3}-\#u{3F5}\#u{3F7}-\#u{481}\#u{48A}-\#u{52F}\#u{531}-\#u{556}\#u{10A0}-\#u{10C5}\#u{13A0}-\#u{13F5}\#u{13F8}-\#u{13FD}\#u{1C90}-\#u{1CBA}\#u{1CBD}-\#u{1CBF}\#u{1D00}-\#u{1D2B}\#u{1D6B}-\#u{1D77}\#u{1D79}-\#u{1D9A}\#u{1E00}-\#u{1F15}\#u{1F18}-\#u{1F1D}\#u{1F20}-\#u{1F45}\#u{1F48}-\#u{1F4D}\#u{1F50}-\#u{1F57}\#u{1F59}\#u{1F5B}\#u{1F5D}\#u{1F5F}-\#u{1F7D}\#u{1F80}-\#u{1FB4}\#u{1FB6}-\#u{1FBC}\#u{1FBE}\#u{1FC2}-\#u{1FC4}\#u{1FC6}-\#u{1FCC}\#u{1FD0}-\#u{1FD3}\#u{1FD6}-\#u{1FDB}\#u{1FE0}-\#u{1FEC}\#u{1FF2}-\#u{1FF4}\#u{1FF6}-\#u{1FFC}\#u{2102}\#u{2107}\#u{210A}-\#u{2113}\#u{2115}\#u{2119}-\#u{211D}\#u{2124}\#u{2126}\#u{2128}\#u{212A}-\#u{212D}\#u{212F}-\#u{2134}\#u{2139}\#u{213C}-\#u{213F}\#u{2145}-\#u{2149}\#u{214E}\#u{2183}\#u{2184}\#u{2C00}-\#u{2C7B}\#u{2C7E}-\#u{2CE4}\#u{2CEB}-\#u{2CEE}\#u{2CF2}\#u{2CF3}\#u{A640}-\#u{A66D}\#u{A680}-\#u{A69B}\#u{A722}-\#u{A76F}\#u{A771}-\#u{A787}\#u{A78B}-\#u{A78E}\#u{AB70}-\#u{ABBF}\#u{FB00}-\#u{FB06}\#u{FB13}-\#u{FB17}\#u{FF21}-\#u{FF3A}\#u{FF41}-\#u{FF5A}\#u{10400}-\#u{1044F}\#u{104B0}-\#u{104D3}\#u{104D8}-\#u{104FB}\#u{10C80}-\#u{10CB2}\#u{10CC0}-\#u{10CF2}\#u{118A0}-\#u{118DF}\#u{1E900}-\#u{1E943}]+"#

    static let aliases: [GGUFPreTokenizer] = [
        // Names llama.cpp splits exactly as one of the above (src/llama-vocab.cpp, llama-cpp-python
        // 0.3.36: one `regex_exprs` case): StarCoder, Refact and Command-R as SmolLM (each digit, then
        // GPT-2's pattern), MPT as GPT-2. They come after the entry they share a configuration with,
        // so a tokenizer.json of that configuration is written as that entry's name.
        alias("starcoder", of: "smollm"), alias("refact", of: "smollm"), alias("command-r", of: "smollm"),
        alias("mpt", of: "gpt-2"),
    ]

    /// An entry under another name with the configuration of `base` (one of the entries above it).
    static func alias(_ name: String, of base: String) -> GGUFPreTokenizer {
        let b = canonicalEntries.first { $0.name == base }!
        return GGUFPreTokenizer(name: name, normalizer: b.normalizer, preTokenizers: b.preTokenizers, ignoreMerges: b.ignoreMerges,
                                llamaCppDiffers: b.llamaCppDiffers)
    }

    public static var names: [String] { entries.map(\.name) }

    public static func entry(named name: String) -> GGUFPreTokenizer? { entries.first { $0.name == name } }

    /// The entry whose configuration is exactly this one (after dropping `trim_offsets`), or nil.
    static func entry(normalizer: Any?, preTokenizer: Any?, ignoreMerges: Bool) -> GGUFPreTokenizer? {
        let n = canonical(normalizer ?? NSNull()), p = canonical(preTokenizer ?? NSNull())
        return entries.first { e in
            e.ignoreMerges == ignoreMerges && canonical(parsed(e.normalizer)) == n
                && e.preTokenizers.contains { canonical(parsed($0)) == p }
        }
    }

    static func parsed(_ text: String) -> Any {
        (try? JSONText.parse(Data(text.utf8))) ?? NSNull()
    }

    /// A JSON value as one comparable string: keys sorted, `trim_offsets` dropped, booleans as booleans.
    static func canonical(_ v: Any) -> String {
        switch v {
        case is NSNull: return "null"
        case let s as String: return JSONValue.string(s).compactText
        case let b as Bool: return b ? "true" : "false"
        case let n as JSONNumber: return n.text
        case let a as [Any]: return "[" + a.map(canonical).joined(separator: ",") + "]"
        case let o as JSONObject:
            let keys = o.members.map(\.key).filter { $0 != "trim_offsets" }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            return "{" + keys.map { JSONValue.string($0).compactText + ":" + canonical(o[$0]!) }.joined(separator: ",") + "}"
        case let o as [String: Any]:
            let keys = o.keys.filter { $0 != "trim_offsets" }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            return "{" + keys.map { JSONValue.string($0).compactText + ":" + canonical(o[$0]!) }.joined(separator: ",") + "}"
        default: return "?"
        }
    }
}

extension JSONValue {
    /// The value as compact JSON text (never fails for strings, numbers, booleans and null).
    var compactText: String { (try? String(decoding: encoded(pretty: false), as: UTF8.self)) ?? "null" }
}

/// A model's tokenizer as GGUF metadata (`tokenizer.ggml.*`, `tokenizer.chat_template`), read from a
/// GGUF file's key-values or made from `tokenizer.json` (+ `tokenizer_config.json`) or a SentencePiece
/// `tokenizer.model`, the way llama.cpp's `convert_hf_to_gguf.py` and gguf-py's `SpecialVocab` make it.
///
/// Four models: `gpt2` (byte-level BPE: tokens, token types, merges, and `tokenizer.ggml.pre` naming
/// the pre-tokenizer through `GGUFPreTokenizerTable`), `llama` (SentencePiece BPE: tokens, scores,
/// token types), `t5` (SentencePiece Unigram with its charsmap) and `bert` (WordPiece, read only). Porter runs it by writing the `tokenizer.json` transformers would hold for it
/// (`tokenizerJSON()`), so a GGUF file and the folder converted from it run one definition.
public struct GGUFVocab: Sendable, Equatable {
    public var model: String
    public var pre: String?
    public var tokens: [String]
    public var scores: [Float]?
    public var tokenTypes: [Int]?
    public var merges: [String]?
    public var bosId: Int?
    public var eosId: Int?
    public var unkId: Int?
    public var padId: Int?
    public var sepId: Int?
    public var maskId: Int?
    public var addBos: Bool?
    public var addEos: Bool?
    public var addSep: Bool?
    public var addSpacePrefix: Bool?
    public var chatTemplate: String?
    /// `t5` (Unigram): SentencePiece's normalization rules (`tokenizer.ggml.precompiled_charsmap`) and
    /// whether extra whitespace is removed (`tokenizer.ggml.remove_extra_whitespaces`).
    public var precompiledCharsmap: [UInt8]?
    public var removeExtraWhitespaces: Bool?
    /// `bert` (WordPiece): the `[CLS]` id (`tokenizer.ggml.cls_token_id`, older files; llama.cpp itself reads
    /// `bos_token_id`) and BertNormalizer's flags (`tokenizer.ggml.normalizer.lowercase` / `.strip_accents`;
    /// llama.cpp: lowercase when absent, accents stripped when lowercased).
    public var clsId: Int?
    public var normalizerLowercase: Bool?
    public var normalizerStripAccents: Bool?
    /// What llama.cpp will do differently from the tokenizer this vocabulary was made from, or what
    /// the file leaves open (not stored in the file; shown as notes of the conversion).
    public var notes: [String] = []

    public init(model: String, pre: String? = nil, tokens: [String], scores: [Float]? = nil, tokenTypes: [Int]? = nil,
                merges: [String]? = nil) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
    }

    static let p = "tokenizer.ggml."

    /// True when the metadata holds a tokenizer (`tokenizer.ggml.model`).
    public static func present(in metadata: [String: JSONValue]) -> Bool { metadata[p + "model"] != nil }

    // MARK: GGUF key-values → vocab

    /// Reads the tokenizer keys of a GGUF file's metadata (as `GGUFReader` puts them in the config).
    public init(metadata m: [String: JSONValue], file: String) throws {
        func key(_ k: String) -> String { k.hasPrefix("tokenizer.") ? k : Self.p + k }
        func string(_ k: String) throws -> String? {
            guard let v = m[key(k)] else { return nil }
            guard let s = v.stringValue else { throw TokenizerError.wrongType(file: file, path: key(k), expected: "a string") }
            return s
        }
        func id(_ k: String, count: Int) throws -> Int? {
            guard let v = m[key(k)] else { return nil }
            guard let i = v.intValue else { throw TokenizerError.wrongType(file: file, path: key(k), expected: "an integer") }
            // llama.cpp writes -1 (as uint32 0xFFFFFFFF in some files) for "none".
            if i == -1 || i == Int(UInt32.max) { return nil }
            guard i >= 0 && i < count else {
                throw TokenizerError.idConflict(file: file, path: key(k), id: i, reason: "is not an index of tokenizer.ggml.tokens (\(count) entries)")
            }
            return i
        }
        func bool(_ k: String) throws -> Bool? {
            guard let v = m[key(k)] else { return nil }
            guard let b = v.boolValue else { throw TokenizerError.wrongType(file: file, path: key(k), expected: "true or false") }
            return b
        }
        func array(_ k: String, max: Int) throws -> [JSONValue]? {
            guard let v = m[key(k)] else { return nil }
            guard let a = v.arrayValue else { throw TokenizerError.wrongType(file: file, path: key(k), expected: "an array") }
            if a.count > max { throw TokenizerError.tooLarge(file: file, path: key(k), count: a.count, limit: max) }
            return a
        }
        guard let model = try string("model") else { throw TokenizerError.missingKey(file: file, path: key("model")) }
        guard let list = try array("tokens", max: TokenizerLimits.maxVocab) else { throw TokenizerError.missingKey(file: file, path: key("tokens")) }
        var tokens: [String] = []
        tokens.reserveCapacity(list.count)
        for (i, t) in list.enumerated() {
            guard let s = t.stringValue else { throw TokenizerError.wrongType(file: file, path: "\(key("tokens"))[\(i)]", expected: "a string") }
            if s.unicodeScalars.count > TokenizerLimits.maxTokenScalars {
                throw TokenizerError.tooLarge(file: file, path: "\(key("tokens"))[\(i)]", count: s.unicodeScalars.count, limit: TokenizerLimits.maxTokenScalars)
            }
            tokens.append(s)
        }
        self.init(model: model, pre: try string("pre"), tokens: tokens)
        if model == "gpt2" && pre == nil {
            notes.append("the file names no tokenizer.ggml.pre: llama.cpp then splits text with its \"default\" regexes (warning that generation quality will be degraded), and so does the tokenizer.json Porter writes; the model's original pre-tokenizer is not recorded in the file, and may differ")
        }
        let n = tokens.count
        if let a = try array("scores", max: TokenizerLimits.maxVocab) {
            guard a.count == n else { throw TokenizerError.invalidValue(file: file, path: key("scores"), reason: "has \(a.count) entries for \(n) tokens") }
            scores = try a.enumerated().map { i, v in
                guard let d = v.doubleValue, d.isFinite else { throw TokenizerError.wrongType(file: file, path: "\(key("scores"))[\(i)]", expected: "a finite number") }
                return Float(d)
            }
        }
        if let a = try array("token_type", max: TokenizerLimits.maxVocab) {
            guard a.count == n else { throw TokenizerError.invalidValue(file: file, path: key("token_type"), reason: "has \(a.count) entries for \(n) tokens") }
            tokenTypes = try a.enumerated().map { i, v in
                guard let t = v.intValue, GGUFTokenType(rawValue: t) != nil else {
                    throw TokenizerError.invalidValue(file: file, path: "\(key("token_type"))[\(i)]", reason: "\(v) is not a llama.cpp token type (1…6)")
                }
                return t
            }
        }
        if let a = try array("merges", max: TokenizerLimits.maxMerges) {
            merges = try a.enumerated().map { i, v in
                guard let s = v.stringValue else { throw TokenizerError.wrongType(file: file, path: "\(key("merges"))[\(i)]", expected: "a string") }
                return s
            }
        }
        bosId = try id("bos_token_id", count: n)
        eosId = try id("eos_token_id", count: n)
        unkId = try id("unknown_token_id", count: n)
        padId = try id("padding_token_id", count: n)
        sepId = try id("seperator_token_id", count: n)
        maskId = try id("mask_token_id", count: n)
        clsId = try id("cls_token_id", count: n)
        normalizerLowercase = try bool("normalizer.lowercase")
        normalizerStripAccents = try bool("normalizer.strip_accents")
        addBos = try bool("add_bos_token")
        addEos = try bool("add_eos_token")
        addSep = try bool("add_sep_token")
        addSpacePrefix = try bool("add_space_prefix")
        chatTemplate = try string("tokenizer.chat_template")
        removeExtraWhitespaces = try bool("remove_extra_whitespaces")
        if let a = try array("precompiled_charsmap", max: PrecompiledCharsmap.maxBytes) {
            precompiledCharsmap = try a.enumerated().map { i, v in
                guard let b = v.intValue, (0...255).contains(b) else {
                    throw TokenizerError.wrongType(file: file, path: "\(key("precompiled_charsmap"))[\(i)]", expected: "a byte")
                }
                return UInt8(b)
            }
        }
    }

    /// The key-values a GGUF writer stores, with llama.cpp's key names (values typed by the writer:
    /// strings, int32 token types, float32 scores, uint32 ids, bools).
    public var keyValues: [String: JSONValue] {
        var kv: [String: JSONValue] = [Self.p + "model": .string(model), Self.p + "tokens": .array(tokens.map { .string($0) })]
        if let pre { kv[Self.p + "pre"] = .string(pre) }
        if let scores { kv[Self.p + "scores"] = .array(scores.map { .double(Double($0)) }) }
        if let tokenTypes { kv[Self.p + "token_type"] = .array(tokenTypes.map { .int(Int64($0)) }) }
        if let merges { kv[Self.p + "merges"] = .array(merges.map { .string($0) }) }
        for (k, v) in [("bos_token_id", bosId), ("eos_token_id", eosId), ("unknown_token_id", unkId),
                       ("padding_token_id", padId), ("seperator_token_id", sepId), ("mask_token_id", maskId), ("cls_token_id", clsId)] {
            if let v { kv[Self.p + k] = .int(Int64(v)) }
        }
        if let addBos { kv[Self.p + "add_bos_token"] = .bool(addBos) }
        if let addEos { kv[Self.p + "add_eos_token"] = .bool(addEos) }
        if let addSep { kv[Self.p + "add_sep_token"] = .bool(addSep) }
        if let addSpacePrefix { kv[Self.p + "add_space_prefix"] = .bool(addSpacePrefix) }
        if let chatTemplate { kv["tokenizer.chat_template"] = .string(chatTemplate) }
        if let removeExtraWhitespaces { kv[Self.p + "remove_extra_whitespaces"] = .bool(removeExtraWhitespaces) }
        if let precompiledCharsmap { kv[Self.p + "precompiled_charsmap"] = .array(precompiledCharsmap.map { .int(Int64($0)) }) }
        if let normalizerLowercase { kv[Self.p + "normalizer.lowercase"] = .bool(normalizerLowercase) }
        if let normalizerStripAccents { kv[Self.p + "normalizer.strip_accents"] = .bool(normalizerStripAccents) }
        return kv
    }

    func type(_ i: Int) -> GGUFTokenType { tokenTypes.flatMap { GGUFTokenType(rawValue: $0[i]) } ?? .normal }

    // MARK: vocab → tokenizer.json

    /// The tokenizer Porter runs for this metadata: the one `tokenizerJSON()` writes.
    public func tokenizer(file: String) throws -> Tokenizer {
        do {
            var t = try TokenizerJSON.parse(Data(try tokenizerJSON(file: file)), file: file)
            t.origin = "GGUF tokenizer.ggml.*"
            return t
        } catch let TokenizerError.mergeOutOfVocabulary(f, path, token) {
            // Name the GGUF key, not the tokenizer.json Porter made from it.
            throw TokenizerError.mergeOutOfVocabulary(file: f, path: path.replacingOccurrences(of: "model.merges", with: Self.p + "merges"), token: token)
        }
    }

    /// `tokenizer.json` as transformers holds it for this vocabulary: for `gpt2`, byte-level BPE with the
    /// normalizer and pre-tokenizer `tokenizer.ggml.pre` names in `GGUFPreTokenizerTable` (an unknown name
    /// is refused); for `llama`, SentencePiece BPE as transformers' LlamaConverter writes it (merges from
    /// the pieces by score, byte fallback, `▁` for spaces). Control and user-defined tokens of `gpt2`
    /// become added tokens; `add_bos_token` / `add_eos_token` become a TemplateProcessing post-processor.
    /// For `bert`, BERT's WordPiece tokenizer (BertNormalizer with the file's flags, BertPreTokenizer,
    /// `##` continuations, `[CLS] $A [SEP]`), the pieces spelled as transformers holds them.
    public func tokenizerJSON(file: String) throws -> [UInt8] {
        var seen = Set<TokenKey>()
        for (i, t) in tokens.enumerated() where !seen.insert(TokenKey(t)).inserted {
            throw TokenizerError.idConflict(file: file, path: "\(Self.p)tokens[\(i)]", id: i, reason: "repeats the token \(TokenizerError.clip(t))")
        }
        var vocab = OrderedJSON.object(tokens.enumerated().map { ($1, .int($0)) })
        var postProcessor = OrderedJSON.null
        var doc: [(String, OrderedJSON)] = [("version", .string("1.0")), ("truncation", .null), ("padding", .null)]
        var added: [OrderedJSON] = []
        var model: [(String, OrderedJSON)]
        var normalizer = OrderedJSON.null, preTokenizer = OrderedJSON.null, decoder = OrderedJSON.null
        let kind = try self.kind(file: file)
        switch kind {
        case .gpt2:
            // No name: llama.cpp runs its "default" regexes (and says generation quality will suffer).
            let pre = self.pre ?? "default"
            guard let entry = GGUFPreTokenizerTable.entry(named: pre) else {
                throw TokenizerError.unsupported(file: file, path: Self.p + "pre",
                                                 what: "pre-tokenizer \(pre.debugDescription) (Porter's table: \(GGUFPreTokenizerTable.names.joined(separator: ", ")))")
            }
            guard let merges else { throw TokenizerError.missingKey(file: file, path: Self.p + "merges") }
            normalizer = .raw(entry.normalizer)
            preTokenizer = .raw(entry.preTokenizers[0])
            decoder = .raw(#"{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true}"#)
            for (i, t) in tokens.enumerated() where type(i) == .control || type(i) == .userDefined {
                let special = type(i) == .control
                added.append(Self.addedToken(id: i, content: t, normalized: !special, special: special))
            }
            model = [("type", .string("BPE")), ("dropout", .null), ("unk_token", unkId.map { .string(tokens[$0]) } ?? .null),
                     ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)),
                     ("byte_fallback", .bool(false)), ("ignore_merges", .bool(entry.ignoreMerges)), ("vocab", vocab),
                     ("merges", .array(merges.map { .string($0) }))]
        case .llama:
            guard let scores else { throw TokenizerError.missingKey(file: file, path: Self.p + "scores") }
            if let pre, pre != "default" {
                throw TokenizerError.unsupported(file: file, path: Self.p + "pre", what: "pre-tokenizer \(pre.debugDescription) for a SentencePiece (llama) vocabulary (only \"default\")")
            }
            // UNUSED tokens (convert_hf_to_gguf.py's `[PAD<n>]` rows past the SentencePiece model) keep
            // their ids but take part in no merge, so encoding never produces them, as sentencepiece never does.
            // USER_DEFINED tokens (Phi-3's `</s>`: added tokens of the HF
            // tokenizer) are matched in the text before the model, as llama.cpp matches them even without
            // parse_special, and take part in no merge: added tokens, normalized false, not special. The text
            // after one is normalized on its own (`▁` prepended), as llama.cpp prefixes a space after a token.
            for i in tokens.indices where type(i) == .userDefined {
                added.append(Self.addedToken(id: i, content: tokens[i], normalized: false, special: false))
            }
            let unk = unkId ?? tokens.indices.first { type($0) == .unknown }
            vocab = .object(tokens.enumerated().map { ($1, .int($0)) })
            var parts: [OrderedJSON] = []
            if addSpacePrefix ?? true { parts.append(.raw(#"{"type":"Prepend","prepend":"▁"}"#)) }
            parts.append(.raw(#"{"type":"Replace","pattern":{"String":" "},"content":"▁"}"#))
            normalizer = .object([("type", .string("Sequence")), ("normalizers", .array(parts))])
            decoder = .raw(#"{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"}"#
                           + ((addSpacePrefix ?? true) ? #",{"type":"Strip","content":" ","start":1,"stop":0}"# : "") + "]}")
            model = [("type", .string("BPE")), ("dropout", .null), ("unk_token", unk.map { .string(tokens[$0]) } ?? .null),
                     ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null), ("fuse_unk", .bool(true)),
                     ("byte_fallback", .bool(tokens.indices.contains { type($0) == .byte })), ("ignore_merges", .bool(false)),
                     ("vocab", vocab), ("merges", .array(Self.sentencePieceMerges(tokens: tokens, scores: scores, types: tokens.indices.map(type))))]
        case .unigram:
            // SentencePiece Unigram (T5, XLM-R and their kin) as transformers' SpmConverter writes it:
            // the charsmap as a Precompiled normalizer, then right strip and runs of spaces as one ▁,
            // Metaspace, Unigram with the scores; control and unknown tokens are special added tokens.
            guard let scores else { throw TokenizerError.missingKey(file: file, path: Self.p + "scores") }
            if let pre, pre != "default" {
                throw TokenizerError.unsupported(file: file, path: Self.p + "pre", what: "pre-tokenizer \(pre.debugDescription) for a Unigram (t5) vocabulary (only \"default\")")
            }
            if removeExtraWhitespaces == false {
                throw TokenizerError.unsupported(file: file, path: Self.p + "remove_extra_whitespaces", what: "a Unigram vocabulary that keeps extra whitespace (transformers' converter always removes it)")
            }
            guard let unk = unkId ?? tokens.indices.first(where: { type($0) == .unknown }) else {
                throw TokenizerError.missingKey(file: file, path: Self.p + "unknown_token_id")
            }
            for (i, t) in tokens.enumerated() where [.control, .unknown, .userDefined].contains(type(i)) {
                let special = type(i) != .userDefined
                added.append(Self.addedToken(id: i, content: t, normalized: !special, special: special))
            }
            var parts: [OrderedJSON] = []
            if let map = precompiledCharsmap, !map.isEmpty {
                _ = try PrecompiledCharsmap(map[...], file: file, path: Self.p + "precompiled_charsmap")
                parts.append(.object([("type", .string("Precompiled")), ("precompiled_charsmap", .string(Data(map).base64EncodedString()))]))
            }
            parts.append(.raw(#"{"type":"Strip","strip_left":false,"strip_right":true}"#))
            parts.append(.raw(#"{"type":"Replace","pattern":{"Regex":" {2,}"},"content":"▁"}"#))
            normalizer = .object([("type", .string("Sequence")), ("normalizers", .array(parts))])
            let scheme = (addSpacePrefix ?? true) ? "always" : "never"
            preTokenizer = .raw(#"{"type":"Metaspace","replacement":"▁","prepend_scheme":""# + scheme + #"","split":true}"#)
            decoder = .raw(#"{"type":"Metaspace","replacement":"▁","prepend_scheme":""# + scheme + #"","split":true}"#)
            model = [("type", .string("Unigram")), ("unk_id", .int(unk)),
                     ("vocab", .array(tokens.indices.map { .array([.string(tokens[$0]), .double(Double(scores[$0]))]) })),
                     ("byte_fallback", .bool(tokens.indices.contains { type($0) == .byte }))]
        case .wordPiece:
            let words = try wordPieceTokens(file: file)
            guard let unk = unkId else { throw TokenizerError.missingKey(file: file, path: Self.p + "unknown_token_id") }
            // llama.cpp's WPM adds bos_token_id … seperator_token_id around the text (cls_token_id in older files).
            guard let cls = bosId ?? clsId else { throw TokenizerError.missingKey(file: file, path: Self.p + "bos_token_id") }
            guard let sep = sepId else { throw TokenizerError.missingKey(file: file, path: Self.p + "seperator_token_id") }
            for i in tokens.indices where type(i) == .control {
                added.append(Self.addedToken(id: i, content: words[i], normalized: false, special: true))
            }
            let lowercase = normalizerLowercase ?? true
            normalizer = .object([("type", .string("BertNormalizer")), ("clean_text", .bool(true)), ("handle_chinese_chars", .bool(true)),
                                  ("strip_accents", .bool(normalizerStripAccents ?? lowercase)), ("lowercase", .bool(lowercase))])
            preTokenizer = .raw(#"{"type":"BertPreTokenizer"}"#)
            decoder = .raw(###"{"type":"WordPiece","prefix":"##","cleanup":true}"###)
            postProcessor = Self.bertProcessing(cls: (words[cls], cls), sep: (words[sep], sep))
            model = [("type", .string("WordPiece")), ("unk_token", .string(words[unk])), ("continuing_subword_prefix", .string("##")),
                     ("max_input_chars_per_word", .int(100)), ("vocab", .object(words.enumerated().map { ($1, .int($0)) }))]
        }
        doc.append(("added_tokens", .array(added)))
        doc.append(("normalizer", normalizer))
        doc.append(("pre_tokenizer", preTokenizer))
        if kind != .wordPiece { postProcessor = try self.postProcessor(file: file) }
        doc.append(("post_processor", postProcessor))
        doc.append(("decoder", decoder))
        doc.append(("model", .object(model)))
        return Array(OrderedJSON.object(doc).text(pretty: true).utf8)
    }

    enum Kind { case gpt2, llama, unigram, wordPiece }

    func kind(file: String) throws -> Kind {
        switch model {
        case "gpt2": return .gpt2
        case "llama": return .llama
        case "t5": return .unigram
        case "bert": return .wordPiece
        default:
            throw TokenizerError.unsupported(file: file, path: Self.p + "model", what: "tokenizer model \(model.debugDescription) (Porter runs gpt2, llama, t5 and bert)")
        }
    }

    /// The WordPiece vocabulary of a `bert` GGUF: llama.cpp's converter writes word-initial pieces with a
    /// phantom `▁` and continuation pieces bare (`##ing` → `ing`), control tokens as they are (older
    /// converters: every `[…]` token as it is). Undone here: `▁x` → `x`, control and `[…]` tokens kept,
    /// any other `x` → `##x`. User-defined tokens are refused (the file does not record whether the HF
    /// tokenizer normalized them), and so is a vocabulary the undoing makes ambiguous (two equal pieces).
    func wordPieceTokens(file: String) throws -> [String] {
        var seen = Set<TokenKey>()
        return try tokens.enumerated().map { i, t in
            if type(i) == .userDefined {
                throw TokenizerError.unsupported(file: file, path: "\(Self.p)token_type[\(i)]",
                                                 what: "a user-defined token (\(TokenizerError.clip(t))) in a bert vocabulary: whether transformers normalized it is not recorded")
            }
            // By scalars: `▁` followed by an extending scalar (`▁🏽`) is one Character, and hasPrefix would miss it.
            let s = t.unicodeScalars
            let word: String
            if type(i) == .control || (s.first == "[" && s.last == "]") { word = t }
            else if s.first == "\u{2581}" { word = String(String.UnicodeScalarView(s.dropFirst())) }
            else { word = "##" + t }
            guard seen.insert(TokenKey(word)).inserted else {
                throw TokenizerError.idConflict(file: file, path: "\(Self.p)tokens[\(i)]", id: i,
                                                reason: "becomes \(TokenizerError.clip(word)) once llama.cpp's phantom-space spelling is undone, which an earlier token already is")
            }
            return word
        }
    }

    /// BERT's TemplateProcessing: `[CLS] $A [SEP]` and `[CLS] $A [SEP] $B:1 [SEP]:1`.
    static func bertProcessing(cls: (String, Int), sep: (String, Int)) -> OrderedJSON {
        func special(_ t: (String, Int), _ typeId: Int) -> OrderedJSON { .object([("SpecialToken", .object([("id", .string(t.0)), ("type_id", .int(typeId))]))]) }
        func seq(_ id: String, _ typeId: Int) -> OrderedJSON { .object([("Sequence", .object([("id", .string(id)), ("type_id", .int(typeId))]))]) }
        var specials: [(String, OrderedJSON)] = []
        for t in [cls, sep] where !specials.contains(where: { $0.0 == t.0 }) {
            specials.append((t.0, .object([("id", .string(t.0)), ("ids", .array([.int(t.1)])), ("tokens", .array([.string(t.0)]))])))
        }
        return .object([("type", .string("TemplateProcessing")), ("single", .array([special(cls, 0), seq("A", 0), special(sep, 0)])),
                        ("pair", .array([special(cls, 0), seq("A", 0), special(sep, 0), seq("B", 1), special(sep, 1)])),
                        ("special_tokens", .object(specials))])
    }

    /// One `added_tokens` entry of tokenizer.json (never single-word, no stripping).
    static func addedToken(id: Int, content: String, normalized: Bool, special: Bool) -> OrderedJSON {
        .object([("id", .int(id)), ("content", .string(content)), ("single_word", .bool(false)), ("lstrip", .bool(false)),
                 ("rstrip", .bool(false)), ("normalized", .bool(normalized)), ("special", .bool(special))])
    }

    /// TemplateProcessing: `<bos> $A <eos>` as `add_bos_token` / `add_eos_token` say (llama.cpp's defaults:
    /// bos for `llama`, nothing for `gpt2`).
    func postProcessor(file: String) throws -> OrderedJSON {
        let bos = (addBos ?? (model == "llama")) ? bosId : nil
        let eos = (addEos ?? false) ? eosId : nil
        if (addBos ?? false) && bosId == nil { throw TokenizerError.missingKey(file: file, path: Self.p + "bos_token_id") }
        if (addEos ?? false) && eosId == nil { throw TokenizerError.missingKey(file: file, path: Self.p + "eos_token_id") }
        if bos == nil && eos == nil { return .null }
        func special(_ id: Int) -> OrderedJSON { .object([("SpecialToken", .object([("id", .string(tokens[id])), ("type_id", .int(0))]))]) }
        var single: [OrderedJSON] = []
        var pair: [OrderedJSON] = []
        if let bos { single.append(special(bos)); pair.append(special(bos)) }
        single.append(.object([("Sequence", .object([("id", .string("A")), ("type_id", .int(0))]))]))
        pair.append(.object([("Sequence", .object([("id", .string("A")), ("type_id", .int(0))]))]))
        if let eos { single.append(special(eos)); pair.append(special(eos)) }
        if let bos { pair.append(.object([("SpecialToken", .object([("id", .string(tokens[bos])), ("type_id", .int(1))]))])) }
        pair.append(.object([("Sequence", .object([("id", .string("B")), ("type_id", .int(1))]))]))
        if let eos { pair.append(.object([("SpecialToken", .object([("id", .string(tokens[eos])), ("type_id", .int(1))]))])) }
        var specials: [(String, OrderedJSON)] = []
        for id in [bos, eos].compactMap({ $0 }) where !specials.contains(where: { $0.0 == tokens[id] }) {
            specials.append((tokens[id], .object([("id", .string(tokens[id])), ("ids", .array([.int(id)])), ("tokens", .array([.string(tokens[id])]))])))
        }
        return .object([("type", .string("TemplateProcessing")), ("single", .array(single)), ("pair", .array(pair)),
                        ("special_tokens", .object(specials))])
    }

    /// transformers' SentencePiece merges: the normal pieces by descending score (stable), each with every
    /// split into two pieces of the vocabulary, ordered by the left piece's id, then the right's.
    static func sentencePieceMerges(tokens: [String], scores: [Float], types: [GGUFTokenType]) -> [OrderedJSON] {
        sentencePieceMergePairs(tokens: tokens, scores: scores, types: types).map { .array([.string($0.0), .string($0.1)]) }
    }

    static func sentencePieceMergePairs(tokens: [String], scores: [Float], types: [GGUFTokenType]) -> [(String, String)] {
        var ids: [TokenKey: Int] = [:]
        for (i, t) in tokens.enumerated() where types[i] != .unused && types[i] != .userDefined && ids[TokenKey(t)] == nil { ids[TokenKey(t)] = i }
        let order = tokens.indices.filter { types[$0] == .normal }.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
        var out: [(String, String)] = []
        for i in order {
            let sc = Array(tokens[i].unicodeScalars)
            var splits: [(Int, Int, String, String)] = []
            for k in 1..<max(sc.count, 1) {
                let l = string(sc[..<k]), r = string(sc[k...])
                if let a = ids[TokenKey(l)], let b = ids[TokenKey(r)] { splits.append((a, b, l, r)) }
            }
            splits.sort { ($0.0, $0.1) < ($1.0, $1.1) }
            out += splits.map { ($0.2, $0.3) }
        }
        return out
    }

    /// `tokenizer_config.json` for the folder: the special tokens by content, add_bos/add_eos, the chat template.
    public func tokenizerConfigJSON() -> [UInt8] {
        var o: [(String, OrderedJSON)] = []
        var words = tokens
        if model == "bert" {
            // BERT's [CLS] … [SEP] is the post-processor's; add_bos/add_eos would have transformers rebuild it.
            words = (try? wordPieceTokens(file: "")) ?? tokens
            if let cls = bosId ?? clsId { o.append(("cls_token", .string(words[cls]))) }
        } else {
            o.append(("add_bos_token", .bool(addBos ?? (model == "llama"))))
            o.append(("add_eos_token", .bool(addEos ?? false)))
        }
        for (k, id) in [("bos_token", bosId), ("eos_token", eosId), ("unk_token", unkId), ("pad_token", padId), ("sep_token", sepId),
                        ("mask_token", maskId)] {
            if let id { o.append((k, .string(words[id]))) }
        }
        if let chatTemplate { o.append(("chat_template", .string(chatTemplate))) }
        o.append(("tokenizer_class", .string("PreTrainedTokenizerFast")))
        return Array(OrderedJSON.object(o).text(pretty: true).utf8)
    }

    // MARK: tokenizer.json → vocab

    /// The GGUF vocabulary of a `tokenizer.json` with its `tokenizer_config.json`: byte-level BPE of a
    /// family in `GGUFPreTokenizerTable` as `convert_hf_to_gguf.py` (`_set_vocab_gpt2`) and gguf-py's
    /// `SpecialVocab` make it — tokens by id (a missing id is `[PAD<id>]`, unused), special added tokens
    /// CONTROL, other added tokens USER_DEFINED, merges as `"a b"`, special ids from the config's token
    /// names, add_bos/add_eos from the config or else the post-processor's template — or a SentencePiece
    /// BPE ported to `tokenizer.json` (`fromSentencePieceBPE`).
    public static func fromTokenizerJSON(_ data: [UInt8], config: [UInt8]?, modelConfig: [String: JSONValue] = [:],
                                         file: String) throws -> GGUFVocab {
        let root = try JSONNode.parse(Data(data), file: file)
        let model = try root.required("model")
        guard try model.string("type", default: "BPE") == "BPE", try model.has("merges") else {
            throw TokenizerError.unsupported(file: file, path: model.keyPath("type"), what: "a \(try model.string("type", default: "?")) model for GGUF (Porter writes BPE from tokenizer.json; Unigram from tokenizer.model)")
        }
        let ignoreMerges = try model.bool("ignore_merges", default: false)
        let norm = try root.optional("normalizer")?.value, preTok = try root.optional("pre_tokenizer")?.value
        if let addSpacePrefix = sentencePieceNormalizer(norm, preTokenizer: preTok) {
            return try fromSentencePieceBPE(root, data: data, addSpacePrefix: addSpacePrefix, config: config, modelConfig: modelConfig, file: file)
        }
        guard let entry = GGUFPreTokenizerTable.entry(normalizer: norm, preTokenizer: preTok, ignoreMerges: ignoreMerges) else {
            if try model.bool("byte_fallback", default: false) || preTok.map({ canonical($0).contains("\"Metaspace\"") }) == true {
                throw TokenizerError.unsupported(file: file, path: preTok == nil ? "normalizer" : "pre_tokenizer",
                                                 what: "a SentencePiece-style BPE with normalizer \(clipped(norm)) and pre-tokenizer \(clipped(preTok)) for GGUF (llama.cpp's llama vocabulary runs transformers' Llama port: normalizer Prepend \"▁\" + Replace \" \" → \"▁\", no pre-tokenizer; with the model's tokenizer.model beside tokenizer.json, Porter writes the vocabulary from that)")
            }
            throw TokenizerError.unsupported(file: file, path: "pre_tokenizer",
                                             what: "the pre-tokenizer \(clipped(preTok)) with normalizer \(clipped(norm)) and ignore_merges \(ignoreMerges), which has no tokenizer.ggml.pre name in Porter's table (\(GGUFPreTokenizerTable.names.joined(separator: ", "))); refused rather than given the nearest name")
        }
        let bpe = try BPEParts(root, data: data, modelConfig: modelConfig, file: file)
        var v = GGUFVocab(model: "gpt2", pre: entry.name, tokens: bpe.tokens, tokenTypes: bpe.types.map(\.rawValue), merges: bpe.merges.map { $0.0 + " " + $0.1 })
        if let differs = entry.llamaCppDiffers { v.notes.append(differs) }
        try v.applySpecials(root: root, config: config, modelConfig: modelConfig, file: file, idOf: { bpe.contentIds[$0] })
        return v
    }

    static func canonical(_ v: Any?) -> String { GGUFPreTokenizerTable.canonical(v ?? NSNull()) }
    static func clipped(_ v: Any?) -> String {
        let shown = canonical(v)
        return shown.count > 300 ? String(shown.prefix(300)) + "…" : shown
    }

    /// Whether `tokenizer.json`'s normalizer and pre-tokenizer are transformers' (legacy) Llama port of a
    /// SentencePiece model, which llama.cpp's `llama` vocabulary runs: the normalizer `Prepend "▁"`
    /// (present: true, absent: false, the add_space_prefix) then `Replace " " → "▁"`, no pre-tokenizer.
    /// Nil for anything else (Metaspace with `prepend_scheme: first` prepends only to the text's first
    /// part, llama.cpp after every special token too).
    static func sentencePieceNormalizer(_ normalizer: Any?, preTokenizer: Any?) -> Bool? {
        guard preTokenizer == nil || preTokenizer is NSNull else { return nil }
        let prepend = #"{"type":"Prepend","prepend":"▁"}"#, replace = #"{"type":"Replace","pattern":{"String":" "},"content":"▁"}"#
        let n = canonical(normalizer)
        for (parts, prefix) in [([prepend, replace], true), ([replace], false)] {
            if n == canonical(GGUFPreTokenizerTable.parsed(#"{"type":"Sequence","normalizers":["# + parts.joined(separator: ",") + "]}")) { return prefix }
        }
        if n == canonical(GGUFPreTokenizerTable.parsed(replace)) { return false }
        return nil
    }

    /// What both BPE routes read from `tokenizer.json`: tokens by id (a missing id is `[PAD<id>]`,
    /// UNUSED, as `convert_hf_to_gguf.py`'s get_vocab_base), added tokens as CONTROL (special) or
    /// USER_DEFINED, the merges, and the ids of added tokens by content.
    struct BPEParts {
        var tokens: [String] = [], types: [GGUFTokenType] = [], merges: [(String, String)] = []
        var vocab: Vocabulary
        var contentIds: [String: Int] = [:]

        init(_ root: JSONNode, data: [UInt8], modelConfig: [String: JSONValue], file: String) throws {
            let model = try root.required("model")
            // The Porter tokenizer checks vocab, merges and ids.
            _ = try TokenizerJSON.parse(Data(data), file: file)
            vocab = try TokenizerJSON.vocabObject(try model.required("vocab"))
            var byId: [Int: String] = [:]
            for (t, i) in vocab.entries { byId[i] = t }
            var addedSpecial: [Int: Bool] = [:]
            if let list = try root.optional("added_tokens") {
                for n in try list.array(max: TokenizerLimits.maxAddedTokens) {
                    let c = try n.required("content").string()
                    let id = try vocab[c] ?? n.required("id").int(min: 0, max: Int(Int32.max))
                    byId[id] = c
                    addedSpecial[id] = try n.bool("special", default: false)
                    contentIds[c] = id
                }
            }
            var count = (byId.keys.max() ?? -1) + 1
            if let rows = try GGUFVocab.embeddingRows(modelConfig, tokens: count, file: file) { count = rows }
            tokens.reserveCapacity(count)
            for i in 0..<count {
                guard let t = byId[i] else { tokens.append("[PAD\(i)]"); types.append(.unused); continue }
                tokens.append(t)
                types.append(addedSpecial[i].map { $0 ? .control : .userDefined } ?? .normal)
            }
            for m in try model.required("merges").array(max: TokenizerLimits.maxMerges) {
                if let s = m.value as? String {
                    guard let space = s.firstIndex(of: " ") else { throw m.invalid("a merge must be two tokens separated by a space") }
                    merges.append((String(s[..<space]), String(s[s.index(after: space)...])))
                } else {
                    let pair = try m.array()
                    guard pair.count == 2 else { throw m.invalid("a merge must be a pair of tokens") }
                    merges.append((try pair[0].string(), try pair[1].string()))
                }
            }
        }
    }

    /// The GGUF `llama` vocabulary of a SentencePiece BPE ported to `tokenizer.json` the way transformers'
    /// LlamaConverter ports it (Llama 2 / Mistral folders without `tokenizer.model`). llama.cpp merges
    /// by piece score where `tokenizers` merges by rank, so the scores are made from the merges — a piece
    /// scores minus the rank of its first merge (from -1) — and the port must be exactly the one those scores give
    /// back (every split of each piece into two pieces, pieces by score: `sentencePieceMerges`). Then
    /// llama.cpp can only merge listed pairs, in the listed order. Merges that are not (a piece with a
    /// split the merges omit, which llama.cpp would merge; a merge out of its piece's place) are refused,
    /// naming the first that differs (a BPE trained by `tokenizers` usually has such pieces). A port
    /// with its merges reordered piece by piece is another valid port, written as it is. Byte pieces `<0xHH>` are BYTE, the unknown
    /// token UNKNOWN, added tokens CONTROL / USER_DEFINED; pieces made by no merge score below them all.
    static func fromSentencePieceBPE(_ root: JSONNode, data: [UInt8], addSpacePrefix: Bool, config: [UInt8]?,
                                     modelConfig: [String: JSONValue], file: String) throws -> GGUFVocab {
        let model = try root.required("model")
        var bpe = try BPEParts(root, data: data, modelConfig: modelConfig, file: file)
        let byteFallback = try model.bool("byte_fallback", default: false)
        let unk = try model.optional("unk_token").flatMap { $0.value is NSNull ? nil : try $0.string() }
        // The model's unk_token is the UNKNOWN piece (as in a tokenizer.model), added or not.
        for (i, t) in bpe.tokens.enumerated() where bpe.types[i] != .unused {
            if t == unk { bpe.types[i] = .unknown } else if bpe.types[i] == .normal, byteFallback, Self.isBytePiece(t) { bpe.types[i] = .byte }
        }
        // The special ids first (as SpecialVocab finds them): the pieces they name are CONTROL, as
        // LlamaHfVocab types them and as a tokenizer.model has them; the unknown piece stays UNKNOWN.
        var v = GGUFVocab(model: "llama", pre: "default", tokens: bpe.tokens)
        try v.applySpecials(root: root, config: config, modelConfig: modelConfig, file: file, idOf: { bpe.contentIds[$0] ?? bpe.vocab[$0] })
        for id in [v.bosId, v.eosId, v.padId, v.sepId, v.maskId].compactMap({ $0 }) where bpe.types[id] == .normal { bpe.types[id] = .control }
        if v.unkId == nil { v.unkId = bpe.types.firstIndex(of: .unknown) }
        // Scores from the merges: pieces by the rank of the first merge that makes them.
        var scores = [Float](repeating: 0, count: bpe.tokens.count)
        var ranked = 0
        var made = [Bool](repeating: false, count: bpe.tokens.count)
        for (k, (a, b)) in bpe.merges.enumerated() {
            guard let id = bpe.vocab[a + b], id < bpe.tokens.count else {
                throw TokenizerError.invalidValue(file: file, path: "model.merges[\(k)]", reason: "merges into \(TokenizerError.clip(a + b)), which is not in the vocabulary")
            }
            if made[id] { continue }
            guard bpe.types[id] == .normal else {
                throw TokenizerError.unsupported(file: file, path: "model.merges[\(k)]", what: "a merge into the \(bpe.types[id]) token \(TokenizerError.clip(a + b)) for GGUF's llama vocabulary (SentencePiece merges only normal pieces)")
            }
            guard ranked < 1 << 24 else { throw TokenizerError.tooLarge(file: file, path: "model.merges", count: bpe.merges.count, limit: 1 << 24) }
            made[id] = true
            ranked += 1
            scores[id] = -Float(ranked)
        }
        for i in bpe.tokens.indices where bpe.types[i] == .normal && !made[i] {
            ranked += 1
            scores[i] = -Float(ranked)
        }
        let types = bpe.types
        let expected = sentencePieceMergePairs(tokens: bpe.tokens, scores: scores, types: types)
        let given = bpe.merges
        for k in 0..<max(expected.count, given.count) {
            let want: (String, String)? = k < expected.count ? expected[k] : nil
            let got: (String, String)? = k < given.count ? given[k] : nil
            if want?.0 != got?.0 || want?.1 != got?.1 {
                func show(_ m: (String, String)?) -> String { m.map { "\(TokenizerError.clip($0.0)) \(TokenizerError.clip($0.1))" } ?? "none" }
                throw TokenizerError.unsupported(file: file, path: "model.merges[\(k)]",
                                                 what: "writing as GGUF a SentencePiece-style BPE whose merges are not a SentencePiece model's port (merge \(k) is \(show(got)); the port of the pieces in the order the merges rank them puts \(show(want)) there; llama.cpp merges any two adjacent pieces that make a piece, by score, so it could tokenize text differently; with the model's tokenizer.model beside tokenizer.json, Porter writes the vocabulary from that)")
            }
        }
        v.scores = scores
        v.tokenTypes = types.map(\.rawValue)
        if !addSpacePrefix { v.addSpacePrefix = false }
        return v
    }

    /// `<0xHH>` with upper-case hex digits: a SentencePiece byte piece. Only these are: `tokenizers`'
    /// byte fallback and llama.cpp's byte lookup both name a byte `<0x%02X>`, so a `<0x0a>` piece is
    /// an ordinary one (typed BYTE it would decode as the byte in llama.cpp, not as its text).
    static func isBytePiece(_ t: String) -> Bool {
        let u = Array(t.utf8)
        func hex(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 70) }
        return u.count == 6 && u[0] == 60 && u[1] == 48 && u[2] == 120 && hex(u[3]) && hex(u[4]) && u[5] == 62
    }

    /// The GGUF vocabulary of a SentencePiece `tokenizer.model` (BPE), as `convert_hf_to_gguf.py`'s
    /// `_set_vocab_sentencepiece` makes it: pieces, scores, token types; pre `default`; special ids from
    /// `tokenizer_config.json` (else the model's unk and `<s>` / `</s>` pieces).
    public static func fromSentencePiece(_ bytes: [UInt8], config: [UInt8]?, tokenizerJSON: [UInt8]? = nil,
                                         modelConfig: [String: JSONValue] = [:], file: String) throws -> GGUFVocab {
        let proto = try SentencePieceModel.parse(bytes, file: file)
        _ = try SentencePieceModel.tokenizer(proto, file: file)
        guard proto.modelType == 2 else {
            throw TokenizerError.unsupported(file: file, path: "trainer_spec.model_type", what: "SentencePiece model type \(proto.modelType) for GGUF (Porter writes the BPE type, llama.cpp's \"llama\" vocabulary)")
        }
        if proto.removeExtraWhitespaces {
            throw TokenizerError.unsupported(file: file, path: "normalizer_spec.remove_extra_whitespaces", what: "removing extra whitespace (llama.cpp's llama vocabulary keeps it)")
        }
        var v = GGUFVocab(model: "llama", pre: "default", tokens: proto.pieces.map(\.piece), scores: proto.pieces.map(\.score),
                          tokenTypes: proto.pieces.map { $0.type.rawValue })
        if let rows = try embeddingRows(modelConfig, tokens: v.tokens.count, file: file), rows > v.tokens.count {
            // convert_hf_to_gguf.py's _create_vocab_sentencepiece: `[PAD1]`… with score -1000, UNUSED.
            let pad = rows - v.tokens.count
            v.tokens += (1...pad).map { "[PAD\($0)]" }
            v.scores = (v.scores ?? []) + [Float](repeating: -1000, count: pad)
            v.tokenTypes = (v.tokenTypes ?? []) + [Int](repeating: GGUFTokenType.unused.rawValue, count: pad)
        }
        // As gguf-py's SpecialVocab: names of tokenizer_config.json found among tokenizer.json's added tokens.
        var contentIds: [String: Int] = [:]
        var root: JSONNode?
        if let tokenizerJSON {
            let r = try JSONNode.parse(Data(tokenizerJSON), file: "tokenizer.json")
            for n in try r.optional("added_tokens")?.array(max: TokenizerLimits.maxAddedTokens) ?? [] {
                contentIds[try n.required("content").string()] = try n.required("id").int(min: 0, max: Int(Int32.max))
            }
            root = r
        }
        try v.applySpecials(root: root, config: config, modelConfig: modelConfig, file: file, idOf: { contentIds[$0] })
        if !proto.addDummyPrefix { v.addSpacePrefix = false }
        return v
    }

    /// The number of tokens llama.cpp needs: one per embedding row, `config.json`'s `vocab_size` (nil
    /// when the config does not say). A tokenizer with more tokens than rows is refused, as
    /// `convert_hf_to_gguf.py` asserts: llama.cpp would refuse the file (its `token_embd` shape
    /// follows the token count).
    static func embeddingRows(_ modelConfig: [String: JSONValue], tokens: Int, file: String) throws -> Int? {
        guard let value = modelConfig["vocab_size"] else { return nil }
        guard let rows = value.intValue, rows > 0 else {
            throw TokenizerError.invalidValue(file: "config.json", path: "vocab_size", reason: "is not a positive integer")
        }
        guard rows <= TokenizerLimits.maxVocab else {
            throw TokenizerError.tooLarge(file: "config.json", path: "vocab_size", count: rows, limit: TokenizerLimits.maxVocab)
        }
        guard tokens <= rows else {
            throw TokenizerError.invalidValue(file: file, path: "model.vocab", reason: "holds \(tokens) tokens (ids up to \(tokens - 1)), but config.json's vocab_size is \(rows): the embedding has no row for the last \(tokens - rows), and llama.cpp would refuse the file")
        }
        return rows
    }

    /// Special ids, add_bos/add_eos and the chat template from `tokenizer_config.json`, then (for what it
    /// leaves open) from the `tokenizer.json` post-processor's single template, then `config.json`'s
    /// `*_token_id`, as gguf-py's SpecialVocab. A token name that is no added token is skipped, as there.
    mutating func applySpecials(root: JSONNode?, config: [UInt8]?, modelConfig: [String: JSONValue], file: String,
                                idOf: (String) -> Int?) throws {
        defer {
            let n = tokens.count
            func from(_ k: String) -> Int? { modelConfig[k]?.intValue.flatMap { $0 >= 0 && $0 < n ? $0 : nil } }
            bosId = bosId ?? from("bos_token_id")
            eosId = eosId ?? from("eos_token_id")
            unkId = unkId ?? from("unk_token_id")
            padId = padId ?? from("pad_token_id")
            sepId = sepId ?? from("sep_token_id")
        }
        var names: [String: String] = [:]
        var cfg: JSONNode?
        if let config {
            let c = try JSONNode.parse(Data(config), file: "tokenizer_config.json")
            _ = try c.object()
            cfg = c
            for k in ["bos", "eos", "unk", "pad", "sep", "cls", "mask"] {
                guard let n = try c.optional(k + "_token") else { continue }
                if let s = n.value as? String { names[k] = s } else if let s = try n.optional("content")?.value as? String { names[k] = s }
            }
            if names["bos"] == nil, let cls = names["cls"] { names["bos"] = cls }
            if names["eos"] == nil, let sep = names["sep"] { names["eos"] = sep }
            if let t = try c.optional("chat_template") {
                if let s = t.value as? String { chatTemplate = s } else {
                    throw TokenizerError.unsupported(file: "tokenizer_config.json", path: "chat_template", what: "a list of named chat templates")
                }
            }
        }
        if let root, let post = try root.optional("post_processor") {
            try templateSpecials(post, names: &names, hasConfig: config != nil)
        }
        if let c = cfg {
            if let b = try c.optional("add_bos_token") { addBos = try b.bool() }
            if let b = try c.optional("add_eos_token") { addEos = try b.bool() }
            if let b = try c.optional("add_sep_token") { addSep = try b.bool() }
        }
        // Ids only for tokenizer_config.json's names found among the added tokens (gguf-py's rule).
        guard config != nil else { return }
        if let s = names["mask"], let id = idOf(s) { maskId = maskId ?? id }
        if let s = names["bos"], let id = idOf(s) { bosId = bosId ?? id }
        if let s = names["eos"], let id = idOf(s) { eosId = eosId ?? id }
        if let s = names["unk"], let id = idOf(s) { unkId = unkId ?? id }
        if let s = names["sep"], let id = idOf(s) { sepId = sepId ?? id }
        if let s = names["pad"], let id = idOf(s) { padId = padId ?? id }
    }

    /// gguf-py's reading of a TemplateProcessing (alone or in a Sequence): a leading special token of
    /// `single` means add_bos, a trailing one add_eos; a special token between A and B in `pair` add_sep.
    mutating func templateSpecials(_ post: JSONNode, names: inout [String: String], hasConfig: Bool) throws {
        var processors = [post]
        if try post.string("type", default: "") == "Sequence" { processors = try post.required("processors").array(max: 64) }
        func special(_ n: JSONNode?) throws -> String? { try n?.optional("SpecialToken")?.optional("id")?.value as? String }
        for p in processors {
            let type = try p.string("type", default: "")
            if type == "RobertaProcessing" {
                addBos = true; addEos = true; addSep = true
                continue
            }
            guard type == "TemplateProcessing" else { continue }
            let single = try p.optional("single")?.array(max: TokenizerLimits.maxTemplateItems) ?? []
            var first: String?, last: String?
            if single.count > 1 {
                if let f = try special(single.first) {
                    first = f
                    if !hasConfig { names["bos"] = f }
                    addBos = f == names["bos"] || f == names["cls"]
                }
                if let l = try special(single.last) {
                    last = l
                    if !hasConfig { names["eos"] = l } else if l != names["eos"] { names["eos"] = l }
                    addEos = true
                }
            }
            var pair = try p.optional("pair")?.array(max: TokenizerLimits.maxTemplateItems) ?? []
            if let f = first, try special(pair.first) == f { pair.removeFirst() }
            if let l = last, try special(pair.last) == l { pair.removeLast() }
            func seq(_ n: JSONNode?) throws -> String? { try n?.optional("Sequence")?.optional("id")?.value as? String }
            guard pair.count > 2, try seq(pair.first) == "A", try seq(pair.last) == "B" else { continue }
            let middle = Array(pair[1..<(pair.count - 1)])
            var add = false
            if let e = try special(middle.first), e == names["sep"] || e == names["eos"], last == nil { add = true }
            if middle.count == 2, let e = try special(middle[1]), e == names["sep"] || e == names["eos"] { add = true }
            addSep = add
            if add && names["sep"] == nil && hasConfig { names["sep"] = names["eos"] }
        }
    }
}

/// JSON with object members in the order given (vocabularies by id), for writing `tokenizer.json`:
/// Foundation's dictionaries would reorder keys and merge canonically equivalent ones.
indirect enum OrderedJSON {
    case null, bool(Bool), int(Int), double(Double), string(String)
    case array([OrderedJSON])
    case object([(String, OrderedJSON)])
    /// JSON text spliced in as it is.
    case raw(String)

    func text(pretty: Bool) -> String {
        var out = ""
        write(into: &out, pretty: pretty, indent: 0)
        return out + (pretty ? "\n" : "")
    }

    func write(into out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d): out += JSONValue.double(d).compactText
        case let .string(s): out += JSONValue.string(s).compactText
        case let .raw(r): out += r
        case let .array(items):
            // Arrays of scalars (merges, template ids) stay on one line each.
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += pretty ? ", " : "," }
                item.write(into: &out, pretty: false, indent: 0)
            }
            out += "]"
        case let .object(members):
            out += "{"
            let pad = String(repeating: " ", count: indent + 1)
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + pad }
                out += JSONValue.string(k).compactText + (pretty ? ": " : ":")
                v.write(into: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty && !members.isEmpty { out += "\n" + String(repeating: " ", count: indent) }
            out += "}"
        }
    }
}
