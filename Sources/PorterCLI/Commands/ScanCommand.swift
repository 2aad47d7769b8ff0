import ArgumentParser
import Foundation
import PorterPipeline

struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Check a pickle-based file (torch zip, legacy torch, raw pickle) without running it.",
        discussion: """
            Lists every global and opcode, and gives a verdict. Exit status: 0 safe, 4 review, 5 dangerous, 1 unreadable. \
            Files without pickles (safetensors, HDF5, TensorFlow, …) get their format's own checks; a Hugging Face \
            folder is scanned file by file.

            Examples:
              porter scan pytorch_model.bin
              porter scan model.pt --json
              porter scan bert-base-uncased/

            """ + "\n" + FormatHelp.readers)

    @Argument(help: "A .pt / .pth / .bin / .pkl file.")
    var path: String

    @Flag(help: "Print JSON for machines.")
    var json = false

    func run() throws {
        let report = try Pipeline().scan(URL(fileURLWithPath: path))
        print(json ? try report.json() : report.text(), terminator: "")
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
