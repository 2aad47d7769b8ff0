import Foundation

/// Finds and reads the tokenizer of a model: a `tokenizer.json` file, or a folder holding one.
public enum TokenizerLoader {
    /// The tokenizer files a folder may hold, in the order Porter prefers them.
    public static let knownFiles = ["tokenizer.json"]

    /// True when `url` is a tokenizer file or a folder holding a known tokenizer file.
    public static func hasTokenizer(at url: URL) -> Bool {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { return false }
        if !isDir.boolValue { return url.lastPathComponent.hasSuffix(".json") }
        return knownFiles.contains { FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path) }
    }

    /// Reads the tokenizer at `url` (a `*.json` tokenizer file or a model folder).
    public static func load(_ url: URL) throws -> Tokenizer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw TokenizerError.unreadable(file: url.path, reason: "no such file or folder")
        }
        if !isDir.boolValue { return try TokenizerJSON.load(url) }
        let json = url.appendingPathComponent("tokenizer.json")
        if FileManager.default.fileExists(atPath: json.path) { return try TokenizerJSON.load(json) }
        throw TokenizerError.noTokenizer(path: url.path)
    }
}
