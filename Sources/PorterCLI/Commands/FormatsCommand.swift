import ArgumentParser
import PorterPipeline

struct FormatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "formats", abstract: "List the formats this build reads and writes, and the options each takes.",
        discussion: "Options are given as --read-option KEY=VALUE and --write-option KEY=VALUE; a key ending in '.<key>' is a family (config.num_beams=5).")

    @Flag(help: "Print JSON for machines instead of tables.")
    var json = false

    func run() throws {
        let listing = FormatListing(registry: Pipeline().registry)
        print(json ? try listing.json() : listing.text(), terminator: "")
    }
}
