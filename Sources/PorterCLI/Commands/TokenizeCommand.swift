import ArgumentParser
import Foundation
import PorterCore
import PorterTokenizers

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode text with a model's own tokenizer: ids, tokens and offsets.",
        discussion: """
            MODEL is a Hugging Face model folder (tokenizer.json, else tokenizer.model, else vocab.json + \
            merges.txt, else vocab.txt), a tokenizer.json file or a SentencePiece .model file. Offsets are Unicode scalar \
            (character) ranges in each text, as the Python tokenizers library reports them.

            Examples:
              porter tokenize bert-base-uncased/ "Hello, world!"
              porter tokenize tokenizer.json --json --no-special-tokens "a b" "c d"
              porter tokenize model/ --file notes.txt
            """)

    @Argument(help: "A model folder, a tokenizer.json or a SentencePiece .model file.")
    var model: String

    @Argument(help: "Texts to encode, one encoding each.")
    var texts: [String] = []

    @Option(help: "Encode this file's whole content as one more text (UTF-8).")
    var file: String?

    @Flag(help: "Print JSON for machines.")
    var json = false

    @Flag(help: "Do not add the post-processor's special tokens ([CLS], <s>, …).")
    var noSpecialTokens = false

    func validate() throws {
        if texts.isEmpty && file == nil { throw ValidationError("give at least one TEXT or --file") }
    }

    func run() throws {
        let tokenizer = try TokenizerLoader.load(URL(fileURLWithPath: model))
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
        var results: [JSONValue] = []
        var lines = ""
        for (i, text) in inputs.enumerated() {
            let e = try tokenizer.encode(text, addSpecialTokens: !noSpecialTokens)
            if json {
                results.append(.object([
                    "text": .string(text),
                    "ids": .array(e.ids.map { .int(Int64($0)) }),
                    "tokens": .array(e.tokens.map { .string($0) }),
                    "offsets": .array(e.offsets.map { .array([.int(Int64($0.start)), .int(Int64($0.end))]) }),
                ]))
            } else {
                lines += "text \(i + 1): \(text.debugDescription) → \(e.ids.count) tokens\n"
                lines += "  ids: \(e.ids.map(String.init).joined(separator: " "))\n"
                for k in e.ids.indices {
                    let o = e.offsets[k]
                    lines += "  \(String(e.ids[k]).padding(toLength: 8, withPad: " ", startingAt: 0)) \(e.tokens[k].debugDescription.padding(toLength: 24, withPad: " ", startingAt: 0)) \(o.start)..<\(o.end)\n"
                }
            }
        }
        if json {
            let doc: JSONValue = .object(["tokenizer": .string(tokenizer.origin), "encodings": .array(results)])
            print(String(decoding: try doc.encoded(pretty: true), as: UTF8.self))
        } else {
            print(lines, terminator: "")
        }
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
