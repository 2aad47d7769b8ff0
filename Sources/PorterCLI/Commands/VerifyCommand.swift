import ArgumentParser
import Foundation
import PorterPipeline

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a converted model against its source: weights, forward pass, reference outputs.",
        discussion: """
            Exits 3 when any check fails; the report names the first diverging node. When the source has a \
            tokenizer, the converted model's must encode the built-in corpus (and --texts) to the same ids. \
            With -q a failure still prints one verdict line on stderr.

            Examples:
              porter verify model.bin model.safetensors
              porter verify model.bin model.safetensors --reference ref.safetensors
              porter verify model.h5 model.safetensors --mapping keras-to-pytorch --report rep/
              porter verify model.bin model.safetensors --json > report.json

            The forward level runs the source and the converted model on Porter's runtime; only \
            --reference compares with the original framework (`porter reference-script` records one). \
            --from and --read-option apply to the source, as in convert; when the names do not pair and \
            a mapping would pair them, verify says which --mapping to give.

            """ + "\n" + FormatHelp.readers)

    @Argument(help: "The source model.")
    var source: String

    @Argument(help: "The converted model.")
    var converted: String

    @Option(help: "The mapping the conversion used (name, see `porter mappings`, or file), replayed to pair each converted tensor with its source.")
    var mapping: String?

    @Option(help: "The --dtype the conversion used.", transform: FormatChoice.dtype)
    var dtype: DTypeChoice = .keep

    @Flag(help: "The conversion carried unmapped tensors over (--allow-unmapped).")
    var allowUnmapped = false

    @Flag(help: "Pass the tokenizer level when the converted model has no tokenizer although the source has one.")
    var allowMissingTokenizer = false

    @Option(help: "More texts for the tokenizer level, one per line (UTF-8), besides the built-in corpus.")
    var texts: String?

    @OptionGroup var from: FromOption
    @OptionGroup var settings: ReaderSettings
    @OptionGroup var verification: VerificationOptions
    @OptionGroup var force: ForceOption
    @OptionGroup var quiet: QuietOption
    @OptionGroup var json: JSONOption
    @OptionGroup var verbose: VerboseOption

    mutating func validate() throws {
        try FormatChoice.checkReader(from.from, registry: Pipeline().registry)
    }

    func run() throws {
        var extraTexts: [String] = []
        if let path = texts {
            guard let data = FileManager.default.contents(atPath: path), let s = String(data: data, encoding: .utf8) else {
                throw ValidationError("--texts \(path): cannot read it as a UTF-8 text file")
            }
            extraTexts = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if extraTexts.last == "" { extraTexts.removeLast() }
        }
        var request = VerifyRequest(
            reference: verification.reference.map { URL(fileURLWithPath: $0) }, atol: verification.atol, rtol: verification.rtol,
            reportDirectory: verification.report.map { URL(fileURLWithPath: $0) }, force: force.force,
            mapping: mapping, allowUnmapped: allowUnmapped, dtype: dtype)
        verification.apply(to: &request)
        request.from = from.from
        request.readOptions = settings.dictionary
        request.allowMissingTokenizer = allowMissingTokenizer
        request.tokenizerTexts = extraTexts
        request.progress = TerminalProgress.forStandardError(quiet: quiet.quiet)
        if json.json || verbose.verbose { request.traceLayers = true }  // both print every layer
        let report = try Pipeline().verify(source: URL(fileURLWithPath: source), converted: URL(fileURLWithPath: converted), request: request)
        if json.json {
            // The report object, as report.json holds it.
            print(try report.jsonText(), terminator: "")
        } else if !quiet.quiet {
            print(report.terminalSummary(), terminator: "")
            if verbose.verbose { print(report.detail(), terminator: "") }
        }
        if !report.passed {
            // -q keeps the verdict: one line on stderr, so a failed check is never silent.
            if quiet.quiet || json.json { FileHandle.standardError.write(Data((report.verdictLine() + "\n").utf8)) }
            throw ExitCode(3)
        }
    }
}
