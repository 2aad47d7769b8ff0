import Foundation
import Testing

/// The folder list is the data flow: format code lives in its format's target, and only
/// `DefaultFormats.swift` (the registry lines) names format targets. These tests read the
/// sources, so a new `import PorterSomeFormat` in the pipeline or the CLI fails here.
@Suite("Target boundaries")
struct TargetBoundaryTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources")

    static func imports(of target: String) throws -> [(file: String, module: String)] {
        let folder = sources.appendingPathComponent(target)
        let files = try #require(FileManager.default.enumerator(atPath: folder.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        return try files.flatMap { file -> [(file: String, module: String)] in
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            return text.split(separator: "\n").compactMap { line in
                guard line.hasPrefix("import ") else { return nil }
                return (file, String(line.dropFirst("import ".count)).trimmingCharacters(in: .whitespaces))
            }
        }
    }

    /// Targets that are no format: what the pipeline and CLI may use anywhere.
    static let formatFree: Set<String> = ["Foundation", "Glibc", "PorterCore", "PorterOps", "PorterMapping",
                                          "PorterArchitectures", "PorterRuntime", "PorterVerifier", "PorterTokenizers", "PorterPipeline",
                                          "ArgumentParser"]

    @Test("only DefaultFormats.swift imports format targets in the pipeline")
    func pipelineNamesFormatsOnlyInTheRegistry() throws {
        let found = try Self.imports(of: "PorterPipeline")
        #expect(!found.isEmpty)
        let strays = found.filter { $0.file != "DefaultFormats.swift" && !Self.formatFree.contains($0.module) }
        #expect(strays.isEmpty, "format targets imported outside DefaultFormats.swift: \(strays.map { "\($0.file): \($0.module)" })")
    }

    /// The CLI parses arguments and calls the pipeline: nothing else.
    static let cliAllowed: Set<String> = ["Foundation", "Glibc", "ArgumentParser", "PorterCore", "PorterPipeline"]

    @Test("the CLI imports only the pipeline and Core")
    func cliNamesNoFormat() throws {
        let found = try Self.imports(of: "PorterCLI")
        #expect(!found.isEmpty)
        let strays = found.filter { !Self.cliAllowed.contains($0.module) }
        #expect(strays.isEmpty, "targets other than the pipeline imported by the CLI: \(strays.map { "\($0.file): \($0.module)" })")
    }
}
