import ArgumentParser
import PorterPipeline

struct FormatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "formats", abstract: "List the formats this build reads and writes.")

    func run() throws {
        print(FormatListing(registry: Pipeline().registry).text(), terminator: "")
    }
}
