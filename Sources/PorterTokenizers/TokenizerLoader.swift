import Foundation

/// Finds and reads the tokenizer of a model: a `tokenizer.json` file, or a folder holding one, or (without
/// it) the slow files `vocab.json` + `merges.txt` (GPT-2) or `vocab.txt` (BERT).
public enum TokenizerLoader {
    /// The tokenizer files a folder may hold, in the order Porter prefers them.
    public static let knownFiles = ["tokenizer.json", "tokenizer.model", "vocab.json", "vocab-src.json", "vocab.txt"]

    /// True when `url` is a tokenizer file or a folder holding a known tokenizer file.
    public static func hasTokenizer(at url: URL) -> Bool {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else { return false }
        if !isDir.boolValue { return url.pathExtension == "json" || url.pathExtension == "model" }
        let has = { (f: String) in FileManager.default.fileExists(atPath: url.appendingPathComponent(f).path) }
        return has("tokenizer.json") || has("tokenizer.model") || (has("vocab.json") && has("merges.txt"))
            || (has("vocab-src.json") && has("merges.txt")) || has("vocab.txt")
    }

    /// Reads the tokenizer at `url` (a `*.json` tokenizer file or a model folder).
    public static func load(_ url: URL) throws -> Tokenizer {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw TokenizerError.unreadable(file: url.path, reason: "no such file or folder")
        }
        if !isDir.boolValue {
            if url.pathExtension == "model" { return try SentencePieceModel.load(url) }
            return try TokenizerJSON.load(url)
        }
        let json = url.appendingPathComponent("tokenizer.json")
        if FileManager.default.fileExists(atPath: json.path) { return try TokenizerJSON.load(json) }
        let file = { (f: String) -> URL? in
            let u = url.appendingPathComponent(f)
            return FileManager.default.fileExists(atPath: u.path) ? u : nil
        }
        if let m = file("tokenizer.model") { return try SentencePieceModel.load(m) }
        if let v = file("vocab.json"), let m = file("merges.txt") { return try SlowTokenizerFiles.gpt2(vocab: v, merges: m) }
        if let v = file("vocab-src.json"), let m = file("merges.txt") {
            return try SlowTokenizerFiles.fsmt(vocab: v, merges: m, config: file("tokenizer_config.json"))
        }
        if let v = file("vocab.txt") { return try SlowTokenizerFiles.bert(vocab: v, config: file("tokenizer_config.json")) }
        throw TokenizerError.noTokenizer(path: url.path)
    }
}
