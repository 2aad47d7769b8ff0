import ArgumentParser
import PorterCore
import PorterPipeline

/// `--quiet`: no progress or summaries on a terminal.
struct QuietOption: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Print nothing but errors, no progress; a failed verification still prints its one-line verdict on stderr.")
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
/// `porter formats`). Keys a format declares as flags (`FormatOption.isFlag`, e.g. fairseq's
/// `checkpoint`) may also be given as `--KEY VALUE`; `DeclaredFlags` rewrites them before parsing.
struct ReaderSettings: ParsableArguments {
    @Option(name: .customLong("read-option"),
            help: ArgumentHelp("A reader setting, e.g. names=variables for TensorFlow checkpoints; the keys each reader takes are listed by `porter formats` (an unknown key is a usage error; keys marked 'also --KEY' there may be given as --KEY VALUE).",
                               valueName: "key=value"))
    var readOptions: [String] = []

    func validate() throws {
        _ = try keyValues(readOptions, flag: "--read-option")
    }

    var dictionary: [String: String] { (try? keyValues(readOptions, flag: "--read-option")) ?? [:] }
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

    @Option(help: ArgumentHelp("Seeded inputs: the size of each input's first dynamic dim (default 2).", valueName: "n"))
    var batch: Int?

    @Option(help: ArgumentHelp("Seeded inputs: the size of every other dynamic dim — sequence length, or an image model's height and width (default 8).", valueName: "n"))
    var sequence: Int?

    func validate() throws {
        if let atol, atol < 0 || !atol.isFinite { throw ValidationError("--atol must be a finite number ≥ 0") }
        if let rtol, rtol < 0 || !rtol.isFinite { throw ValidationError("--rtol must be a finite number ≥ 0") }
        if let batch, !(1...4096).contains(batch) { throw ValidationError("--batch must be between 1 and 4096") }
        if let sequence, !(1...65536).contains(sequence) { throw ValidationError("--sequence must be between 1 and 65536") }
    }

    /// The seeded input sizes into a verify request.
    func apply(to request: inout VerifyRequest) {
        if let batch { request.batch = batch }
        if let sequence { request.sequence = sequence }
    }
}

/// The command-line flags formats declare (`FormatOption.isFlag`): `--KEY VALUE` and
/// `--KEY=VALUE` become `--read-option KEY=VALUE` (reader options) or `--write-option
/// KEY=VALUE` (writer options) for the commands that take those, so a format adds a flag
/// by declaring it, without a line in the CLI.
enum DeclaredFlags {
    /// Commands with reader settings, and those with writer settings.
    static let readingCommands: Set<String> = ["convert", "inspect", "verify"]
    static let writingCommands: Set<String> = ["convert"]

    static func flags(_ registry: FormatRegistry) -> (read: Set<String>, write: Set<String>) {
        (Set(registry.readers.flatMap(\.options).filter(\.isFlag).map(\.key)),
         Set(registry.writers.flatMap(\.options).filter(\.isFlag).map(\.key)))
    }

    /// `arguments` (without the executable) with declared flags rewritten; everything after
    /// `--` and every other argument is left alone.
    static func expand(_ arguments: [String], registry: FormatRegistry) -> [String] {
        guard let command = arguments.first else { return arguments }
        let (read, write) = flags(registry)
        let readKeys = readingCommands.contains(command) ? read : []
        let writeKeys = writingCommands.contains(command) ? write.subtracting(readKeys) : []
        guard !readKeys.isEmpty || !writeKeys.isEmpty else { return arguments }
        var out = [command]
        var i = 1
        while i < arguments.count {
            let arg = arguments[i]
            if arg == "--" { out += arguments[i...]; break }
            guard arg.hasPrefix("--") else { out.append(arg); i += 1; continue }
            let body = arg.dropFirst(2)
            let key = String(body.split(separator: "=", maxSplits: 1).first ?? "")
            let kind = readKeys.contains(key) ? "--read-option" : writeKeys.contains(key) ? "--write-option" : nil
            guard let kind else { out.append(arg); i += 1; continue }
            if let eq = body.firstIndex(of: "=") {
                out += [kind, key + "=" + body[body.index(after: eq)...]]
                i += 1
            } else if i + 1 < arguments.count {
                out += [kind, key + "=" + arguments[i + 1]]
                i += 2
            } else {
                out.append(arg)  // no value: the parser reports the unknown flag
                i += 1
            }
        }
        return out
    }
}

/// `--json`: one JSON document on standard output instead of text (keys sorted, camelCase as
/// in `inspect --json` and report.json); progress, if any, stays on standard error.
struct JSONOption: ParsableArguments {
    @Flag(help: "Print one JSON document for machines instead of text (keys sorted; see docs/cli.md).")
    var json = false
}

/// `-v`: per-tensor and per-level detail after the summary.
struct VerboseOption: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Show the detail: each tensor read → written with dtype, shape and size; every comparison of the verification.")
    var verbose = false
}
