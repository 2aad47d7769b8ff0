import ArgumentParser
import Foundation
import PorterPipeline

extension DTypeChoice: ExpressibleByArgument {}

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a model to another format, optionally renaming weights with a mapping.",
        discussion: """
        The output appears only when everything succeeded; existing output is kept unless --force. \
        -o DIR/ (a trailing slash, or an existing folder) writes a single-file format into DIR under \
        its default name (model.safetensors, …); a folder format takes DIR as the model folder.

        Examples:
          porter convert model.bin -o model.safetensors
          porter convert model.bin -o out/ --to safetensors --verify --report rep/
          porter convert wmt19-en-ru/ --src-lang en --tgt-lang ru --to hf -o fsmt-en-ru
          porter convert model.bin -o model-f16.safetensors --dtype f16 --dry-run -v

        """ + "\n" + FormatHelp.writers + "\n\n" + FormatHelp.readers + "\n\nMappings (--mapping): see `porter mappings`.")

    @Argument(help: "The source model file or folder.")
    var source: String

    @Option(name: .shortAndLong, help: "Where to write the converted model.")
    var output: String

    @Option(help: "Output format (see `porter formats`); may be left out when the output name's extension tells it (model.safetensors, x.gguf, x.onnx, x.pt or x.bin, x.h5).")
    var to: String?

    @Option(help: "Mapping name (see `porter mappings`) or a mapping JSON file.")
    var mapping: String?

    @Option(help: "Element type of float tensors: keep, f32, f16 or bf16; for --to gguf also q8_0, q4_0 or q4_1 (block quantization of weight matrices).",
            transform: FormatChoice.dtype)
    var dtype: DTypeChoice = .keep

    @Option(help: ArgumentHelp("Split the weights into files of at most this size (e.g. 500MB, 5GB); for writers that take the max-shard-size option (safetensors, porter, hf).", valueName: "size"))
    var maxShardSize: String?

    @Flag(help: "Carry over tensors no mapping rule matches, under their own names, instead of failing.")
    var allowUnmapped = false

    @Flag(help: "Write the output even when the source yields no tensor (otherwise that is an error: nothing would be converted).")
    var allowEmpty = false

    @Flag(help: "Flush the output to disk before moving it into place, so it survives a power cut (slower for big models).")
    var fsync = false

    @Flag(help: "Verify the written output against the source (weights, forward pass, --reference); exit 3 on failure.")
    var verify = false

    @Flag(help: "Read, map and cast, then list what would be written (each tensor with dtype, shape and size, what is dropped and why) and stop: nothing is written.")
    var dryRun = false

    @OptionGroup var verification: VerificationOptions
    @OptionGroup var from: FromOption
    @OptionGroup var settings: ReaderSettings
    @OptionGroup var writerSettings: WriterSettings
    @OptionGroup var force: ForceOption
    @OptionGroup var quiet: QuietOption
    @OptionGroup var json: JSONOption
    @OptionGroup var verbose: VerboseOption

    mutating func validate() throws {
        let registry = Pipeline().registry
        to = try FormatChoice.resolveWriter(to, output: output, registry: registry)
        try FormatChoice.checkReader(from.from, registry: registry)
        if let s = maxShardSize, ByteSize.parse(s) == nil {
            throw ValidationError("--max-shard-size: '\(s)' is not a size like 500MB or 5GB")
        }
        if !verify && (verification.reference != nil || verification.report != nil || verification.atol != nil || verification.rtol != nil
                       || verification.batch != nil || verification.sequence != nil) {
            throw ValidationError("--reference, --report, --atol, --rtol, --batch and --sequence go with --verify")
        }
        if URL(fileURLWithPath: source).standardizedFileURL == URL(fileURLWithPath: output).standardizedFileURL {
            throw ValidationError("the output must differ from the source")
        }
        if dryRun && verify { throw ValidationError("--dry-run writes nothing, so there is nothing to --verify") }
    }

    func run() throws {
        var request = ConvertRequest(
            source: URL(fileURLWithPath: source), output: URL(fileURLWithPath: output), to: to ?? "", from: from.from,
            mapping: mapping, dtype: dtype, maxShardSize: maxShardSize.flatMap(ByteSize.parse),
            allowUnmapped: allowUnmapped, force: force.force, syncToDisk: fsync, readOptions: settings.dictionary, writeOptions: writerSettings.dictionary,
            progress: TerminalProgress.forStandardError(quiet: quiet.quiet),
            command: (["porter"] + CommandLine.arguments.dropFirst()).joined(separator: " "))
        request.allowEmpty = allowEmpty
        request.dryRun = dryRun
        let pipeline = Pipeline()
        let result = try pipeline.convert(request)
        // Text goes out as each step ends; --json prints one document at the end.
        let text = !quiet.quiet && !json.json
        if text {
            print(result.summary(), terminator: "")
            if verbose.verbose || dryRun { print(result.detail(), terminator: "") }
        }
        guard verify else {
            if json.json { print(try result.json(), terminator: "") }
            return
        }
        var verifyRequest = VerifyRequest(
            reference: verification.reference.map { URL(fileURLWithPath: $0) }, atol: verification.atol, rtol: verification.rtol,
            reportDirectory: verification.report.map { URL(fileURLWithPath: $0) }, force: force.force)
        verification.apply(to: &verifyRequest)
        verifyRequest.progress = request.progress
        if json.json || verbose.verbose { verifyRequest.traceLayers = true }  // both print every layer
        let report = try pipeline.verify(result, request: verifyRequest)
        if json.json { print(try result.json(verification: report), terminator: "") }
        if text {
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
