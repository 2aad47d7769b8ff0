import Foundation
import PorterCore
import PorterTokenizers
import PorterVerifier

/// What `porter tokenize` prints: each text's ids, tokens and character offsets.
public struct TokenizeResult: Sendable {
    public struct Item: Sendable {
        public var text: String
        public var ids: [Int]
        public var tokens: [String]
        public var offsets: [(start: Int, end: Int)]
    }
    /// Where the tokenizer came from (the file Porter read).
    public var origin: String
    public var items: [Item]

    /// Machine-readable form (`--json`).
    public func json() throws -> String {
        let encodings: [JSONValue] = items.map { e in
            .object([
                "text": .string(e.text),
                "ids": .array(e.ids.map { .int(Int64($0)) }),
                "tokens": .array(e.tokens.map { .string($0) }),
                "offsets": .array(e.offsets.map { .array([.int(Int64($0.start)), .int(Int64($0.end))]) }),
            ])
        }
        let doc: JSONValue = .object(["tokenizer": .string(origin), "encodings": .array(encodings)])
        return String(decoding: try doc.encoded(pretty: true), as: UTF8.self) + "\n"
    }

    /// Human-readable form: one block per text, one line per token.
    public func text() -> String {
        var lines = ""
        for (i, e) in items.enumerated() {
            lines += "text \(i + 1): \(e.text.debugDescription) → \(e.ids.count) tokens\n"
            lines += "  ids: \(e.ids.map(String.init).joined(separator: " "))\n"
            for k in e.ids.indices {
                let o = e.offsets[k]
                lines += "  \(String(e.ids[k]).padding(toLength: 8, withPad: " ", startingAt: 0)) \(e.tokens[k].debugDescription.padding(toLength: 24, withPad: " ", startingAt: 0)) \(o.start)..<\(o.end)\n"
            }
        }
        return lines
    }
}

extension Pipeline {
    /// Encodes `texts` with the tokenizer of `model` (a model folder, a `tokenizer.json`, a
    /// SentencePiece `.model`, or a model file whose format holds its tokenizer, such as a GGUF
    /// file's `tokenizer.ggml.*` metadata), with or without the post-processor's special tokens.
    public func tokenize(_ model: URL, texts: [String], addSpecialTokens: Bool) throws -> TokenizeResult {
        let tokenizer = try loadTokenizer(model)
        let items = try texts.map { text -> TokenizeResult.Item in
            let e = try tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
            return .init(text: text, ids: e.ids.map { Int($0) }, tokens: e.tokens, offsets: e.offsets.map { (Int($0.start), Int($0.end)) })
        }
        return TokenizeResult(origin: tokenizer.origin, items: items)
    }

    /// The tokenizer files of a folder or a tokenizer file (`TokenizerLoader`); else a model file read
    /// through the registry, whose format keeps the tokenizer in the file itself (the verifier's source,
    /// `FormatRegistry.formatTokenizer`: a GGUF file's metadata). A vocabulary-only GGUF file (llama.cpp's
    /// `ggml-vocab-*.gguf`) is read the same way.
    func loadTokenizer(_ url: URL) throws -> Tokenizer {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir)
        if !exists || isDir.boolValue || TokenizerLoader.hasTokenizer(at: url) { return try TokenizerLoader.load(url) }
        let (_, model) = try read(url)
        switch FormatRegistry.formatTokenizer(model, at: url) {
        case let .present(tokenizer, _)?: return tokenizer
        case let .unreadable(file, error)?:
            // The side's message already names the file: say it once.
            throw TokenizerError.unreadable(file: file, reason: error.hasPrefix(file + ": ") ? String(error.dropFirst(file.count + 2)) : error)
        case .absent?, nil:
            throw TokenizerError.unreadable(file: url.path, reason: "holds no tokenizer Porter reads (give a model folder, a tokenizer.json, a SentencePiece .model or a GGUF file with tokenizer.ggml.* metadata)")
        }
    }

    /// Writes the tokenizer of a model file whose format holds it (a GGUF file's metadata) as the
    /// `tokenizer.json` and `tokenizer_config.json` that `--to hf` puts in a folder, into the folder `output`
    /// (atomically; replaced only with `force`, and only when it holds nothing else). Returns the file names.
    public func writeTokenizer(of model: URL, to output: URL, force: Bool) throws -> [String] {
        let (_, neutral) = try read(model)
        let assets = try FormatRegistry.formatTokenizerAssets(neutral, at: model)
        guard !assets.isEmpty else {
            throw TokenizerError.unreadable(file: model.path, reason: "holds no tokenizer of its own format to write (--write-tokenizer takes a GGUF file with tokenizer.ggml.* metadata; a folder's tokenizer files are already files)")
        }
        let layout = OutputLayout.folder(assets.map { .file($0.fileName) }, producer: "porter tokenize --write-tokenizer")
        try AtomicOutput.write(to: output, force: force, layout: layout) { staging in
            do {
                try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
                for a in assets {
                    // OutputFile: no fsync unless asked (issue 14), as every other writer.
                    let out = try OutputFile(path: staging.appendingPathComponent(a.fileName).path)
                    try out.write(a.bytes)
                    try out.close()
                }
            } catch {
                throw CoreError.cannotWrite(path: output.path, reason: error.localizedDescription)
            }
        }
        return assets.map(\.fileName)
    }
}
