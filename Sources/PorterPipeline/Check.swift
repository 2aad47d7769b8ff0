import Foundation
import PorterCore
import PorterMapping
import PorterVerifier

/// One step of a `porter check` plan: a conversion and its verification.
public struct CheckStep: Sendable, Equatable {
    public var name: String
    public var source: URL
    /// Writer id (`safetensors`, `hf`, …).
    public var to: String
    public var from: String?
    public var mapping: String?
    public var dtype: DTypeChoice
    public var allowUnmapped: Bool
    public var reference: URL?
    public var atol: Double?
    public var rtol: Double?
    public var readOptions: [String: String]
    public var writeOptions: [String: String]
}

/// A `porter check` plan (`PLAN.json`): `{"steps": [{"source": …, "to": …}, …]}`. Paths in it
/// are relative to the plan's folder.
public struct CheckPlan: Sendable {
    public var path: URL
    public var steps: [CheckStep]

    /// The keys a step may have; any other key is an error naming it.
    public static let stepKeys = ["name", "source", "to", "from", "mapping", "dtype", "allow_unmapped", "reference", "atol", "rtol",
                                  "read_options", "write_options"]

    /// Reads and checks a plan: every key known, every value of the right type, writers,
    /// readers, dtypes and mappings that exist, option keys the formats declare.
    public static func load(_ url: URL, pipeline: Pipeline = Pipeline()) throws -> CheckPlan {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckPlanError.unreadable(path: path)
        }
        let root: JSONValue
        do { root = try JSONValue.parse([UInt8](data), rejectDuplicateKeys: true) } catch {
            throw CheckPlanError.notJSON(path: path, reason: error.localizedDescription)
        }
        guard let object = root.objectValue else { throw CheckPlanError.notAPlan(path: path, reason: "the top level is not an object") }
        if let stray = object.keys.sorted().first(where: { $0 != "steps" }) {
            throw CheckPlanError.notAPlan(path: path, reason: "unknown top-level key \"\(stray)\" (a plan has only \"steps\")")
        }
        guard let list = object["steps"]?.arrayValue else {
            throw CheckPlanError.notAPlan(path: path, reason: "\"steps\" is missing or not an array")
        }
        guard !list.isEmpty else { throw CheckPlanError.notAPlan(path: path, reason: "\"steps\" is empty: nothing to check") }
        let base = url.deletingLastPathComponent()
        var steps: [CheckStep] = []
        var names = Set<String>()
        for (i, value) in list.enumerated() {
            let step = try parseStep(value, index: i + 1, base: base, path: path, pipeline: pipeline)
            guard names.insert(step.name).inserted else {
                throw CheckPlanError.badValue(path: path, step: i + 1, key: "name", reason: "\"\(step.name)\" names an earlier step too; names must differ")
            }
            steps.append(step)
        }
        return CheckPlan(path: url, steps: steps)
    }

    static func parseStep(_ value: JSONValue, index: Int, base: URL, path: String, pipeline: Pipeline) throws -> CheckStep {
        guard let o = value.objectValue else { throw CheckPlanError.stepNotAnObject(path: path, step: index) }
        if let stray = o.keys.sorted().first(where: { !stepKeys.contains($0) }) {
            throw CheckPlanError.unknownKey(path: path, step: index, key: stray, known: stepKeys)
        }
        func string(_ key: String, required: Bool = false) throws -> String? {
            guard let v = o[key], !v.isNull else {
                if required { throw CheckPlanError.missingKey(path: path, step: index, key: key) }
                return nil
            }
            guard let s = v.stringValue, !s.isEmpty else { throw CheckPlanError.wrongType(path: path, step: index, key: key, expected: "a non-empty string") }
            return s
        }
        func number(_ key: String) throws -> Double? {
            guard let v = o[key], !v.isNull else { return nil }
            guard let d = v.doubleValue else { throw CheckPlanError.wrongType(path: path, step: index, key: key, expected: "a number") }
            guard d.isFinite, d >= 0 else { throw CheckPlanError.badValue(path: path, step: index, key: key, reason: "\(d) is not a finite number ≥ 0") }
            return d
        }
        func settings(_ key: String) throws -> [String: String] {
            guard let v = o[key], !v.isNull else { return [:] }
            guard let obj = v.objectValue else { throw CheckPlanError.wrongType(path: path, step: index, key: key, expected: "an object of strings") }
            var out: [String: String] = [:]
            for (k, x) in obj {
                if let s = x.stringValue { out[k] = s } else if let n = x.intValue { out[k] = String(n) } else if let b = x.boolValue { out[k] = String(b) } else {
                    throw CheckPlanError.wrongType(path: path, step: index, key: "\(key).\(k)", expected: "a string")
                }
            }
            return out
        }
        func resolved(_ p: String) -> URL { p.hasPrefix("/") ? URL(fileURLWithPath: p) : base.appendingPathComponent(p) }

        let source = try string("source", required: true) ?? ""
        let to = try string("to", required: true) ?? ""
        let writers = pipeline.registry.writers.map(\.info.id)
        guard let writer = pipeline.registry.writers.first(where: { $0.info.id == to }) else {
            throw CheckPlanError.badValue(path: path, step: index, key: "to", reason: "no writer called '\(to)' (Porter writes: \(writers.joined(separator: ", ")))")
        }
        let from = try string("from")
        var reader: (any ModelReader)?
        if let from {
            reader = pipeline.registry.readers.first { $0.info.id == from }
            guard reader != nil else {
                throw CheckPlanError.badValue(path: path, step: index, key: "from",
                                              reason: "no reader called '\(from)' (Porter reads: \(pipeline.registry.readers.map(\.info.id).joined(separator: ", ")))")
            }
        }
        var dtype = DTypeChoice.keep
        if let d = try string("dtype") {
            guard let choice = DTypeChoice(rawValue: d) else {
                throw CheckPlanError.badValue(path: path, step: index, key: "dtype", reason: "'\(d)' is none of \(DTypeChoice.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            dtype = choice
        }
        let mapping = try string("mapping").map { m in m.hasSuffix(".json") || m.contains("/") ? resolved(m).path : m }
        if let mapping {
            do { _ = try Mapping.resolve(mapping, searchPaths: pipeline.mappingSearchPaths) } catch {
                throw CheckPlanError.badValue(path: path, step: index, key: "mapping", reason: error.localizedDescription)
            }
        }
        var allowUnmapped = false
        if let v = o["allow_unmapped"], !v.isNull {
            guard let b = v.boolValue else { throw CheckPlanError.wrongType(path: path, step: index, key: "allow_unmapped", expected: "true or false") }
            allowUnmapped = b
        }
        let readOptions = try settings("read_options")
        let writeOptions = try settings("write_options")
        do {
            try FormatOption.check(writeOptions, against: writer.options, format: writer.info.id, direction: .write)
            if let reader { try FormatOption.check(readOptions, against: reader.options, format: reader.info.id, direction: .read) }
        } catch {
            throw CheckPlanError.badValue(path: path, step: index, key: "read_options/write_options", reason: error.localizedDescription)
        }
        let name = try string("name") ?? "\(index)-" + (source.split(separator: "/").last.map(String.init) ?? source) + "-\(to)"
        guard !name.contains("/"), name != ".", name != ".." else {
            throw CheckPlanError.badValue(path: path, step: index, key: "name", reason: "\"\(name)\" names a folder of the work directory: no '/', '.' or '..'")
        }
        return CheckStep(name: name, source: resolved(source), to: to, from: from, mapping: mapping, dtype: dtype, allowUnmapped: allowUnmapped,
                         reference: try string("reference").map(resolved), atol: try number("atol"), rtol: try number("rtol"),
                         readOptions: readOptions, writeOptions: writeOptions)
    }
}

/// A plan that cannot be run: each case names the plan file, the step (1-based) and the key.
public enum CheckPlanError: Error, LocalizedError, Equatable {
    case unreadable(path: String)
    case notJSON(path: String, reason: String)
    case notAPlan(path: String, reason: String)
    case stepNotAnObject(path: String, step: Int)
    case missingKey(path: String, step: Int, key: String)
    case unknownKey(path: String, step: Int, key: String, known: [String])
    case wrongType(path: String, step: Int, key: String, expected: String)
    case badValue(path: String, step: Int, key: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadable(path): return "\(path): cannot read the plan (no such file, or not readable)"
        case let .notJSON(path, reason): return "\(path): the plan is not JSON: \(reason)"
        case let .notAPlan(path, reason): return "\(path): not a check plan: \(reason); a plan is {\"steps\": [{\"source\": …, \"to\": …}, …]}"
        case let .stepNotAnObject(path, step): return "\(path): step \(step) is not an object"
        case let .missingKey(path, step, key): return "\(path): step \(step): \"\(key)\" is missing"
        case let .unknownKey(path, step, key, known): return "\(path): step \(step): unknown key \"\(key)\" (a step takes \(known.joined(separator: ", ")))"
        case let .wrongType(path, step, key, expected): return "\(path): step \(step): \"\(key)\" must be \(expected)"
        case let .badValue(path, step, key, reason): return "\(path): step \(step): \"\(key)\": \(reason)"
        }
    }
}

/// What one step did.
public struct CheckStepResult: Sendable {
    public var step: CheckStep
    public var passed: Bool
    public var seconds: Double
    /// Where the conversion was written, when it was.
    public var output: URL?
    /// The step's own report folder (report.json / .md / .html), when verification ran.
    public var reportDirectory: URL?
    public var report: VerificationReport?
    /// The conversion or verification could not run (a read error, an unwritable output).
    public var error: String?

    /// The first reason the step failed, for one-line summaries.
    public var firstProblem: String? {
        if let error { return error }
        return report.flatMap { $0.passed ? nil : ($0.failures.first ?? "verification failed") }
    }
}

/// What `porter check` did.
public struct CheckResult: Sendable {
    public var plan: URL
    public var steps: [CheckStepResult]
    public var passed: Bool { steps.allSatisfy(\.passed) }
    public var failedCount: Int { steps.filter { !$0.passed && $0.error == nil }.count }
    public var errorCount: Int { steps.filter { $0.error != nil }.count }
}

extension Pipeline {
    /// Runs every step of `plan`: converts into `workDirectory/<step name>/`, verifies the
    /// output there (the step's report in `…/report/`), and goes on after a failing step.
    /// The work directory must not exist unless `force` (then step outputs are replaced).
    public func check(_ plan: CheckPlan, workDirectory: URL, force: Bool, timestamped: Bool = true,
                      onStep: (CheckStepResult) -> Void = { _ in }) throws -> CheckResult {
        let fm = FileManager.default
        if fm.fileExists(atPath: workDirectory.path) && !force { throw CoreError.outputExists(path: workDirectory.path) }
        do { try fm.createDirectory(at: workDirectory, withIntermediateDirectories: true) } catch {
            throw CoreError.cannotWrite(path: workDirectory.path, reason: error.localizedDescription)
        }
        var results: [CheckStepResult] = []
        for step in plan.steps {
            let start = Date()
            let folder = workDirectory.appendingPathComponent(step.name, isDirectory: true)
            var result = CheckStepResult(step: step, passed: false, seconds: 0)
            do {
                try fm.createDirectory(at: folder, withIntermediateDirectories: true)
                let converted = try convert(ConvertRequest(
                    source: step.source, output: folder.appendingPathComponent("converted", isDirectory: true), to: step.to, from: step.from,
                    mapping: step.mapping, dtype: step.dtype, allowUnmapped: step.allowUnmapped, force: true,
                    readOptions: step.readOptions, writeOptions: step.writeOptions))
                result.output = converted.output
                let reportDirectory = folder.appendingPathComponent("report", isDirectory: true)
                var request = VerifyRequest(reference: step.reference, atol: step.atol, rtol: step.rtol, reportDirectory: reportDirectory,
                                            force: true, timestamped: timestamped)
                request.from = step.from
                request.readOptions = step.readOptions
                let report = try verify(converted, request: request)
                result.report = report
                result.reportDirectory = reportDirectory
                result.passed = report.passed
            } catch {
                result.error = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            }
            result.seconds = Date().timeIntervalSince(start)
            onStep(result)
            results.append(result)
        }
        return CheckResult(plan: plan.path, steps: results)
    }
}

/// The combined report of a check (`report.json`, `report.md`, `report.html`, one section per
/// step built from the step's own report) and its JUnit XML.
public enum CheckReport {
    /// Writes the three files into `directory` (replaced as a whole with `force`).
    public static func write(_ result: CheckResult, to directory: URL, force: Bool) throws {
        try AtomicOutput.write(to: directory, force: force,
                               layout: .folder(ReportWriter.fileNames.map(OutputEntry.file), producer: "porter check")) { temp in
            try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
            for (name, data) in [("report.json", try json(result)), ("report.md", Data(markdown(result).utf8)), ("report.html", Data(html(result).utf8))] {
                try OutputFile.write(data, to: temp.appendingPathComponent(name))
            }
        }
    }

    /// Writes the JUnit XML to `file` (replaced with `force`).
    public static func writeJUnit(_ result: CheckResult, to file: URL, force: Bool) throws {
        try AtomicOutput.write(to: file, force: force, layout: .file(producer: "porter check")) { temp in
            try OutputFile.write(Data(junit(result).utf8), to: temp)
        }
    }

    static func stepObject(_ s: CheckStepResult) throws -> JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(s.step.name), "passed": .bool(s.passed), "source": .string(s.step.source.path), "to": .string(s.step.to),
            "dtype": .string(s.step.dtype.rawValue), "seconds": .double((s.seconds * 1000).rounded() / 1000),
        ]
        if let m = s.step.mapping { o["mapping"] = .string(m) }
        if let r = s.step.reference { o["reference"] = .string(r.path) }
        if let out = s.output { o["output"] = .string(out.path) }
        if let dir = s.reportDirectory { o["report_directory"] = .string(dir.path) }
        if let e = s.error { o["error"] = .string(e) }
        if let report = s.report { o["report"] = try JSONDecoder().decode(JSONValue.self, from: ReportWriter.json(report)) }
        return .object(o)
    }

    /// `report.json`: `{"plan", "passed", "steps": [{…, "report": <the step's report.json>}]}`.
    public static func json(_ result: CheckResult) throws -> Data {
        let root: JSONValue = .object([
            "plan": .string(result.plan.path), "passed": .bool(result.passed),
            "failed": .int(Int64(result.failedCount)), "errors": .int(Int64(result.errorCount)),
            "steps": .array(try result.steps.map(stepObject)),
        ])
        var data = try root.encoded(pretty: true)
        data.append(0x0A)
        return data
    }

    static func verdict(_ s: CheckStepResult) -> String { s.error != nil ? "ERROR" : s.passed ? "PASSED" : "FAILED" }

    /// `report.md`: a table of the steps, then each step's own Markdown report.
    public static func markdown(_ result: CheckResult) -> String {
        var out = ["# porter check: \(result.passed ? "PASSED" : "FAILED")", "",
                   "Plan: `\(result.plan.path)`; \(result.steps.count) step(s), \(result.failedCount) failed, \(result.errorCount) could not run.", "",
                   "| step | to | verdict | first problem |", "|---|---|---|---|"]
        for s in result.steps {
            out.append("| \(s.step.name) | \(s.step.to) | \(verdict(s)) | \((s.firstProblem ?? "").replacingOccurrences(of: "|", with: "\\|")) |")
        }
        for s in result.steps {
            out += ["", "## Step \(s.step.name): \(verdict(s))", ""]
            if let e = s.error { out.append("The step could not run: \(e)") }
            if let report = s.report {
                // The step's report, its headings one level down.
                out += ReportWriter.markdown(report).split(separator: "\n", omittingEmptySubsequences: false)
                    .map { $0.hasPrefix("#") ? "#" + $0 : String($0) }
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func h(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// `report.html`: a table of the steps, then each step's own HTML report (inline, in a frame
    /// of its own so its styles stay its own). Self-contained: no scripts, no network.
    public static func html(_ result: CheckResult) -> String {
        var rows = ""
        for s in result.steps {
            let colour = s.passed ? "#1a7f37" : "#cf222e"
            rows += "<tr><td><a href=\"#step-\(h(s.step.name))\">\(h(s.step.name))</a></td><td>\(h(s.step.to))</td>"
                + "<td style=\"color:\(colour);font-weight:bold\">\(verdict(s))</td><td>\(h(s.firstProblem ?? ""))</td></tr>\n"
        }
        var sections = ""
        for s in result.steps {
            sections += "<section id=\"step-\(h(s.step.name))\"><h2>Step \(h(s.step.name)): \(verdict(s))</h2>\n"
            if let e = s.error { sections += "<p>The step could not run: \(h(e))</p>\n" }
            if let report = s.report {
                sections += "<iframe title=\"report of \(h(s.step.name))\" style=\"width:100%;height:36em;border:1px solid #ccc\" srcdoc=\"\(h(ReportWriter.html(report)))\"></iframe>\n"
            }
            sections += "</section>\n"
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>porter check: \(result.passed ? "PASSED" : "FAILED")</title>
            <style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}</style>
            </head><body>
            <h1>porter check: \(result.passed ? "PASSED" : "FAILED")</h1>
            <p>Plan <code>\(h(result.plan.path))</code>: \(result.steps.count) step(s), \(result.failedCount) failed, \(result.errorCount) could not run.</p>
            <table><tr><th>step</th><th>to</th><th>verdict</th><th>first problem</th></tr>
            \(rows)</table>
            \(sections)</body></html>

            """
    }

    /// JUnit XML (the schema CI systems read): one `testcase` per step; a failed verification
    /// is a `failure` (its failures as the text), a step that could not run an `error`.
    public static func junit(_ result: CheckResult) -> String {
        func t(_ x: Double) -> String { String(format: "%.3f", x) }
        let total = result.steps.reduce(0) { $0 + $1.seconds }
        let suite = result.plan.lastPathComponent
        var out = [#"<?xml version="1.0" encoding="UTF-8"?>"#,
                   "<testsuites name=\"porter check\" tests=\"\(result.steps.count)\" failures=\"\(result.failedCount)\" errors=\"\(result.errorCount)\" time=\"\(t(total))\">",
                   "  <testsuite name=\"\(h(suite))\" tests=\"\(result.steps.count)\" failures=\"\(result.failedCount)\" errors=\"\(result.errorCount)\" time=\"\(t(total))\">"]
        for s in result.steps {
            let open = "    <testcase classname=\"porter.check.\(h(suite))\" name=\"\(h(s.step.name))\" time=\"\(t(s.seconds))\""
            if let e = s.error {
                out += [open + ">", "      <error type=\"error\" message=\"\(h(e))\">\(h(e))</error>", "    </testcase>"]
            } else if let report = s.report, !report.passed {
                let text = (report.failures.isEmpty ? ["verification failed"] : report.failures).joined(separator: "\n")
                out += [open + ">", "      <failure type=\"verification\" message=\"\(h(s.firstProblem ?? "verification failed"))\">\(h(text))</failure>",
                        "    </testcase>"]
            } else {
                out.append(open + "/>")
            }
        }
        out += ["  </testsuite>", "</testsuites>"]
        return out.joined(separator: "\n") + "\n"
    }
}
