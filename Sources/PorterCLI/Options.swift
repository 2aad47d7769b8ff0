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

/// Splits `KEY=VALUE` settings; the last of a repeated key wins.
func keyValues(_ settings: [String], flag: String) throws -> [String: String] {
    var out: [String: String] = [:]
    for o in settings {
        guard let eq = o.firstIndex(of: "="), eq != o.startIndex else {
            throw ValidationError("\(flag) takes KEY=VALUE, got '\(o)'")
        }
        out[String(o[..<eq])] = String(o[o.index(after: eq)...])
    }
    return out
}

/// Reader settings: `--read-option KEY=VALUE` (the keys each reader declares are listed by
/// `porter formats`), and fairseq's three most used keys as flags of their own.
struct ReaderSettings: ParsableArguments {
    @Option(name: .customLong("read-option"),
            help: ArgumentHelp("A reader setting, e.g. names=variables for TensorFlow checkpoints; the keys each reader takes are listed by `porter formats` (an unknown key is a usage error).",
                               valueName: "key=value"))
    var readOptions: [String] = []

    @Option(help: ArgumentHelp("fairseq: same as --read-option checkpoint=FILE (the checkpoint in the folder).", valueName: "file"))
    var checkpoint: String?

    @Option(help: ArgumentHelp("fairseq: same as --read-option src-lang=LANG.", valueName: "lang"))
    var srcLang: String?

    @Option(help: ArgumentHelp("fairseq: same as --read-option tgt-lang=LANG.", valueName: "lang"))
    var tgtLang: String?

    func validate() throws {
        _ = try keyValues(readOptions, flag: "--read-option")
    }

    var dictionary: [String: String] {
        var settings = (try? keyValues(readOptions, flag: "--read-option")) ?? [:]
        settings["checkpoint"] = checkpoint ?? settings["checkpoint"]
        settings["src-lang"] = srcLang ?? settings["src-lang"]
        settings["tgt-lang"] = tgtLang ?? settings["tgt-lang"]
        return settings
    }
}

/// Writer settings: `--write-option KEY=VALUE` (keys per writer in `porter formats`).
struct WriterSettings: ParsableArguments {
    @Option(name: .customLong("write-option"),
            help: ArgumentHelp("A writer setting, e.g. metadata.license=mit for safetensors; the keys each writer takes are listed by `porter formats` (an unknown key is a usage error).",
                               valueName: "key=value"))
    var writeOptions: [String] = []

    func validate() throws {
        _ = try keyValues(writeOptions, flag: "--write-option")
    }

    var dictionary: [String: String] { (try? keyValues(writeOptions, flag: "--write-option")) ?? [:] }
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
