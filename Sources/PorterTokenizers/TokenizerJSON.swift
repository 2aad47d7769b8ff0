import Foundation

/// Reads `tokenizer.json` (the Hugging Face `tokenizers` serialisation). Every component type is parsed
/// explicitly; unknown types are refused with the key path, never replaced by a near one.
public enum TokenizerJSON {
    public static func load(_ url: URL) throws -> Tokenizer {
        let name = url.path
        let data = try readBounded(url)
        return try parse(data, file: name)
    }

    static func readBounded(_ url: URL) throws -> Data {
        let name = url.path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: name, isDirectory: &isDir) else {
            throw TokenizerError.unreadable(file: name, reason: "no such file")
        }
        if isDir.boolValue { throw TokenizerError.unreadable(file: name, reason: "is a folder") }
        let size = (try? FileManager.default.attributesOfItem(atPath: name)[.size] as? Int) ?? 0
        if size > TokenizerLimits.maxFileBytes {
            throw TokenizerError.fileTooLarge(file: name, bytes: size, limit: TokenizerLimits.maxFileBytes)
        }
        do { return try Data(contentsOf: url) } catch {
            throw TokenizerError.unreadable(file: name, reason: (error as NSError).localizedDescription)
        }
    }

    public static func parse(_ data: Data, file: String = "tokenizer.json") throws -> Tokenizer {
        if data.count > TokenizerLimits.maxFileBytes {
            throw TokenizerError.fileTooLarge(file: file, bytes: data.count, limit: TokenizerLimits.maxFileBytes)
        }
        let root = try JSONNode.parse(data, file: file)
        _ = try root.object()
        let normalizer = try root.optional("normalizer").map { try parseNormalizer($0, depth: 0) }
        let pre = try root.optional("pre_tokenizer").map { try parsePreTokenizer($0, depth: 0) }
        let model = try parseModel(try root.required("model"))
        let post = try root.optional("post_processor").map { try parsePost($0, depth: 0) }
        var added: [AddedToken] = []
        if let list = try root.optional("added_tokens") {
            for node in try list.array(max: TokenizerLimits.maxAddedTokens) {
                let content = try boundedString(try node.required("content"))
                if content.isEmpty { throw try node.required("content").invalid("an added token cannot be empty") }
                let fileId = try node.required("id").int(min: 0, max: Int(Int32.max))
                // As `tokenizers` does when it loads a file: a token the model already has keeps the model's id.
                let t = AddedToken(
                    id: model.id(of: content) ?? fileId,
                    content: content,
                    singleWord: try node.bool("single_word", default: false),
                    lstrip: try node.bool("lstrip", default: false),
                    rstrip: try node.bool("rstrip", default: false),
                    normalized: try node.bool("normalized", default: true),
                    special: try node.bool("special", default: false))
                added.append(t)
            }
        }
        return try Tokenizer(model: model, normalizer: normalizer, preTokenizer: pre, postProcessor: post,
                             addedTokens: added, origin: "tokenizer.json")
    }

    static func boundedString(_ n: JSONNode) throws -> String {
        let s = try n.string()
        if s.unicodeScalars.count > TokenizerLimits.maxTokenScalars {
            throw TokenizerError.tooLarge(file: n.file, path: n.path, count: s.unicodeScalars.count, limit: TokenizerLimits.maxTokenScalars)
        }
        return s
    }

    static func type(of n: JSONNode) throws -> String { try n.required("type").string() }

    static func regex(_ n: JSONNode, dialect: SplitRegex.Dialect = .oniguruma) throws -> SplitRegex {
        let p = try n.string()
        if p.utf8.count > TokenizerLimits.maxPatternLength {
            throw TokenizerError.tooLarge(file: n.file, path: n.path, count: p.utf8.count, limit: TokenizerLimits.maxPatternLength)
        }
        do { return try SplitRegex(p, dialect: dialect) } catch {
            throw TokenizerError.badRegex(file: n.file, path: n.path, pattern: p, reason: (error as NSError).localizedDescription)
        }
    }

    /// `{"String": "…"}` or `{"Regex": "…"}`.
    static func pattern(_ n: JSONNode) throws -> (string: String?, regex: SplitRegex?) {
        if let s = try n.optional("String") { return (try boundedString(s), nil) }
        if let r = try n.optional("Regex") { return (nil, try regex(r)) }
        throw TokenizerError.missingKey(file: n.file, path: n.keyPath("String|Regex"))
    }

    static func checkDepth(_ n: JSONNode, _ depth: Int) throws {
        if depth >= TokenizerLimits.maxNesting {
            throw TokenizerError.tooLarge(file: n.file, path: n.path, count: depth, limit: TokenizerLimits.maxNesting)
        }
    }

    // MARK: normalizers

    static func parseNormalizer(_ n: JSONNode, depth: Int) throws -> Normalizer {
        try checkDepth(n, depth)
        let t = try type(of: n)
        switch t {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "StripAccents": return .stripAccents
        case "BertNormalizer":
            return .bert(cleanText: try n.bool("clean_text", default: true),
                         handleChineseChars: try n.bool("handle_chinese_chars", default: true),
                         stripAccents: try n.optional("strip_accents")?.bool(),
                         lowercase: try n.bool("lowercase", default: true))
        case "Prepend":
            return .prepend(try boundedString(try n.required("prepend")))
        case "Replace":
            let p = try pattern(try n.required("pattern"))
            let content = try boundedString(try n.required("content"))
            if let s = p.string { return .replace(pattern: .string(s), content: content) }
            return .replace(pattern: .regex(p.regex!), content: content)
        case "Strip":
            return .strip(left: try n.bool("strip_left", default: true), right: try n.bool("strip_right", default: true))
        case "Sequence":
            let list = try n.required("normalizers").array(max: 64)
            return .sequence(try list.map { try parseNormalizer($0, depth: depth + 1) })
        case "Precompiled":
            // An empty (or null) charsmap is SentencePiece's identity rule.
            guard let map = try n.optional("precompiled_charsmap"), case let text = try map.string(), !text.isEmpty else {
                return .sequence([])
            }
            return .precompiled(try PrecompiledCharsmap(base64: text, file: n.file, path: map.path))
        case "Nmt": return .nmt
        default:
            throw TokenizerError.unsupported(file: n.file, path: n.keyPath("type"), what: "normalizer \(t.debugDescription)")
        }
    }

    // MARK: pre-tokenizers

    static func behavior(_ n: JSONNode, key: String, default def: SplitBehavior) throws -> SplitBehavior {
        guard let b = try n.optional(key) else { return def }
        let s = try b.string()
        guard let v = SplitBehavior(rawValue: s) else {
            throw b.invalid("\(s.debugDescription) is not one of \(SplitBehavior.allCases.map { $0.rawValue }.joined(separator: ", "))")
        }
        return v
    }

    static func parsePreTokenizer(_ n: JSONNode, depth: Int) throws -> PreTokenizer {
        try checkDepth(n, depth)
        let t = try type(of: n)
        switch t {
        case "BertPreTokenizer": return .bert
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try n.bool("add_prefix_space", default: true),
                              useRegex: try n.bool("use_regex", default: true))
        case "Split":
            let p = try pattern(try n.required("pattern"))
            let b = try behavior(n, key: "behavior", default: .isolated)
            let inv = try n.bool("invert", default: false)
            if let s = p.string { return .split(pattern: .string(s), behavior: b, invert: inv) }
            return .split(pattern: .regex(p.regex!), behavior: b, invert: inv)
        case "Metaspace":
            let r = try n.optional("replacement").map { try $0.string() } ?? "▁"
            guard r.unicodeScalars.count == 1, let rs = r.unicodeScalars.first else {
                throw try n.required("replacement").invalid("the replacement must be one character")
            }
            var scheme = PreTokenizer.PrependScheme.always
            if let s = try n.optional("prepend_scheme") {
                let name = try s.string()
                guard let v = PreTokenizer.PrependScheme(rawValue: name) else {
                    throw s.invalid("\(name.debugDescription) is not one of always, first, never")
                }
                scheme = v
            } else if let a = try n.optional("add_prefix_space") {
                scheme = try a.bool() ? .always : .never
            }
            return .metaspace(replacement: rs, prependScheme: scheme, split: try n.bool("split", default: true))
        case "Digits":
            return .digits(individual: try n.bool("individual_digits", default: false))
        case "Punctuation":
            return .punctuation(try behavior(n, key: "behavior", default: .isolated))
        case "Sequence":
            let list = try n.required("pretokenizers").array(max: 64)
            return .sequence(try list.map { try parsePreTokenizer($0, depth: depth + 1) })
        default:
            throw TokenizerError.unsupported(file: n.file, path: n.keyPath("type"), what: "pre-tokenizer \(t.debugDescription)")
        }
    }

    // MARK: models

    static func parseModel(_ n: JSONNode) throws -> TokenModel {
        let t: String
        if try n.has("type") {
            t = try type(of: n)
        } else if try n.has("merges") {
            t = "BPE"  // files of tokenizers < 0.9 carry no model type
        } else if try n.has("continuing_subword_prefix") || n.has("max_input_chars_per_word") {
            t = "WordPiece"
        } else {
            t = "Unigram"
        }
        switch t {
        case "WordPiece":
            let vocab = try vocabObject(try n.required("vocab"))
            let unk = try n.string("unk_token", default: "[UNK]")
            guard vocab[unk] != nil else {
                throw TokenizerError.unknownToken(file: n.file, path: n.keyPath("unk_token"), token: unk)
            }
            return .wordPiece(try WordPiece(
                vocab: vocab, unkToken: unk,
                continuingSubwordPrefix: try n.string("continuing_subword_prefix", default: "##"),
                maxInputCharsPerWord: try n.optional("max_input_chars_per_word")?.int(min: 0, max: 1 << 30) ?? 100))
        case "BPE":
            if let d = try n.optional("dropout"), try d.double() != 0 {
                throw TokenizerError.unsupported(file: n.file, path: d.path, what: "BPE dropout (random segmentation)")
            }
            let vocabNode = try n.required("vocab")
            let vocab = try vocabObject(vocabNode)
            let mergesNode = try n.required("merges")
            var merges: [(String, String)] = []
            let list = try mergesNode.array(max: TokenizerLimits.maxMerges)
            merges.reserveCapacity(list.count)
            for m in list {
                if let s = m.value as? String {
                    let parts = splitScalars(s, separators: [" "], omittingEmpty: false)
                    guard parts.count == 2 else { throw m.invalid("a merge string must be two tokens separated by one space") }
                    merges.append((String(parts[0]), String(parts[1])))
                } else {
                    let pair = try m.array()
                    guard pair.count == 2 else { throw m.invalid("a merge must be a pair of tokens") }
                    merges.append((try pair[0].string(), try pair[1].string()))
                }
            }
            let unk = try n.optionalString("unk_token")
            if let u = unk, vocab[u] == nil {
                throw TokenizerError.unknownToken(file: n.file, path: n.keyPath("unk_token"), token: u)
            }
            return .bpe(try BPE(
                vocab: vocab, merges: merges, unkToken: unk,
                continuingSubwordPrefix: try n.optionalString("continuing_subword_prefix"),
                endOfWordSuffix: try n.optionalString("end_of_word_suffix"),
                fuseUnk: try n.bool("fuse_unk", default: false),
                byteFallback: try n.bool("byte_fallback", default: false),
                ignoreMerges: try n.bool("ignore_merges", default: false),
                file: n.file, mergesPath: mergesNode.path))
        case "Unigram":
            let list = try n.required("vocab").array(max: TokenizerLimits.maxVocab)
            var pieces: [(piece: String, score: Double)] = []
            pieces.reserveCapacity(list.count)
            for entry in list {
                let pair = try entry.array()
                guard pair.count == 2 else { throw entry.invalid("a unigram entry must be [piece, score]") }
                let piece = try boundedString(pair[0])
                if piece.isEmpty { throw pair[0].invalid("a piece cannot be empty") }
                pieces.append((piece, try pair[1].double()))
            }
            let unk = try n.optional("unk_id")?.int(min: 0, max: Int(Int32.max))
            if let u = unk, u >= pieces.count {
                throw TokenizerError.idConflict(file: n.file, path: n.keyPath("unk_id"), id: u, reason: "is not an index of model.vocab (\(pieces.count) entries)")
            }
            return .unigram(try Unigram(pieces: pieces, unkId: unk, byteFallback: try n.bool("byte_fallback", default: false), file: n.file))
        default:
            throw TokenizerError.unsupported(file: n.file, path: n.keyPath("type"), what: "model \(t.debugDescription)")
        }
    }

    static func vocabObject(_ n: JSONNode) throws -> Vocabulary {
        let o = try n.object()
        if o.count > TokenizerLimits.maxVocab {
            throw TokenizerError.tooLarge(file: n.file, path: n.path, count: o.count, limit: TokenizerLimits.maxVocab)
        }
        var vocab = Vocabulary()
        vocab.reserveCapacity(o.count)
        var seen: [Int: String] = [:]
        seen.reserveCapacity(o.count)
        for (k, v) in o.members {
            let node = JSONNode(value: v, path: "\(n.path)[\(k.debugDescription)]", file: n.file)
            let id = try node.int(min: 0, max: Int(Int32.max))
            if k.unicodeScalars.count > TokenizerLimits.maxTokenScalars {
                throw TokenizerError.tooLarge(file: n.file, path: node.path, count: k.unicodeScalars.count, limit: TokenizerLimits.maxTokenScalars)
            }
            if let other = seen[id] {
                throw TokenizerError.idConflict(file: n.file, path: node.path, id: id, reason: "is also the id of \(TokenizerError.clip(other))")
            }
            seen[id] = k
            vocab[k] = id
        }
        return vocab
    }

    // MARK: post-processors

    static func nameAndId(_ n: JSONNode) throws -> (String, Int) {
        let a = try n.array()
        guard a.count == 2 else { throw n.invalid("should be [token, id]") }
        return (try a[0].string(), try a[1].int(min: 0, max: Int(Int32.max)))
    }

    static func parsePost(_ n: JSONNode, depth: Int) throws -> PostProcessor {
        try checkDepth(n, depth)
        let t = try type(of: n)
        switch t {
        case "TemplateProcessing":
            var items: [PostProcessor.TemplateItem] = []
            for item in try n.required("single").array(max: TokenizerLimits.maxTemplateItems) {
                if let s = try item.optional("SpecialToken") {
                    items.append(.special(try s.required("id").string(), typeId: try s.optional("type_id")?.int(min: 0, max: 255) ?? 0))
                } else if let s = try item.optional("Sequence") {
                    let which = try s.required("id").string()
                    guard which == "A" else { throw s.invalid("the single template can only hold sequence A, not \(which.debugDescription)") }
                    items.append(.sequence(typeId: try s.optional("type_id")?.int(min: 0, max: 255) ?? 0))
                } else {
                    throw item.invalid("a template item is {\"SpecialToken\": …} or {\"Sequence\": …}")
                }
            }
            var specials: [String: (ids: [Int], tokens: [String])] = [:]
            if let sp = try n.optional("special_tokens") {
                for (k, _) in try sp.object().members {
                    let e = try sp.required(k)
                    let ids = try e.required("ids").array(max: TokenizerLimits.maxTemplateItems).map { try $0.int(min: 0, max: Int(Int32.max)) }
                    let toks = try e.required("tokens").array(max: TokenizerLimits.maxTemplateItems).map { try $0.string() }
                    guard ids.count == toks.count else { throw e.invalid("ids and tokens differ in length") }
                    specials[k] = (ids, toks)
                }
            }
            for case let .special(name, _) in items where specials[name] == nil {
                throw TokenizerError.missingKey(file: n.file, path: n.keyPath("special_tokens.\(name)"))
            }
            return .template(single: items, specials: specials)
        case "BertProcessing":
            return .bert(sep: try nameAndId(try n.required("sep")), cls: try nameAndId(try n.required("cls")))
        case "RobertaProcessing":
            return .roberta(sep: try nameAndId(try n.required("sep")), cls: try nameAndId(try n.required("cls")),
                            trimOffsets: try n.bool("trim_offsets", default: true),
                            addPrefixSpace: try n.bool("add_prefix_space", default: true))
        case "ByteLevel":
            return .byteLevel(trimOffsets: try n.bool("trim_offsets", default: true),
                              addPrefixSpace: try n.bool("add_prefix_space", default: true))
        case "Sequence":
            let list = try n.required("processors").array(max: 64)
            return .sequence(try list.map { try parsePost($0, depth: depth + 1) })
        default:
            throw TokenizerError.unsupported(file: n.file, path: n.keyPath("type"), what: "post-processor \(t.debugDescription)")
        }
    }
}
