import Foundation
import PorterCore
import PorterTokenizers

/// The tokenizer between a Hugging Face folder's files and GGUF metadata (`tokenizer.ggml.*`,
/// `tokenizer.chat_template`), both ways, through `GGUFVocab` (PorterTokenizers). The two hooks:
/// the writer asks `keyValues(for:)` when it writes a transformers checkpoint; the reader asks
/// `assets(fromMetadata:file:)` when it prepares a GGUF file for `--to hf`.
public enum GGUFTokenizer {
    /// The tokenizer metadata for the model's tokenizer assets: a SentencePiece `tokenizer.model`
    /// (llama.cpp's `llama` vocabulary), else a `tokenizer.json` (byte-level BPE: `gpt2`; a SentencePiece
    /// BPE port: `llama`), each with
    /// `tokenizer_config.json`. Empty when the model carries no tokenizer. A tokenizer GGUF cannot hold
    /// as llama.cpp reads it (a pre-tokenizer without a `tokenizer.ggml.pre` name, WordPiece, …) is
    /// refused with the tokenizer's own message, never written approximately.
    public static func keyValues(for model: NeutralModel) throws -> [String: JSONValue] {
        try vocab(for: model)?.keyValues ?? [:]
    }

    /// What llama.cpp will do differently from the model's tokenizer with those keys (Qwen2's NFC
    /// normalizer, which GGUF cannot hold): notes for the conversion's report.
    public static func notes(for model: NeutralModel) throws -> [String] {
        try vocab(for: model)?.notes.map { "GGUF tokenizer: \($0)" } ?? []
    }

    /// The files a vocabulary is made from; the last one made is kept for the next ask.
    private struct Sources: Equatable {
        let sentencePiece: [UInt8]?, json: [UInt8]?, config: [UInt8]?
        let modelConfig: [String: JSONValue]
    }
    private static let lastLock = NSLock()
    nonisolated(unsafe) private static var last: (sources: Sources, vocab: GGUFVocab?)?

    /// The model's GGUF vocabulary. One conversion asks for it several times (the writer's check,
    /// its notes, the write itself, the output layout), and a Llama 3 `tokenizer.json` (128 K tokens,
    /// 280 K merges) takes a noticeable time to parse and port, so the last vocabulary made is
    /// reused while the same files are asked about.
    static func vocab(for model: NeutralModel) throws -> GGUFVocab? {
        let sources = Sources(sentencePiece: model.assets.first { $0.fileName == "tokenizer.model" }?.bytes,
                              json: model.assets.first { $0.fileName == "tokenizer.json" }?.bytes,
                              config: model.assets.first { $0.fileName == "tokenizer_config.json" }?.bytes,
                              modelConfig: model.config.objectValue ?? [:])
        lastLock.lock()
        let kept = last
        lastLock.unlock()
        if let kept, kept.sources == sources { return kept.vocab }
        let vocab = try makeVocab(sources)
        lastLock.lock()
        last = (sources, vocab)
        lastLock.unlock()
        return vocab
    }

    private static func makeVocab(_ sources: Sources) throws -> GGUFVocab? {
        let (config, json, modelConfig) = (sources.config, sources.json, sources.modelConfig)
        do {
            if let sp = sources.sentencePiece {
                return try GGUFVocab.fromSentencePiece(sp, config: config, tokenizerJSON: json, modelConfig: modelConfig,
                                                       file: "tokenizer.model")
            }
            if let json {
                return try GGUFVocab.fromTokenizerJSON(json, config: config, modelConfig: modelConfig, file: "tokenizer.json")
            }
        } catch {
            throw GGUFError.unwritable(tensor: nil, reason: "the tokenizer cannot be written as GGUF metadata: \(error.localizedDescription)")
        }
        return nil
    }

    /// What the file's tokenizer metadata leaves open (a gpt2 vocabulary that names no pre-tokenizer),
    /// as notes for the model read from it.
    public static func notes(fromMetadata metadata: [String: JSONValue], file: String) -> [String] {
        ((try? GGUFVocab(metadata: metadata, file: file))?.notes ?? []).map { "GGUF tokenizer: \($0)" }
    }

    /// `tokenizer.json` and `tokenizer_config.json` (with the chat template) for a GGUF file's tokenizer
    /// metadata; none when the file has no `tokenizer.ggml.model`.
    public static func assets(fromMetadata metadata: [String: JSONValue], file: String) throws -> [Asset] {
        guard GGUFVocab.present(in: metadata) else { return [] }
        do {
            let vocab = try GGUFVocab(metadata: metadata, file: file)
            let json = try vocab.tokenizerJSON(file: file)
            // What Porter writes must run: the verifier's tokenizer level reads it back.
            _ = try TokenizerJSON.parse(Data(json), file: "tokenizer.json")
            return [Asset(kind: "tokenizer", fileName: "tokenizer.json", bytes: json),
                    Asset(kind: "tokenizer-config", fileName: "tokenizer_config.json", bytes: vocab.tokenizerConfigJSON())]
        } catch let TokenizerError.unsupported(_, path, what) {
            throw GGUFError.badMetadata(file: file, key: path, reason: "\(what) has no tokenizer.json Porter can write; refused rather than approximated")
        } catch let e as TokenizerError {
            throw GGUFError.badMetadata(file: file, key: "tokenizer.ggml.*", reason: e.localizedDescription)
        }
    }
}
