import Foundation
import PorterCore
import PorterMapping

/// The text of `porter formats`.
public struct FormatListing {
    public let registry: FormatRegistry
    public init(registry: FormatRegistry) { self.registry = registry }

    public func text() -> String {
        var out = "reads\n"
        out += InspectReport.table(header: ["id", "format", "files", "about"], rows: registry.readers.map {
            [$0.info.id, $0.info.name, $0.info.extensions.joined(separator: " "), $0.info.summary]
        })
        out += "\nwrites\n"
        out += InspectReport.table(header: ["id", "format", "files", "about"], rows: registry.writers.map {
            [$0.info.id, $0.info.name, $0.info.extensions.joined(separator: " "), $0.info.summary]
        })
        return out
    }
}

/// The text of `porter mappings`.
public struct MappingListing {
    public let searchPaths: [URL]
    public init(searchPaths: [URL]) { self.searchPaths = searchPaths }

    public func text() -> String {
        let found = Mapping.availableIncludingBuiltIn(in: searchPaths)
        if found.isEmpty { return "no mappings built in or found in \(searchPaths.map(\.path).joined(separator: ", "))\n" }
        return InspectReport.table(header: ["name", "description"], rows: found.map { [$0.name, $0.description] })
    }
}
