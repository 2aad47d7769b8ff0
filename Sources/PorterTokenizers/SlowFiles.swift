import Foundation

/// The tokenizer files that came before `tokenizer.json`, built into the components transformers builds
/// from them (its `BertTokenizer` / `GPT2Tokenizer` loading a folder of slow files).
public enum SlowTokenizerFiles {
    /// BERT's `vocab.txt`: one token per line, the line number its id. `tokenizer_config.json` beside it
    /// may set `do_lower_case`, `strip_accents`, `tokenize_chinese_chars` (defaults: true, unset, true).
    public static func bert(vocab url: URL, config: URL?) throws -> Tokenizer {
        let name = url.path
        let data = try TokenizerJSON.readBounded(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.invalidValue(file: name, path: "(bytes)", reason: "not UTF-8 text")
        }
        var vocab = Vocabulary()
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if lines.count > TokenizerLimits.maxVocab {
            throw TokenizerError.tooLarge(file: name, path: "(lines)", count: lines.count, limit: TokenizerLimits.maxVocab)
        }
        for (i, raw) in lines.enumerated() {
            let token = raw.hasSuffix("\r") ? String(raw.dropLast()) : raw
            if token.unicodeScalars.count > TokenizerLimits.maxTokenScalars {
                throw TokenizerError.tooLarge(file: name, path: "line \(i + 1)", count: token.unicodeScalars.count, limit: TokenizerLimits.maxTokenScalars)
            }
            vocab[token] = i
        }
        var lower = true, strip: Bool? = nil, chinese = true
        if let c = config, FileManager.default.fileExists(atPath: c.path) {
            let node = try JSONNode.parse(try TokenizerJSON.readBounded(c), file: c.path)
            lower = try node.bool("do_lower_case", default: true)
            strip = try node.optional("strip_accents")?.bool()
            chinese = try node.bool("tokenize_chinese_chars", default: true)
        }
        guard vocab["[UNK]"] != nil else { throw TokenizerError.unknownToken(file: name, path: "(lines)", token: "[UNK]") }
        let model = try WordPiece(vocab: vocab, unkToken: "[UNK]")
        var post: PostProcessor?
        if let cls = vocab["[CLS]"], let sep = vocab["[SEP]"] {
            post = .template(single: [.special("[CLS]", typeId: 0), .sequence(typeId: 0), .special("[SEP]", typeId: 0)],
                             specials: ["[CLS]": ([cls], ["[CLS]"]), "[SEP]": ([sep], ["[SEP]"])])
        }
        let added = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { t in
            vocab[t].map { AddedToken(id: $0, content: t, normalized: false, special: true) }
        }
        return try Tokenizer(model: .wordPiece(model),
                             normalizer: .bert(cleanText: true, handleChineseChars: chinese, stripAccents: strip, lowercase: lower),
                             preTokenizer: .bert, postProcessor: post, addedTokens: added, origin: "vocab.txt")
    }

    /// GPT-2's `vocab.json` + `merges.txt` (a `#version` first line is skipped): byte-level BPE with
    /// GPT-2's split pattern, no prefix space, `<|endoftext|>` as special token when the vocabulary has it.
    public static func gpt2(vocab: URL, merges: URL) throws -> Tokenizer {
        let vnode = try JSONNode.parse(try TokenizerJSON.readBounded(vocab), file: vocab.path)
        let v = try TokenizerJSON.vocabObject(vnode)
        let mdata = try TokenizerJSON.readBounded(merges)
        guard let mtext = String(data: mdata, encoding: .utf8) else {
            throw TokenizerError.invalidValue(file: merges.path, path: "(bytes)", reason: "not UTF-8 text")
        }
        var pairs: [(String, String)] = []
        for (i, line) in mtext.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l.isEmpty || (i == 0 && l.hasPrefix("#version")) { continue }
            let parts = splitScalars(l, separators: [" "], omittingEmpty: false)
            guard parts.count == 2 else {
                throw TokenizerError.invalidValue(file: merges.path, path: "line \(i + 1)", reason: "a merge is two tokens separated by one space")
            }
            pairs.append((String(parts[0]), String(parts[1])))
            if pairs.count > TokenizerLimits.maxMerges {
                throw TokenizerError.tooLarge(file: merges.path, path: "(lines)", count: pairs.count, limit: TokenizerLimits.maxMerges)
            }
        }
        let model = try BPE(vocab: v, merges: pairs, file: merges.path, mergesPath: "merges.txt")
        let added = v["<|endoftext|>"].map { [AddedToken(id: $0, content: "<|endoftext|>", normalized: false, special: true)] } ?? []
        return try Tokenizer(model: .bpe(model), preTokenizer: .byteLevel(addPrefixSpace: false, useRegex: true),
                             addedTokens: added, origin: "vocab.json + merges.txt")
    }

    /// transformers' FSMT files: `vocab-src.json` (subwords with `</w>` at word ends) and `merges.txt`
    /// (`left right`, further fields ignored), as `FSMTTokenizer` runs them on pre-tokenized text (its Moses
    /// normalization and tokenization are not run): BPE per whitespace-separated word, `<unk>` for a
    /// subword the vocabulary lacks, `</s>` appended; `do_lower_case` in `tokenizer_config.json` lowercases.
    public static func fsmt(vocab url: URL, merges: URL, config: URL?) throws -> Tokenizer {
        var c: [UInt8]?
        if let config, FileManager.default.fileExists(atPath: config.path) { c = [UInt8](try TokenizerJSON.readBounded(config)) }
        return try fsmt(vocab: [UInt8](try TokenizerJSON.readBounded(url)), merges: [UInt8](try TokenizerJSON.readBounded(merges)),
                        config: c, file: url.path, mergesFile: merges.path)
    }

    /// The same from the files' bytes (a model's assets); `file` names them in errors.
    public static func fsmt(vocab: [UInt8], merges: [UInt8], config: [UInt8]?, file: String, mergesFile: String? = nil) throws -> Tokenizer {
        let url = URL(fileURLWithPath: file), merges = (bytes: merges, path: mergesFile ?? "\(file) merges.txt")
        let v = try TokenizerJSON.vocabObject(try JSONNode.parse(Data(vocab), file: file))
        guard let text = String(bytes: merges.bytes, encoding: .utf8) else {
            throw TokenizerError.invalidValue(file: merges.path, path: "(bytes)", reason: "not UTF-8 text")
        }
        var pairs: [(String, String)] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.last == "" { lines.removeLast() }
        for (i, line) in lines.enumerated() {
            let parts = splitScalars(line, separators: [" ", "\t", "\r"], omittingEmpty: true)
            guard parts.count >= 2 else {
                throw TokenizerError.invalidValue(file: merges.path, path: "line \(i + 1)", reason: "a merge is two tokens separated by a space")
            }
            pairs.append((String(parts[0]), String(parts[1])))
            if pairs.count > TokenizerLimits.maxMerges {
                throw TokenizerError.tooLarge(file: merges.path, path: "(lines)", count: pairs.count, limit: TokenizerLimits.maxMerges)
            }
        }
        var lower = false
        if let config {
            lower = try JSONNode.parse(Data(config), file: "tokenizer_config.json").bool("do_lower_case", default: false)
        }
        guard let eos = v["</s>"] else { throw TokenizerError.unknownToken(file: url.path, path: "\"</s>\"", token: "</s>") }
        let model = try WordBPE(vocab: v, merges: pairs, spelling: .endOfWordSuffix, unkToken: "<unk>", file: url.path)
        return try Tokenizer(model: .wordBPE(model), normalizer: lower ? .lowercase : nil, preTokenizer: .whitespaceSplit,
                             postProcessor: .template(single: [.sequence(typeId: 0), .special("</s>", typeId: 0)],
                                                      specials: ["</s>": (ids: [eos], tokens: ["</s>"])]),
                             origin: "vocab-src.json + merges.txt")
    }
}
