import Foundation
import Testing
import PorterCore
import PorterTestSupport

/// Issue 17, the output half: `--json` on every command, `-v`, `convert --dry-run`, and
/// terminal progress (forced with PORTER_PROGRESS=always, timed by a stepping clock).
@Suite struct OutputCLITests {
    static let tied = Fixtures.url("pytorch/tied.pt").path
    static let bert = Fixtures.url("verifier/original").path

    static func json(_ text: String) throws -> JSONValue { try JSONValue.parse(Data(text.utf8)) }

    /// The environment of this process plus `extra` (CLI.run replaces it when given one).
    static func environment(_ extra: [String: String]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
    }

    static func tensorNames(ofFile path: String, in dir: URL) throws -> [String] {
        let r = try CLI.run(["inspect", path, "--json"], in: dir)
        return try json(r.stdout)["tensors"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    }

    @Test func convertJSONSaysWhatWasReadWrittenAndDropped() throws {
        let dir = try Fixtures.scratchDirectory("porter-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["convert", Self.tied, "-o", "m.safetensors", "--json"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "no progress off a terminal: \(r.stderr)")
        let doc = try Self.json(r.stdout)
        #expect(doc["dryRun"] == .bool(false))
        #expect(doc["source"]?["format"] == .string("pytorch"))
        #expect(doc["output"]?["path"] == .string("m.safetensors"))
        let size = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent("m.safetensors").path)[.size] as? Int
        #expect(doc["output"]?["bytes"]?.intValue == size)
        let listed = doc["tensors"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(Set(listed) == Set(try Self.tensorNames(ofFile: "m.safetensors", in: dir)))
        for t in doc["tensors"]?.arrayValue ?? [] {
            let sources = t["sources"]?.arrayValue ?? []
            #expect(sources.count == 1 && sources.first?["name"] == t["name"], "\(t)")
        }
        #expect(doc["verification"] == nil)
        if let diff = try Golden.compare(CLI.normalised(r.stdout, ranIn: dir), to: "cli/convert-json.txt") { Issue.record(Comment(rawValue: diff)) }
    }

    /// `convert --verify --json`: one document, the report object under `verification`, a
    /// passing report with its per-layer series.
    @Test func convertVerifyJSONCarriesTheReport() throws {
        let dir = try Fixtures.scratchDirectory("porter-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["convert", Self.bert, "-o", "bert.safetensors", "--verify", "--json"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try Self.json(r.stdout)
        let v = try #require(doc["verification"])
        #expect(v["schema"] == .string("porter-report/2"))
        #expect(v["passed"] == .bool(true))
        #expect(v["converted"]?["path"] == .string("bert.safetensors"))
        let layers = v["forward"]?["layers"]?.arrayValue ?? []
        #expect(layers.count == 3, "a passing report traces the layers too: \(layers)")
        #expect(v["forward"]?["outputs"]?.arrayValue?.first?["metrics"]?["toleranceFraction"]?.doubleValue == 0)
    }

    /// A failed `convert --verify --json` still prints its document (the failed report in it),
    /// keeps the verdict line on stderr, and exits 3.
    @Test func failedConvertVerifyJSONExitsThree() throws {
        let dir = try Fixtures.scratchDirectory("porter-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["convert", Fixtures.url("fairseq/separate").path, "--to", "hf", "-o", "fsmt", "--verify", "--json",
                             "--reference", Fixtures.url("fairseq/joined/reference.safetensors").path], in: dir)
        #expect(r.status == 3, "\(r.stderr)")
        let doc = try Self.json(r.stdout)
        #expect(doc["verification"]?["passed"] == .bool(false))
        #expect(doc["verification"]?["reference"]?["status"] == .string("failed"))
        #expect(!(doc["dropped"]?.arrayValue?.isEmpty ?? true), "the fairseq checkpoint's training state is listed as dropped")
        #expect(r.stderr.hasPrefix("porter: verification FAILED: "), "\(r.stderr)")
    }

    @Test func verboseConvertListsEachTensorReadAndWritten() throws {
        let dir = try Fixtures.scratchDirectory("porter-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try CLI.run(["convert", Self.tied, "-o", "m.safetensors", "--dtype", "f16", "-v"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        for name in try Self.tensorNames(ofFile: "m.safetensors", in: dir) {
            #expect(r.stdout.contains("→ \(name) f16 "), "\(name) in \(r.stdout)")
        }
        #expect(r.stdout.contains("[cast f32"), "\(r.stdout)")
        if let diff = try Golden.compare(CLI.normalised(r.stdout, ranIn: dir), to: "cli/convert-verbose.txt") { Issue.record(Comment(rawValue: diff)) }
    }

    /// `--dry-run` writes nothing (no file, no folder), exits 0, and lists exactly what the
    /// real conversion then writes.
    @Test func dryRunWritesNothingAndPredictsTheConversion() throws {
        let dir = try Fixtures.scratchDirectory("porter-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try CLI.run(["convert", Self.tied, "-o", "out/", "--to", "safetensors", "--dtype", "bf16", "--dry-run"], in: dir)
        #expect(text.status == 0, "\(text.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "a dry run creates nothing")
        #expect(text.stdout.hasPrefix("dry run: would convert"), "\(text.stdout)")
        #expect(text.stdout.contains("would write: out/model.safetensors"), "\(text.stdout)")
        if let diff = try Golden.compare(CLI.normalised(text.stdout, ranIn: dir), to: "cli/convert-dry-run.txt") { Issue.record(Comment(rawValue: diff)) }

        let planned = try CLI.run(["convert", Self.tied, "-o", "m.safetensors", "--dtype", "bf16", "--dry-run", "--json"], in: dir)
        #expect(planned.status == 0, "\(planned.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        let plan = try Self.json(planned.stdout)
        #expect(plan["dryRun"] == .bool(true))
        let done = try CLI.run(["convert", Self.tied, "-o", "m.safetensors", "--dtype", "bf16", "--json"], in: dir)
        #expect(done.status == 0, "\(done.stderr)")
        let real = try Self.json(done.stdout)
        #expect(plan["tensors"] == real["tensors"], "the dry run lists what the conversion writes")
        #expect(plan["dropped"] == real["dropped"])
        // The planned size is the tensor data; the file adds its header.
        let planBytes = try #require(plan["output"]?["bytes"]?.intValue)
        let fileBytes = try #require(real["output"]?["bytes"]?.intValue)
        let listed = (plan["tensors"]?.arrayValue ?? []).filter { $0["aliasOf"] == nil }.compactMap { $0["bytes"]?.intValue }.reduce(0, +)
        #expect(planBytes == listed && planBytes > 0 && planBytes < fileBytes, "\(planBytes) \(fileBytes)")
    }

    /// A dry run refuses what the conversion would refuse, and takes no --verify.
    @Test func dryRunStopsWhereTheConversionWould() throws {
        let dir = try Fixtures.scratchDirectory("porter-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        let existing = dir.appendingPathComponent("m.safetensors")
        try Data("keep me".utf8).write(to: existing)
        let r = try CLI.run(["convert", Self.tied, "-o", "m.safetensors", "--dry-run"], in: dir)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("--force"), "\(r.stderr)")
        #expect(try Data(contentsOf: existing) == Data("keep me".utf8))
        let usage = try CLI.run(["convert", Self.tied, "-o", "x.safetensors", "--dry-run", "--verify"], in: dir)
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("--dry-run writes nothing"), "\(usage.stderr)")
    }

    /// `verify --json` prints the report object that `--report DIR` writes as report.json;
    /// its paths are relative to the working folder.
    @Test func verifyJSONIsTheReportObject() throws {
        let dir = try Fixtures.scratchDirectory("porter-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try CLI.run(["convert", Self.bert, "-o", "bert.safetensors"], in: dir).status == 0)
        let r = try CLI.run(["verify", Self.bert, "bert.safetensors", "--json", "--report", "rep"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        guard case var .object(printed) = try Self.json(r.stdout),
              case var .object(written) = try JSONValue.parse(Data(contentsOf: dir.appendingPathComponent("rep/report.json"))) else {
            Issue.record("not JSON objects"); return
        }
        printed["createdAt"] = nil
        written["createdAt"] = nil
        #expect(printed == written)
        #expect(printed["converted"]?["path"] == .string("bert.safetensors"))
        let md = try String(contentsOf: dir.appendingPathComponent("rep/report.md"), encoding: .utf8)
        #expect(md.contains("`bert.safetensors`") && !md.contains(dir.path), "no absolute path of the working folder")

        let broken = try CLI.run(["verify", Self.bert, Fixtures.url("verifier/broken").path, "--json"], in: dir)
        #expect(broken.status == 3)
        #expect(try Self.json(broken.stdout)["passed"] == .bool(false))
        #expect(broken.stderr.hasPrefix("porter: verification FAILED: "), "\(broken.stderr)")
    }

    /// `verify -v`: each converted tensor against its source, every output metric, every layer.
    @Test func verboseVerifyShowsEveryComparison() throws {
        let dir = try Fixtures.scratchDirectory("porter-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try CLI.run(["convert", Self.bert, "-o", "bert.safetensors"], in: dir).status == 0)
        let r = try CLI.run(["verify", Self.bert, "bert.safetensors", "-v"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        for name in try Self.tensorNames(ofFile: "bert.safetensors", in: dir) {
            #expect(r.stdout.contains("    \(name) ← \(name): equal"), "\(name)")
        }
        #expect(r.stdout.contains("forward, layer by layer:"), "\(r.stdout)")
        #expect(r.stdout.contains("of tolerance"), "\(r.stdout)")
        if let diff = try Golden.compare(CLI.normalised(r.stdout, ranIn: dir), to: "cli/verify-verbose.txt") { Issue.record(Comment(rawValue: diff)) }
    }

    @Test func mappingsAndTinyTakeJSON() throws {
        let text = try CLI.run(["mappings"])
        let listing = try CLI.run(["mappings", "--json"])
        #expect(listing.status == 0)
        let names = try Self.json(listing.stdout)["mappings"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(!names.isEmpty)
        for n in names { #expect(text.stdout.contains(n)) }

        let dir = try Fixtures.scratchDirectory("porter-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tiny = try CLI.run(["tiny", Self.bert, "-o", "tiny", "--layers", "1", "--hidden", "8", "--heads", "2", "--json"], in: dir)
        #expect(tiny.status == 0, "\(tiny.stderr)")
        let doc = try Self.json(tiny.stdout)
        #expect(doc["output"] == .string("tiny"))
        #expect(doc["family"]?.stringValue?.isEmpty == false)
        let listed = doc["tensors"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(Set(listed) == Set(try Self.tensorNames(ofFile: "tiny", in: dir)))
    }

    /// Forced progress with a stepping clock: reading, then writing in bytes with rate and
    /// ETA; nothing off a terminal, nothing with -q.
    @Test func progressLinesShowBytesRateAndETA() throws {
        let dir = try Fixtures.scratchDirectory("porter-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = Self.environment(["PORTER_PROGRESS": "always", "PORTER_PROGRESS_CLOCK": "step:0.5"])
        let r = try CLI.run(["convert", Self.tied, "-o", "m.safetensors"], in: dir, environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        let draws = r.stderr.components(separatedBy: "\r\u{1B}[2K").filter { !$0.isEmpty }
        #expect(draws.first == "reading tied.pt", "\(draws)")
        let writing = draws.filter { $0.hasPrefix("writing m.safetensors") }
        #expect(writing.count >= 2, "\(draws)")
        #expect(writing.contains { $0.contains(" / ") && $0.contains("%") && $0.contains("B/s") && $0.contains("ETA ") }, "\(writing)")
        #expect(writing.last?.contains("100%  ") == true && writing.last?.contains("  in ") == true, "the last draw says how long: \(writing)")
        let transcript = draws.map { $0.replacingOccurrences(of: "\n", with: "⏎") }.joined(separator: "\n") + "\n"
        if let diff = try Golden.compare(transcript, to: "cli/progress.txt") { Issue.record(Comment(rawValue: diff)) }

        let quiet = try CLI.run(["convert", Self.tied, "-o", "q.safetensors", "-q"], in: dir, environment: env)
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
        let plain = try CLI.run(["convert", Self.tied, "-o", "p.safetensors"], in: dir, environment: Self.environment(["PORTER_PROGRESS": "never"]))
        #expect(plain.status == 0 && plain.stderr.isEmpty, "\(plain.stderr)")
    }

    @Test func verifyShowsProgressOfWeightsAndForward() throws {
        let dir = try Fixtures.scratchDirectory("porter-output")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try CLI.run(["convert", Self.bert, "-o", "bert.safetensors"], in: dir).status == 0)
        let env = Self.environment(["PORTER_PROGRESS": "always", "PORTER_PROGRESS_CLOCK": "step:0.5"])
        let r = try CLI.run(["verify", Self.bert, "bert.safetensors"], in: dir, environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        let draws = r.stderr.components(separatedBy: "\r\u{1B}[2K")
        #expect(draws.contains { $0.hasPrefix("verifying weights") && $0.contains("100%") && $0.contains("  in ") }, "\(draws)")
        #expect(draws.contains { $0.hasPrefix("verifying forward pass  in ") }, "\(draws)")
        #expect(draws.contains { $0.hasPrefix("reading bert.safetensors") }, "\(draws)")
    }
}
