import ArgumentParser
import Foundation
import PorterPipeline

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a model's forward pass on Porter's runtime, write its outputs, and time it.",
        discussion: """
            MODEL is any model Porter builds a graph for: a stored graph (Keras, SavedModel, ONNX, Porter's format) \
            or an architecture descriptor's (Hugging Face folders of BERT, GPT-2, Llama, …). The tensors of \
            --inputs are matched by name to the graph's inputs (a lone `input` binds to a graph with one input); \
            the outputs are written as safetensors, atomically. With --repeat the pass runs N times and the \
            median, min and max wall times are printed.

            Examples:
              porter run bert/ --inputs ids.safetensors -o out.safetensors
              porter run model.keras --inputs x.safetensors --repeat 10 --threads 2 --json
            """)

    @Argument(help: "The model file or folder.")
    var model: String

    @Option(help: "A safetensors file of the graph's inputs, by name.")
    var inputs: String

    @Option(name: .shortAndLong, help: "Where to write the outputs (safetensors).")
    var output: String?

    @Option(help: "Run the forward pass this many times, each timed.")
    var `repeat`: Int = 1

    @Option(help: "Threads for the runtime and OpenBLAS (default: every core).")
    var threads: Int?

    @Flag(help: "Print JSON for machines: median_ms, min_ms, max_ms, runs, outputs.")
    var json = false

    @Flag(help: "Flush the output to disk before moving it into place.")
    var fsync = false

    @OptionGroup var from: FromOption
    @OptionGroup var force: ForceOption

    func validate() throws {
        if `repeat` < 1 { throw ValidationError("--repeat must be at least 1, got \(`repeat`)") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1, got \(t)") }
        if let o = output, URL(fileURLWithPath: o).standardizedFileURL == URL(fileURLWithPath: inputs).standardizedFileURL {
            throw ValidationError("the output must differ from the inputs file")
        }
    }

    func run() throws {
        let request = RunRequest(model: URL(fileURLWithPath: model), inputs: URL(fileURLWithPath: inputs),
                                 output: output.map { URL(fileURLWithPath: $0) }, repeats: `repeat`, threads: threads,
                                 force: force.force, syncToDisk: fsync, from: from.from)
        let result = try Pipeline().run(request)
        print(json ? try result.json() : result.text(), terminator: "")
    }
}
