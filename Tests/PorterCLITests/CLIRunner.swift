import Foundation
import PorterVerifier
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
    /// Like `normalised(_:replacing:)` for output of a run in `dir`: the repository root also as
    /// the binary shows it from there (`../c` when the clone sits beside the scratch folder).
    static func normalised(_ text: String, ranIn dir: URL) -> String {
        var paths = [dir.path: "<tmp>"]
        let shown = DisplayPath.relative(Fixtures.repositoryRoot.path, to: dir.path)
        if shown != Fixtures.repositoryRoot.path { paths[shown + "/"] = "<repo>/" }
        return normalised(text, replacing: paths)
    }

    static func normalised(_ text: String, replacing paths: [String: String] = [:]) -> String {
        var t = text
        for (path, token) in paths.sorted(by: { $0.key.count > $1.key.count }) { t = t.replacingOccurrences(of: path, with: token) }
        return t.replacingOccurrences(of: Fixtures.repositoryRoot.path, with: "<repo>")
    }
}
