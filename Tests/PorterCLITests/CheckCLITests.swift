import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import PorterTestSupport
import Testing

/// Counts JUnit elements with Foundation's XML parser (a real parser: malformed XML fails).
final class JUnitCounter: NSObject, XMLParserDelegate {
    var testcases: [String] = []
    var failures = 0
    var errors = 0
    var suiteFailures: String?

    func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        switch element {
        case "testcase": testcases.append(attributes["name"] ?? "")
        case "failure": failures += 1
        case "error": errors += 1
        case "testsuite": suiteFailures = attributes["failures"]
        default: break
        }
    }
}

@Suite("porter check (CLI)")
struct CheckCLITests {
    static func plan(_ steps: String, in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("plan.json")
        try Data(#"{"steps": [\#(steps)]}"#.utf8).write(to: url)
        return url
    }

    @Test("one passing and one failing step: exit 3, JUnit with exactly one failure, a combined report")
    func passAndFail() throws {
        let dir = try Fixtures.scratchDirectory("porter-check")
        let bert = Fixtures.url("architectures/bert").path
        let reference = Fixtures.url("reference-scripts/bert-transformers.safetensors").path
        let plan = try Self.plan("""
            {"name": "bert-safetensors", "source": "\(bert)", "to": "safetensors", "reference": "\(reference)"},
            {"name": "bert-bf16-exact", "source": "\(bert)", "to": "safetensors", "dtype": "bf16", "atol": 0, "rtol": 0}
            """, in: dir)
        let junit = dir.appendingPathComponent("junit.xml")
        let work = dir.appendingPathComponent("work")
        let r = try CLI.run(["check", plan.path, "--work-dir", work.path, "--junit", junit.path])
        #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("step bert-safetensors: PASSED"), "\(r.stdout)")
        #expect(r.stdout.contains("step bert-bf16-exact: FAILED"), "\(r.stdout)")
        #expect(r.stdout.contains("check FAILED: 2 step(s), 1 failed, 0 could not run"), "\(r.stdout)")

        let parser = try #require(XMLParser(contentsOf: junit))
        let counter = JUnitCounter()
        parser.delegate = counter
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(counter.testcases == ["bert-safetensors", "bert-bf16-exact"])
        #expect(counter.failures == 1)
        #expect(counter.errors == 0)
        #expect(counter.suiteFailures == "1")

        let report = work.appendingPathComponent("check-report")
        for name in ["report.json", "report.md", "report.html"] {
            #expect(FileManager.default.fileExists(atPath: report.appendingPathComponent(name).path), "\(name)")
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("report.json"))) as? [String: Any])
        #expect(json["passed"] as? Bool == false)
        let steps = try #require(json["steps"] as? [[String: Any]])
        #expect(steps.map { $0["passed"] as? Bool } == [true, false])
        let first = try #require(steps.first?["report"] as? [String: Any])
        #expect((first["reference"] as? [String: Any])?["status"] as? String == "passed")
        let md = try String(contentsOf: report.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(md.contains("| bert-bf16-exact | safetensors | FAILED |"))
        // Each step's own report and output are in its folder.
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("bert-safetensors/converted/model.safetensors").path))
        #expect(FileManager.default.fileExists(atPath: work.appendingPathComponent("bert-bf16-exact/report/report.json").path))

        // The work folder exists now: refused without --force (exit 1), replaced with it.
        #expect(try CLI.run(["check", plan.path, "--work-dir", work.path, "-q"]).status == 1)
        #expect(try CLI.run(["check", plan.path, "--work-dir", work.path, "--junit", junit.path, "--force", "-q"]).status == 3)
    }

    @Test("all steps passing: exit 0")
    func allPass() throws {
        let dir = try Fixtures.scratchDirectory("porter-check-pass")
        let plan = try Self.plan(#"{"source": "\#(Fixtures.url("hdf5/mlp_sequential.h5").path)", "to": "safetensors"}"#, in: dir)
        let r = try CLI.run(["check", plan.path, "--work-dir", dir.appendingPathComponent("w").path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("check PASSED: 1 step(s)"), "\(r.stdout)")
    }

    /// `--json`: the combined report object on stdout (the same as report.json), no step lines.
    @Test("--json prints the combined report, not the step lines")
    func jsonPrintsTheCombinedReport() throws {
        let dir = try Fixtures.scratchDirectory("porter-check-json-out")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = try Self.plan(#"{"name": "mlp", "source": "\#(Fixtures.url("hdf5/mlp_sequential.h5").path)", "to": "safetensors"}"#, in: dir)
        let work = dir.appendingPathComponent("w")
        let r = try CLI.run(["check", plan.path, "--work-dir", work.path, "--json"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(!r.stdout.contains("step mlp: PASSED"), "\(r.stdout)")
        let printed = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(printed["passed"] as? Bool == true)
        let steps = try #require(printed["steps"] as? [[String: Any]])
        #expect(steps.count == 1 && steps.first?["passed"] as? Bool == true)
        let written = try Data(contentsOf: work.appendingPathComponent("check-report/report.json"))
        let onDisk = try #require(try JSONSerialization.jsonObject(with: written) as? NSDictionary)
        #expect(NSDictionary(dictionary: printed).isEqual(onDisk))
    }

    @Test("a step that cannot run is an error in JUnit and exit 3; the other steps still run")
    func stepError() throws {
        let dir = try Fixtures.scratchDirectory("porter-check-error")
        let plan = try Self.plan("""
            {"name": "missing", "source": "no-such-model.bin", "to": "safetensors"},
            {"name": "ok", "source": "\(Fixtures.url("hdf5/mlp_sequential.h5").path)", "to": "safetensors"}
            """, in: dir)
        let junit = dir.appendingPathComponent("j.xml")
        let r = try CLI.run(["check", plan.path, "--work-dir", dir.appendingPathComponent("w").path, "--junit", junit.path])
        #expect(r.status == 3)
        #expect(r.stdout.contains("step missing: ERROR"), "\(r.stdout)")
        #expect(r.stdout.contains("step ok: PASSED"), "\(r.stdout)")
        let counter = JUnitCounter()
        let parser = try #require(XMLParser(contentsOf: junit))
        parser.delegate = counter
        #expect(parser.parse())
        #expect(counter.errors == 1 && counter.failures == 0)
    }

    @Test("bad plans: exit 2, the message names the step and the key, nothing written", arguments: [
        (#"{"source": "a", "to": "safetensors", "dtpye": "f16"}"#, #"step 1: unknown key "dtpye""#),
        (#"{"source": "a", "to": "safetensors"}, {"source": "b"}"#, #"step 2: "to" is missing"#),
        (#"{"source": "a", "to": "safetensor"}"#, #"step 1: "to": no writer called 'safetensor'"#),
        (#"{"source": "a", "to": "safetensors", "dtype": "f12"}"#, #"step 1: "dtype": 'f12' is none of"#),
        (#"{"source": "a", "to": "safetensors", "atol": "small"}"#, #"step 1: "atol" must be a number"#),
        (#"{"source": "a", "to": "safetensors", "mapping": "no-such-mapping"}"#, #"step 1: "mapping": mapping 'no-such-mapping' not found"#),
        (#"{"source": "a", "to": "safetensors", "write_options": {"nope": "1"}}"#, #"step 1: "read_options/write_options""#),
        (#"{"name": "x", "source": "a", "to": "safetensors"}, {"name": "x", "source": "b", "to": "safetensors"}"#, #"step 2: "name": "x" names an earlier step"#),
        ("", #"not a check plan: "steps" is empty"#),
    ])
    func badPlan(_ steps: String, message: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-check-bad")
        let plan = try Self.plan(steps, in: dir)
        let work = dir.appendingPathComponent("w")
        let r = try CLI.run(["check", plan.path, "--work-dir", work.path])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stderr.contains(plan.path), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: work.path))
    }

    @Test("a plan that is not JSON, or missing: exit 2")
    func notJSON() throws {
        let dir = try Fixtures.scratchDirectory("porter-check-json")
        let plan = dir.appendingPathComponent("plan.json")
        try Data("{\"steps\": [".utf8).write(to: plan)
        let r = try CLI.run(["check", plan.path, "--work-dir", dir.appendingPathComponent("w").path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("the plan is not JSON"), "\(r.stderr)")
        #expect(try CLI.run(["check", dir.appendingPathComponent("none.json").path]).status == 2)
    }
}
