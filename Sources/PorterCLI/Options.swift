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

/// Reader settings: the common named ones, and any other as `--read-option KEY=VALUE`.
struct ReaderSettings: ParsableArguments {
    @Option(help: ArgumentHelp("fairseq: the checkpoint file in the folder (needed when it holds several *.pt).", valueName: "file"))
    var checkpoint: String?

    @Option(help: ArgumentHelp("fairseq: source language (picks dict.<lang>.txt).", valueName: "lang"))
    var srcLang: String?

    @Option(help: ArgumentHelp("fairseq: target language.", valueName: "lang"))
    var tgtLang: String?

    @Option(name: .customLong("read-option"), help: ArgumentHelp("Other format-specific reader setting.", valueName: "key=value"))
    var readOptions: [String] = []

    func validate() throws {
        for o in readOptions where !o.contains("=") {
            throw ValidationError("--read-option takes key=value, got '\(o)'")
        }
    }

    var dictionary: [String: String] {
        var settings = Dictionary(readOptions.map { o in
            let parts = o.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }, uniquingKeysWith: { _, last in last })
        settings["checkpoint"] = checkpoint ?? settings["checkpoint"]
        settings["src-lang"] = srcLang ?? settings["src-lang"]
        settings["tgt-lang"] = tgtLang ?? settings["tgt-lang"]
        return settings
    }
}

/// Verification settings shared by `verify` and `convert --verify`.
struct VerificationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Reference inputs and outputs recorded by the original framework (safetensors).", valueName: "file"))
    var reference: String?

    @Option(help: "Absolute tolerance (default depends on the dtype; see docs/verification.md).")
    var atol: Double?

    @Option(help: "Relative tolerance (default depends on the dtype).")
    var rtol: Double?

    @Option(help: ArgumentHelp("Write report.json, report.md and report.html into this folder.", valueName: "dir"))
    var report: String?

    func validate() throws {
        if let atol, atol < 0 || !atol.isFinite { throw ValidationError("--atol must be a finite number ≥ 0") }
        if let rtol, rtol < 0 || !rtol.isFinite { throw ValidationError("--rtol must be a finite number ≥ 0") }
    }
}
