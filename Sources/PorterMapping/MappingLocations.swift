import Foundation

/// Where shipped mapping files are looked up, in order: `$PORTER_MAPPINGS`, the
/// `mappings/` folder of the source tree this binary was built from, and `./mappings`.
public enum MappingLocations {
    public static var searchPaths: [URL] {
        var paths: [URL] = []
        if let env = ProcessInfo.processInfo.environment["PORTER_MAPPINGS"], !env.isEmpty {
            paths += env.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        }
        var source = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { source.deleteLastPathComponent() }  // Sources/PorterMapping/MappingLocations.swift
        paths.append(source.appendingPathComponent("mappings"))
        paths.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("mappings"))
        var seen = Set<String>()
        return paths.filter { seen.insert($0.standardizedFileURL.path).inserted }
    }
}
