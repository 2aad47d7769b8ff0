import ArgumentParser

/// `--quiet`: no progress or summaries on a terminal.
struct QuietOption: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Print nothing but errors; no progress.")
    var quiet = false
}

/// `--force`: replace existing output.
struct ForceOption: ParsableArguments {
    @Flag(help: "Replace the output if it exists (it is swapped in only after a successful write).")
    var force = false
}

/// `--from`: skip detection and use a named reader.
struct FromOption: ParsableArguments {
    @Option(help: "Reader to use instead of detecting the format (see `porter formats`).")
    var from: String?
}

/// Reader settings passed through as `KEY=VALUE` (format-specific).
struct ReaderSettings: ParsableArguments {
    @Option(name: .customLong("read-option"), help: ArgumentHelp("Format-specific reader setting.", valueName: "key=value"))
    var readOptions: [String] = []

    func validate() throws {
        for o in readOptions where !o.contains("=") {
            throw ValidationError("--read-option takes key=value, got '\(o)'")
        }
    }

    var dictionary: [String: String] {
        Dictionary(readOptions.map { o in
            let parts = o.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }, uniquingKeysWith: { _, last in last })
    }
}
