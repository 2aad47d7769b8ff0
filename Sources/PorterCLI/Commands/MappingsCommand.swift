import ArgumentParser
import PorterPipeline

struct MappingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mappings", abstract: "List the mapping files that ship with Porter.")

    func run() throws {
        print(MappingListing(searchPaths: Pipeline().mappingSearchPaths).text(), terminator: "")
    }
}
