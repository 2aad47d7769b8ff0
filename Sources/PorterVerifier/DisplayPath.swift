import Foundation

/// Paths as reports and listings show them: relative to the working folder when the path
/// lies inside it or near it (`model.bin`, `out/model.safetensors`, `../fixtures/x.pt`), so a
/// report holds no machine's absolute paths; absolute when the two share only `/`.
public enum DisplayPath {
    /// `path` relative to `base` (default: the current working folder).
    public static func relative(_ path: String, to base: String = FileManager.default.currentDirectoryPath) -> String {
        guard path.hasPrefix("/"), base.hasPrefix("/") else { return path }
        let p = URL(fileURLWithPath: path).standardizedFileURL.pathComponents.dropFirst()
        let b = URL(fileURLWithPath: base).standardizedFileURL.pathComponents.dropFirst()
        let common = zip(p, b).prefix(while: { $0 == $1 }).count
        // Only the root in common (/tmp vs /home/me): a relative path would be all `..`.
        guard common > 0 else { return path }
        let up = Array(repeating: "..", count: b.count - common)
        let down = Array(p.dropFirst(common))
        let parts = up + down
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }
}
