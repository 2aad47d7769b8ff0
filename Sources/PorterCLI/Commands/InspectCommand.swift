import ArgumentParser
import Foundation
import PorterPipeline

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what is in a model file or folder: format, tensors, config.",
        discussion: """
            Examples:
              porter inspect model.safetensors
              porter inspect bert-base-uncased/ --json
              porter inspect ckpt --from tensorflow-checkpoint --read-option names=variables

            """ + "\n" + FormatHelp.readers)

    @Argument(help: "A model file or folder.")
    var path: String

    @Flag(help: "Print JSON for machines instead of a table.")
    var json = false

    @OptionGroup var from: FromOption
    @OptionGroup var settings: ReaderSettings

    func validate() throws {
        try FormatChoice.checkReader(from.from, registry: Pipeline().registry)
    }

    func run() throws {
        let report = try Pipeline().inspect(URL(fileURLWithPath: path), format: from.from,
                                            options: .init(extra: settings.dictionary))
        print(json ? try report.json() : report.text(), terminator: "")
    }
}
