import PorterCore
import PorterPipeline

/// The format lists of `--help`, generated from the registry (so a new format shows up without
/// a line here).
enum FormatHelp {
    static let registry = Pipeline().registry

    private static func line(_ info: FormatInfo) -> String {
        let names = info.extensions.prefix(3).joined(separator: ", ")
        return names.isEmpty ? "  \(info.id)" : "  \(info.id) (\(names))"
    }

    /// "Formats --to takes: …", one writer a line.
    static var writers: String {
        "Formats --to takes (the extension of -o picks one when --to is left out):\n"
            + registry.writers.map { line($0.info) }.joined(separator: "\n")
    }

    /// "Formats --from takes: …", one reader a line.
    static var readers: String {
        "Formats it reads (detected, or named with --from):\n"
            + registry.readers.map { line($0.info) }.joined(separator: "\n")
    }
}
