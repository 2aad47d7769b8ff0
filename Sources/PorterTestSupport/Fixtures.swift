import Foundation
import PorterCore

/// Locates committed fixtures and golden files for tests, and makes scratch folders.
public enum Fixtures {
    /// The repository root, found from this file's location.
    public static let repositoryRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Sources/PorterTestSupport/Fixtures.swift
        return url
    }()

    public static var root: URL { repositoryRoot.appendingPathComponent("fixtures") }

    /// `fixtures/<relative>`.
    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// Names of the files in `fixtures/<folder>` whose names end with `suffix`, sorted.
    public static func files(in folder: String, suffix: String = "") -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url(folder).path)) ?? []
        return names.filter { $0.hasSuffix(suffix) }.sorted()
    }

    /// A fresh empty folder under the system temporary directory.
    public static func scratchDirectory(_ label: String = "porter-test") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Decodes `fixtures/<relative>` as JSON.
    public static func json(_ relative: String) throws -> JSONValue {
        try JSONValue.parse(Data(contentsOf: url(relative)))
    }
}

/// Golden-file comparison. Set `PORTER_RECORD=1` to rewrite goldens from actual output.
public enum Golden {
    public static var isRecording: Bool { ProcessInfo.processInfo.environment["PORTER_RECORD"] == "1" }

    /// Returns nil when `actual` equals `Tests/Goldens/<name>`, else a message showing
    /// the first differing line. In recording mode it writes the file and returns nil.
    public static func compare(_ actual: String, to name: String) throws -> String? {
        let url = Fixtures.repositoryRoot.appendingPathComponent("Tests/Goldens").appendingPathComponent(name)
        if isRecording {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try actual.write(to: url, atomically: true, encoding: .utf8)
            return nil
        }
        guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
            return "golden \(name) is missing; run the tests with PORTER_RECORD=1 to create it"
        }
        if expected == actual { return nil }
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        for i in 0..<max(a.count, e.count) {
            let al = i < a.count ? String(a[i]) : "<end>"
            let el = i < e.count ? String(e[i]) : "<end>"
            if al != el { return "golden \(name) differs at line \(i + 1):\n  expected: \(el)\n  actual:   \(al)\n(PORTER_RECORD=1 re-records)" }
        }
        return "golden \(name) differs"
    }
}

/// Digest of a tensor's contiguous little-endian bytes, as fixture expectations record it.
public func tensorDigest(_ tensor: TensorRef) throws -> String {
    try tensor.withContiguousBytes { SHA256.hex($0) }
}
