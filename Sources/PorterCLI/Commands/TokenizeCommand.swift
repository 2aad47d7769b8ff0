import ArgumentParser
import Foundation
import PorterCore
import PorterPipeline

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode text with a model's own tokenizer: ids, tokens and offsets.",
        discussion: """
            MODEL is a Hugging Face model folder (tokenizer.json, else tokenizer.model, else vocab.json + \
            merges.txt, else vocab.txt), a tokenizer.json file, a SentencePiece .model file or a GGUF file \
            (its tokenizer.ggml.* metadata, also of a vocabulary-only file). Offsets are Unicode scalar \
            (character) ranges in each text, as the Python tokenizers library reports them.

            Examples:
              porter tokenize bert-base-uncased/ "Hello, world!"
              porter tokenize tokenizer.json --json --no-special-tokens "a b" "c d"
              porter tokenize model/ --file notes.txt
              porter tokenize ggml-vocab-llama-bpe.gguf --write-tokenizer llama-bpe-tok/ "Hello"
            """)

    @Argument(help: "A model folder, a tokenizer.json, a SentencePiece .model or a GGUF file.")
    var model: String

    @Argument(help: "Texts to encode, one encoding each.")
    var texts: [String] = []

    @Option(help: "Encode this file's whole content as one more text (UTF-8).")
    var file: String?

    @Flag(help: "Print JSON for machines.")
    var json = false

    @Flag(help: "Do not add the post-processor's special tokens ([CLS], <s>, …).")
    var noSpecialTokens = false

    @Option(help: ArgumentHelp("Also write the tokenizer of a GGUF file as tokenizer.json + tokenizer_config.json into this folder (what --to hf writes; works for vocabulary-only files).", valueName: "DIR"))
    var writeTokenizer: String?

    @Flag(help: "Replace the --write-tokenizer folder if it exists (only when it holds nothing else).")
    var force = false

    func validate() throws {
        if texts.isEmpty && file == nil && writeTokenizer == nil { throw ValidationError("give at least one TEXT or --file") }
    }

    func run() throws {
        var inputs = texts
        if let f = file {
            let url = URL(fileURLWithPath: f)
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw TokenizeCommandError.unreadableText(file: f, reason: (error as NSError).localizedDescription)
            }
            guard let s = String(data: data, encoding: .utf8) else { throw TokenizeCommandError.notUTF8(file: f) }
            inputs.append(s)
        }
        if let dir = writeTokenizer {
            let written = try Pipeline().writeTokenizer(of: URL(fileURLWithPath: model), to: URL(fileURLWithPath: dir), force: force)
            FileHandle.standardError.write(Data("wrote \(written.joined(separator: ", ")) to \(dir)\n".utf8))
            if inputs.isEmpty { return }
        }
        let result = try Pipeline().tokenize(URL(fileURLWithPath: model), texts: inputs, addSpecialTokens: !noSpecialTokens)
        print(json ? try result.json() : result.text(), terminator: "")
    }
}

enum TokenizeCommandError: Error, LocalizedError {
    case unreadableText(file: String, reason: String)
    case notUTF8(file: String)

    var errorDescription: String? {
        switch self {
        case let .unreadableText(file, reason): return "\(file): cannot read the text file: \(reason)"
        case let .notUTF8(file): return "\(file): the text file is not UTF-8"
        }
    }
}
