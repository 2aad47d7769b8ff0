import Foundation
import PorterCore
import PorterSafetensors
import PorterTestSupport
import Testing

/// Through the binary: a pickled module, a nested training checkpoint and a DDP state dict
/// convert to safetensors holding the state dict a user loads, bit for bit.
@Suite struct SaveLayoutCLITests {
    static let expected: [String: JSONValue] = (try? Fixtures.json("pytorch-layouts/expected.json").objectValue) ?? [:]

    @Test(arguments: expected.keys.sorted())
    func convertsToTheStateDict(_ file: String) throws {
        let out = try Fixtures.scratchDirectory("porter-layouts")
        defer { try? FileManager.default.removeItem(at: out) }
        let target = out.appendingPathComponent("model.safetensors")
        let run = try CLI.run(["convert", Fixtures.url("pytorch-layouts/" + file).path, "--to", "safetensors", "-o", target.path])
        #expect(run.status == 0, "\(file): \(run.stderr)")
        let model = try SafetensorsReader().read(target, options: ReadOptions())
        let want = try #require(Self.expected[file]?["tensors"]?.objectValue)
        #expect(Set(model.tensors.names) == Set(want.keys))
        for (name, w) in want {
            #expect(try tensorDigest(try #require(model.tensors[name]).tensor) == w["sha256"]?.stringValue, "\(file): \(name)")
        }
    }
}

/// Fail closed: a conversion that yields no tensor is an error, unless asked for.
@Suite struct EmptyConversionCLITests {
    @Test func nothingToConvertExitsOne() throws {
        let source = Fixtures.url("pytorch-layouts/no_tensors.pt")
        let out = try Fixtures.scratchDirectory("porter-empty")
        defer { try? FileManager.default.removeItem(at: out) }
        let target = out.appendingPathComponent("m.safetensors")
        let run = try CLI.run(["convert", source.path, "--to", "safetensors", "-o", target.path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("nothing to convert"))
        #expect(run.stderr.contains("no_tensors.pt"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
        let allowed = try CLI.run(["convert", source.path, "--to", "safetensors", "-o", target.path, "--allow-empty"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(FileManager.default.fileExists(atPath: target.path))
    }
}

/// `--read-option state-dict=KEY.PATH` overrides the layout rules.
@Suite struct StateDictOptionCLITests {
    static let source = Fixtures.url("pytorch-layouts/nested_model_args.pt").path

    func tensorNames(_ extra: [String]) throws -> (CLIRun, [String]) {
        let run = try CLI.run(["inspect", Self.source, "--json"] + extra)
        guard run.status == 0 else { return (run, []) }
        let json = try JSONValue.parse(Data(run.stdout.utf8))
        return (run, (json["tensors"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }.sorted())
    }

    @Test func explicitPathRootAndMistakes() throws {
        let (_, auto) = try tensorNames([])
        let (explicitRun, explicit) = try tensorNames(["--read-option", "state-dict=model.state_dict"])
        #expect(explicitRun.status == 0, "\(explicitRun.stderr)")
        #expect(!auto.isEmpty && explicit == auto)
        // '.' is the whole checkpoint: the state dict's tensors under their full key path, and the optimizer's.
        let (_, root) = try tensorNames(["--read-option", "state-dict=."])
        #expect(root.count > auto.count)
        #expect(Set(auto.map { "model.state_dict." + $0 }).isSubset(of: Set(root)), "\(root)")
        #expect(root.contains { $0.hasPrefix("optimizer.") })
        // A key that is not there names the keys that are.
        let (wrong, _) = try tensorNames(["--read-option", "state-dict=model.weights"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("state-dict=model.weights") && wrong.stderr.contains("state_dict"), "\(wrong.stderr)")
    }
}
