import ArgumentParser
import PorterPipeline

struct MappingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mappings", abstract: "List the mapping files that ship with Porter.")

    @OptionGroup var json: JSONOption

    func run() throws {
        let listing = MappingListing(searchPaths: Pipeline().mappingSearchPaths)
        print(json.json ? try listing.json() : listing.text(), terminator: "")
    }
}
