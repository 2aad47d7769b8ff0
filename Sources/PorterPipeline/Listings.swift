import Foundation
import PorterCore
import PorterMapping
import PorterVerifier

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
        out += Self.optionsText("read options (--read-option KEY=VALUE)", registry.readers.map { ($0.info.id, $0.options) })
        out += Self.optionsText("write options (--write-option KEY=VALUE)", registry.writers.map { ($0.info.id, $0.options) })
        return out
    }

    static func optionsText(_ title: String, _ formats: [(String, [FormatOption])]) -> String {
        let rows = formats.flatMap { id, options in
            options.map { [id, $0.usage, $0.defaultValue ?? "–", $0.help + ($0.isFlag ? " (also --\($0.key))" : "")] }
        }
        let none = formats.filter { $0.1.isEmpty }.map(\.0)
        var out = "\n\(title)\n" + InspectReport.table(header: ["format", "option", "default", "about"], rows: rows)
        if !none.isEmpty { out += "  (none for \(none.joined(separator: ", ")))\n" }
        return out
    }

    /// The same facts for machines: `{"readers": [...], "writers": [...]}`, each with its options.
    public func json() throws -> String {
        func format(_ info: FormatInfo, _ options: [FormatOption]) -> JSONValue {
            .object([
                "id": .string(info.id), "name": .string(info.name), "summary": .string(info.summary),
                "files": .array(info.extensions.map { .string($0) }),
                "options": .array(options.map(Self.json)),
            ])
        }
        let root: JSONValue = .object([
            "readers": .array(registry.readers.map { format($0.info, $0.options) }),
            "writers": .array(registry.writers.map { format($0.info, $0.options) }),
        ])
        return String(decoding: try root.encoded(pretty: true), as: UTF8.self) + "\n"
    }

    static func json(_ option: FormatOption) -> JSONValue {
        var o: [String: JSONValue] = ["key": .string(option.key), "family": .bool(option.isFamily), "flag": .bool(option.isFlag), "help": .string(option.help),
                                      "default": option.defaultValue.map { .string($0) } ?? .null]
        switch option.value {
        case let .text(name): o["type"] = "text"; o["value_name"] = .string(name)
        case .bool: o["type"] = "bool"
        case let .choice(words): o["type"] = "choice"; o["choices"] = .array(words.map { .string($0) })
        case .size: o["type"] = "size"
        case .json: o["type"] = "json"
        }
        return .object(o)
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

    /// `porter mappings --json`: `{"mappings": [{"name", "description", "path"}]}`, keys sorted;
    /// `path` is the file a mapping came from, or `built-in` for one compiled into Porter.
    public func json() throws -> String {
        let found = Mapping.availableIncludingBuiltIn(in: searchPaths)
        let doc: JSONValue = .object(["mappings": .array(found.map {
            .object(["name": .string($0.name), "description": .string($0.description), "path": .string($0.path.hasPrefix("/") ? DisplayPath.relative($0.path) : $0.path)])
        })])
        return String(decoding: try doc.encoded(pretty: true), as: UTF8.self) + "\n"
    }
}

extension FormatRegistry {
    /// The writers whose declared file extensions (`FormatInfo.extensions` entries starting
    /// with a dot) end `name`: what `porter convert -o NAME` without `--to` may mean. A name
    /// ending in `/` names a folder and matches none.
    public func writers(forOutputName name: String) -> [any ModelWriter] {
        guard !name.hasSuffix("/") else { return [] }
        let file = (name.split(separator: "/").last.map(String.init) ?? name).lowercased()
        return writers.filter { w in
            w.info.extensions.contains { ext in ext.hasPrefix(".") && file.count > ext.count && file.hasSuffix(ext.lowercased()) }
        }
    }
}
