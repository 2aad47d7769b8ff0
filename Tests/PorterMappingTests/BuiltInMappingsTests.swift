import Foundation
import Testing
import PorterTestSupport
@testable import PorterMapping

/// The mappings compiled into the binary are exactly the files in `mappings/`
/// (regenerate with `scripts/gen-builtin-mappings.sh`), and name lookup prefers the
/// user's folders.
@Suite struct BuiltInMappingsTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("mappings")

    @Test func builtInTextsEqualTheFilesInMappings() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.hasSuffix(".json") }.sorted()
        let names = files.map { String($0.dropLast(".json".count)) }
        #expect(MappingLocations.builtInNames == names, "run scripts/gen-builtin-mappings.sh")
        for (file, name) in zip(files, names) {
            let onDisk = try Data(contentsOf: Self.folder.appendingPathComponent(file))
            let builtIn = try #require(MappingLocations.builtInText(name))
            #expect(Data(builtIn.utf8) == onDisk, "\(file) differs from its compiled-in copy; run scripts/gen-builtin-mappings.sh")
        }
    }

    @Test func everyBuiltInParsesUnderItsFileName() throws {
        for name in MappingLocations.builtInNames {
            let m = try Mapping.resolve(name, searchPaths: [])
            #expect(m.name == name)
            #expect(m.source == "built-in:\(name).json")
        }
    }

    @Test func userFolderShadowsTheBuiltInAndPathsAreFiles() throws {
        let dir = try Fixtures.scratchDirectory("porter-mappings")
        defer { try? FileManager.default.removeItem(at: dir) }
        let own = """
        {"format": "porter-mapping/1", "name": "fairseq-to-fsmt", "description": "mine", "rules": []}
        """
        let file = dir.appendingPathComponent("fairseq-to-fsmt.json")
        try Data(own.utf8).write(to: file)
        let shadowed = try Mapping.resolve("fairseq-to-fsmt", searchPaths: [dir])
        #expect(shadowed.description == "mine")
        #expect(shadowed.source == file.path)
        #expect(try Mapping.resolve(file.path, searchPaths: []).description == "mine")
        let listed = Mapping.availableIncludingBuiltIn(in: [dir])
        #expect(listed.filter { $0.name == "fairseq-to-fsmt" }.map(\.description) == ["mine"])
        #expect(listed.count == MappingLocations.builtInNames.count)
    }

    @Test func unknownNameListsTheBuiltInOnes() throws {
        do {
            _ = try Mapping.resolve("no-such-mapping", searchPaths: [URL(fileURLWithPath: "/nonexistent")])
            Issue.record("resolved a mapping that does not exist")
        } catch let MappingFileError.notFound(name, searched) {
            #expect(name == "no-such-mapping")
            #expect(searched.first == "/nonexistent/no-such-mapping.json")
            #expect(searched.last == "built in: " + MappingLocations.builtInNames.joined(separator: ", "))
        }
    }

    @Test func searchPathsComeOnlyFromTheEnvironment() {
        // No source-tree (#filePath) or working-directory folder: only $PORTER_MAPPINGS.
        let env = ProcessInfo.processInfo.environment["PORTER_MAPPINGS"] ?? ""
        #expect(MappingLocations.searchPaths.map(\.path) == env.split(separator: ":").map { URL(fileURLWithPath: String($0)).path })
    }
}
