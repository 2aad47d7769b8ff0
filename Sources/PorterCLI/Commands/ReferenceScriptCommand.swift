import ArgumentParser
import Foundation
import PorterCore
import PorterPipeline

/// The `--framework` values `reference-script` knows; which of them a model loads in is the
/// model's reader's answer (a value its format does not load in is a usage error too). A
/// misspelt one is checked by `FormatChoice.framework`, which suggests the nearest.
enum ReferenceFramework: String, CaseIterable {
    case torch, transformers, keras, tf, onnxruntime, fairseq
}

struct ReferenceScriptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reference-script",
        abstract: "Print a pinned Python script that records a model's outputs in its original framework, for verify --reference.",
        discussion: """
        The script loads MODEL in its own framework (transformers for a Hugging Face folder, TensorFlow for a SavedModel, tf-keras or \
        Keras 3 for .h5 / .keras, ONNX Runtime for .onnx, fairseq for a fairseq folder; torch for a bare .pt/.bin state dict \
        given with --read-option config=config.json, which names its architecture), makes seeded inputs with the names and shapes \
        of the graph Porter runs for the model, runs it, and writes reference.safetensors (inputs and \
        outputs) as `porter verify --reference` reads it. Its header lists the exact package versions to \
        install. Porter runs no Python itself.

        Examples:
          porter reference-script bert-tiny/ -o record.py
          python3 record.py            # writes reference.safetensors
          porter convert bert-tiny/ -o bert.safetensors
          porter verify bert-tiny/ bert.safetensors --reference reference.safetensors
          porter reference-script wmt19-en-ru/ --framework fairseq -o record.py
          porter reference-script pytorch_model.bin --framework torch --read-option config=config.json

        Frameworks (--framework): \(ReferenceFramework.allCases.map(\.rawValue).joined(separator: ", ")); the default is the model's own.
        """)

    @Argument(help: "The model, in the format its framework loads (a Hugging Face folder, .h5, .keras, .onnx, a fairseq folder, a .pt/.bin state dict).")
    var model: String

    @Option(help: ArgumentHelp("The framework to record in: \(ReferenceFramework.allCases.map(\.rawValue).joined(separator: ", ")) (default: the model format's own).",
                               valueName: "framework"),
            transform: FormatChoice.framework)
    var framework: ReferenceFramework?

    @Option(name: .shortAndLong, help: ArgumentHelp("Write the script to this file instead of standard output.", valueName: "file"))
    var output: String?

    @Option(help: ArgumentHelp("The file the script writes when run without arguments.", valueName: "name"))
    var referenceName: String = "reference.safetensors"

    @OptionGroup var from: FromOption
    @OptionGroup var settings: ReaderSettings
    @OptionGroup var force: ForceOption
    @OptionGroup var json: JSONOption

    mutating func validate() throws {
        try FormatChoice.checkReader(from.from, registry: Pipeline().registry)
    }

    func run() throws {
        let settings = ReferenceScriptSettings(framework: framework?.rawValue, from: from.from, readOptions: self.settings.dictionary,
                                               outputName: referenceName)
        let script: ReferenceScript
        do {
            script = try Pipeline().referenceScript(URL(fileURLWithPath: model), settings: settings)
        } catch let error as ReferenceScriptError {
            // A framework the model's format does not load in is a usage error, like a misspelt one.
            if case .frameworkNotAvailable = error { throw ValidationError(error.localizedDescription) }
            throw error
        }
        if let output {
            try AtomicOutput.write(to: URL(fileURLWithPath: output), force: force.force, layout: .file(producer: "porter reference-script")) { temp in
                try OutputFile.write(Data(script.text.utf8), to: temp)
            }
        }
        if json.json {
            print(try Self.json(script, written: output), terminator: "")
        } else if output == nil {
            print(script.text, terminator: "")
        }
    }

    /// `--json`: `{framework, recordedBy, inputs: [{name, dtype, shape}], outputs, script, written?}`.
    static func json(_ script: ReferenceScript, written: String?) throws -> String {
        var doc: [String: JSONValue] = [
            "framework": .string(script.framework), "recordedBy": .string(script.recordedBy),
            "inputs": .array(script.inputs.map { i in
                .object(["name": .string(i.name), "dtype": .string(i.dtype.rawValue), "shape": .array(i.shape.map { .int(Int64($0)) })])
            }),
            "outputs": .array(script.outputs.map { .string($0) }), "script": .string(script.text),
        ]
        if let written { doc["written"] = .string(written) }
        return String(decoding: try JSONValue.object(doc).encoded(pretty: true), as: UTF8.self) + "\n"
    }
}
