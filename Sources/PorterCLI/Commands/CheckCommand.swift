import ArgumentParser
import Foundation
import PorterCore
import PorterPipeline

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run a plan of convert + verify steps (a CI regression check of ports); one combined report and JUnit XML.",
        discussion: """
        PLAN.json is {"steps": [STEP, …]}; a step takes "source" and "to" (required), and "name", "from", \
        "mapping", "dtype", "allow_unmapped", "reference", "atol", "rtol", "read_options", "write_options" \
        (objects of KEY: VALUE), as `porter convert` and `porter verify` do. Paths are relative to the plan's \
        folder. Each step converts into WORK/<name>/converted and verifies it there (its report in \
        WORK/<name>/report); a failing step does not stop the others. Exit 0 when every step passed, 3 when \
        any failed or could not run, 2 for a bad plan (the message names the step and the key).

        Examples:
          porter check ports.json
          porter check ports.json --work-dir out/ --junit junit.xml --force
          porter check ports.json --report check-report/ -q || exit $?
          porter check ports.json --json > check.json
        """)

    @Argument(help: "The plan (JSON).")
    var plan: String

    @Option(help: ArgumentHelp("Folder for the steps' outputs and reports.", valueName: "dir"))
    var workDir: String = "porter-check"

    @Option(help: ArgumentHelp("Folder of the combined report (report.json, report.md, report.html); default WORK/check-report.", valueName: "dir"))
    var report: String?

    @Option(help: ArgumentHelp("Write JUnit XML (one testcase per step) to this file.", valueName: "file"))
    var junit: String?

    @OptionGroup var force: ForceOption
    @OptionGroup var quiet: QuietOption
    @OptionGroup var json: JSONOption

    func run() throws {
        let pipeline = Pipeline()
        let loaded: CheckPlan
        do { loaded = try CheckPlan.load(URL(fileURLWithPath: plan), pipeline: pipeline) } catch let error as CheckPlanError {
            // A plan that cannot run is a usage error (exit 2), like a bad option.
            throw ValidationError(error.localizedDescription)
        }
        let work = URL(fileURLWithPath: workDir)
        let reportDirectory = report.map { URL(fileURLWithPath: $0) } ?? work.appendingPathComponent("check-report")
        // --json: the combined report.json object on stdout instead of the step lines.
        let isQuiet = quiet.quiet || json.json
        let result = try pipeline.check(loaded, workDirectory: work, force: force.force) { step in
            guard !isQuiet else { return }
            var line = "step \(step.step.name): \(step.error != nil ? "ERROR" : step.passed ? "PASSED" : "FAILED") (\(String(format: "%.1f", step.seconds)) s)"
            if let problem = step.firstProblem { line += ": \(problem)" }
            print(line)
        }
        // The work folder is ours (made or --force): its report folder is replaced.
        try CheckReport.write(result, to: reportDirectory, force: force.force || report == nil)
        if let junit { try CheckReport.writeJUnit(result, to: URL(fileURLWithPath: junit), force: force.force) }
        let verdict = "check \(result.passed ? "PASSED" : "FAILED"): \(result.steps.count) step(s), \(result.failedCount) failed, "
            + "\(result.errorCount) could not run; report in \(reportDirectory.path)" + (junit.map { ", JUnit in \($0)" } ?? "")
        if json.json { print(String(decoding: try CheckReport.json(result), as: UTF8.self), terminator: "") }
        if !isQuiet { print(verdict) } else if !result.passed { FileHandle.standardError.write(Data(("porter: " + verdict + "\n").utf8)) }
        if !result.passed { throw ExitCode(3) }
    }
}
