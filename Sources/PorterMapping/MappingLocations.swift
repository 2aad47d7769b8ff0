import Foundation

/// Where mappings come from. The shipped ones (`mappings/*.json`) are compiled into the
/// binary (`BuiltInMappings.swift`, made by `scripts/gen-builtin-mappings.sh`), so an
/// installed `porter` needs no source tree. Folders in `$PORTER_MAPPINGS` (colon-separated)
/// are searched first, so a user's `NAME.json` there wins over the built-in `NAME`; a
/// mapping given as a path (`--mapping my.json`) is read from that file.
public enum MappingLocations {
    /// The user's folders of mappings, from `$PORTER_MAPPINGS`; empty when it is unset.
    public static var searchPaths: [URL] {
        var paths: [URL] = []
        if let env = ProcessInfo.processInfo.environment["PORTER_MAPPINGS"], !env.isEmpty {
            paths += env.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        }
        var seen = Set<String>()
        return paths.filter { seen.insert($0.standardizedFileURL.path).inserted }
    }

    /// Names of the mappings compiled into this binary, sorted.
    public static var builtInNames: [String] { BuiltInMappings.files.keys.sorted() }

    /// The text of a built-in mapping file, by name (`fairseq-to-fsmt`).
    public static func builtInText(_ name: String) -> String? { BuiltInMappings.files[name] }

    /// What errors and listings call a built-in mapping's source.
    public static func builtInSource(_ name: String) -> String { "built-in:\(name).json" }
}

extension Mapping {
    /// A mapping by file path (contains `/` or ends in `.json`), or by name: the first
    /// `NAME.json` in `searchPaths`, else the built-in `NAME`.
    public static func resolve(_ nameOrPath: String, searchPaths: [URL] = MappingLocations.searchPaths) throws -> Mapping {
        if nameOrPath.hasSuffix(".json") || nameOrPath.contains("/") {
            return try load(nameOrPath, searchPaths: [])
        }
        let candidates = searchPaths.map { $0.appendingPathComponent("\(nameOrPath).json") }
        if candidates.contains(where: { FileManager.default.fileExists(atPath: $0.path) }) {
            return try load(nameOrPath, searchPaths: searchPaths)
        }
        guard let text = MappingLocations.builtInText(nameOrPath) else {
            let builtIn = "built in: " + MappingLocations.builtInNames.joined(separator: ", ")
            throw MappingFileError.notFound(name: nameOrPath, searched: candidates.map(\.path) + [builtIn])
        }
        return try parse(Data(text.utf8), path: MappingLocations.builtInSource(nameOrPath))
    }

    /// Every mapping `resolve` can find by name: those in `folders` first, then the
    /// built-in ones not shadowed by a folder's mapping of the same name.
    public static func availableIncludingBuiltIn(in folders: [URL]) -> [(name: String, description: String, path: String)] {
        var out = available(in: folders)
        var seen = Set(out.map(\.name))
        for name in MappingLocations.builtInNames {
            guard let text = MappingLocations.builtInText(name),
                  let m = try? parse(Data(text.utf8), path: MappingLocations.builtInSource(name)), !seen.contains(m.name) else { continue }
            seen.insert(m.name)
            out.append((m.name, m.description, MappingLocations.builtInSource(name)))
        }
        return out
    }
}
