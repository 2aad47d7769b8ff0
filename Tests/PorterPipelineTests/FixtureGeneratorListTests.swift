import Foundation
import PorterTestSupport
import Testing

/// `fixtures/generate/regenerate.sh` runs the generators families.txt lists; a generator left out of
/// it (five were, for a session) is never rerun with the others.
@Suite("Every fixture generator is run by regenerate.sh")
struct FixtureGeneratorListTests {
    @Test("each gen_*.py is listed in families.txt, or imported by a listed one")
    func everyGeneratorIsListed() throws {
        let dir = Fixtures.repositoryRoot.appendingPathComponent("fixtures/generate")
        let listing = try String(contentsOf: dir.appendingPathComponent("families.txt"), encoding: .utf8)
        let listed = Set(listing.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 3, !line.hasPrefix("#") else { return nil }
            return String(fields[2])
        })
        let scripts = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasPrefix("gen_") && $0.hasSuffix(".py") }.sorted()
        #expect(scripts.count > 20)
        for name in listed { #expect(scripts.contains(name), "families.txt lists \(name), which does not exist") }
        let listedSources = try listed.filter(scripts.contains).map {
            try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8)
        }
        for script in scripts where !listed.contains(script) {
            let module = String(script.dropLast(3))
            let imported = listedSources.contains { $0.contains("import \(module)") }
            #expect(imported, "\(script) is neither in families.txt nor imported by a generator that is")
        }
    }
}
