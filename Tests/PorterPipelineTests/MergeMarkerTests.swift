import Foundation
import PorterTestSupport
import Testing

/// Committed merge-conflict markers went unnoticed for a session in docs/architecture.md; this
/// scans the text the repository is built and documented from.
@Suite("No merge-conflict markers")
struct MergeMarkerTests {
    @Test("sources, tests, docs, scripts and generators hold no <<<<<<< / >>>>>>> lines")
    func noConflictMarkers() throws {
        let root = Fixtures.repositoryRoot
        let folders = ["Sources", "Tests", "docs", "scripts", "bench", "fuzz/Sources", "fixtures/generate", "mappings"]
        let kinds: Set<String> = ["swift", "md", "py", "sh", "c", "h", "json", "txt"]
        var scanned = 0
        var offenders: [String] = []
        for folder in folders {
            let base = root.appendingPathComponent(folder)
            guard let paths = FileManager.default.subpaths(atPath: base.path) else { continue }
            for path in paths where kinds.contains((path as NSString).pathExtension)
                && !path.contains(".venv") && !path.contains(".build/") && !path.hasPrefix("Goldens/") {
                guard let text = try? String(contentsOf: base.appendingPathComponent(path), encoding: .utf8) else { continue }
                scanned += 1
                for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                where line.hasPrefix("<<<<<<< ") || line.hasPrefix(">>>>>>> ") {
                    offenders.append("\(folder)/\(path):\(i + 1)")
                }
            }
        }
        #expect(scanned > 200)
        #expect(offenders.isEmpty, "\(offenders.joined(separator: "\n"))")
    }
}
