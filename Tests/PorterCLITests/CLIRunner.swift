import Foundation
import PorterTestSupport

/// Runs the built `porter` executable and captures what it prints.
struct CLIRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum CLI {
    /// The `porter` binary beside this test bundle (SwiftPM puts products together).
    static var executable: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("porter")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        return Fixtures.repositoryRoot.appendingPathComponent(".build/debug/porter")
    }

    /// Runs `binary` (the built `porter` by default) in `directory`, with `environment`
    /// replacing the inherited one when given.
    static func run(_ arguments: [String], in directory: URL? = nil, binary: URL? = nil,
                    environment: [String: String]? = nil) throws -> CLIRun {
        let process = Process()
        process.executableURL = binary ?? executable
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIRun(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    /// Replaces machine-specific paths so output can be compared with goldens.
    /// `path` as the binary shows it in reports and `--json` when run in `base` (the rule of
    /// PorterVerifier's `DisplayPath.relative`): relative when the two share more than the root.
    static func displayed(_ path: String, from base: String) -> String {
        let p = URL(fileURLWithPath: path).standardizedFileURL.pathComponents.dropFirst()
        let b = URL(fileURLWithPath: base).standardizedFileURL.pathComponents.dropFirst()
        let common = zip(p, b).prefix(while: { $0 == $1 }).count
        guard common > 0 else { return path }
        return (Array(repeating: "..", count: b.count - common) + Array(p.dropFirst(common))).joined(separator: "/")
    }

    /// Like `normalised(_:replacing:)` for output of a run in `dir`: the repository root also as
    /// the binary shows it from there (`../c` when the clone sits beside the scratch folder).
    static func normalised(_ text: String, ranIn dir: URL) -> String {
        var paths = [dir.path: "<tmp>"]
        let shown = displayed(Fixtures.repositoryRoot.path, from: dir.path)
        if shown != Fixtures.repositoryRoot.path { paths[shown + "/"] = "<repo>/" }
        return normalised(text, replacing: paths)
    }

    static func normalised(_ text: String, replacing paths: [String: String] = [:]) -> String {
        var t = text
        for (path, token) in paths.sorted(by: { $0.key.count > $1.key.count }) { t = t.replacingOccurrences(of: path, with: token) }
        return t.replacingOccurrences(of: Fixtures.repositoryRoot.path, with: "<repo>")
    }
}
