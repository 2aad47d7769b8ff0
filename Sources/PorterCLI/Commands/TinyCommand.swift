import ArgumentParser
import Foundation
import PorterPipeline

struct TinyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiny",
        abstract: "Make a tiny same-architecture copy of a Hugging Face model folder, with random weights, for CI fixtures.",
        discussion: """
        The config is rewritten through the model's architecture descriptor (BERT/RoBERTa, GPT-2, FSMT): \
        layers, hidden size, heads and intermediate size change, derived sizes follow, everything else is kept. \
        Tokenizer and vocabulary files are copied unchanged (the vocabulary size stays). Every weight gets seeded \
        random values in its own dtype, with the shape the descriptor gives for the new config; a README.md says \
        the weights are random. The output appears only when everything succeeded.

        Examples:
          porter tiny bert-base-uncased/ -o bert-tiny/
          porter tiny gpt2/ -o gpt2-tiny/ --layers 1 --hidden 16 --heads 2 --seed 7
        """)

    @Argument(help: "A Hugging Face model folder (config.json + weights + tokenizer files).")
    var source: String

    @Option(name: .shortAndLong, help: "The folder to write.")
    var output: String

    @Option(help: "Number of layers (default 2).")
    var layers: Int?

    @Option(help: "Hidden size (default 32).")
    var hidden: Int?

    @Option(help: "Attention heads; must divide the hidden size (default 4).")
    var heads: Int?

    @Option(help: "Feed-forward (intermediate) size (default 4 × hidden).")
    var intermediate: Int?

    @Option(help: "Seed of the random weights.")
    var seed: UInt64 = 0

    @OptionGroup var force: ForceOption
    @OptionGroup var quiet: QuietOption
    @OptionGroup var json: JSONOption

    func validate() throws {
        do { _ = try sizes.resolved() } catch { throw ValidationError(error.localizedDescription) }
        if URL(fileURLWithPath: source).standardizedFileURL == URL(fileURLWithPath: output).standardizedFileURL {
            throw ValidationError("the output must differ from the source")
        }
    }

    var sizes: TinySizes {
        .init(layers: layers, hidden: hidden, heads: heads, intermediate: intermediate)
    }

    func run() throws {
        let result = try Pipeline().tiny(TinyJob(
            source: URL(fileURLWithPath: source), output: URL(fileURLWithPath: output), sizes: sizes, seed: seed, force: force.force,
            command: (["porter"] + CommandLine.arguments.dropFirst()).joined(separator: " ")))
        if json.json { print(try result.json(), terminator: "") } else if !quiet.quiet { print(result.summary(), terminator: "") }
    }
}
