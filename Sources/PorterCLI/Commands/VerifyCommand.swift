import ArgumentParser
import Foundation
import PorterPipeline

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a converted model against its source: weights, forward pass, reference outputs.",
        discussion: "Exits 3 when any check fails; the report names the first diverging node.")

    @Argument(help: "The source model.")
    var source: String

    @Argument(help: "The converted model.")
    var converted: String

    @Option(help: "The mapping the conversion used, replayed to pair each converted tensor with its source.")
    var mapping: String?

    @Option(help: "The --dtype the conversion used.")
    var dtype: DTypeChoice = .keep

    @Flag(help: "The conversion carried unmapped tensors over (--allow-unmapped).")
    var allowUnmapped = false

    @OptionGroup var verification: VerificationOptions
    @OptionGroup var force: ForceOption
    @OptionGroup var quiet: QuietOption

    func run() throws {
        let request = VerifyRequest(
            reference: verification.reference.map { URL(fileURLWithPath: $0) }, atol: verification.atol, rtol: verification.rtol,
            reportDirectory: verification.report.map { URL(fileURLWithPath: $0) }, force: force.force,
            mapping: mapping, allowUnmapped: allowUnmapped, dtype: dtype)
        let report = try Pipeline().verify(source: URL(fileURLWithPath: source), converted: URL(fileURLWithPath: converted), request: request)
        if !quiet.quiet { print(report.terminalSummary(), terminator: "") }
        if !report.passed { throw ExitCode(3) }
    }
}
