import Foundation
import PorterCore
import PorterPickle
@testable import PorterPyTorch
import PorterTestSupport
import Testing

let expected: [String: JSONValue] = (try? Fixtures.json("pytorch/expected.json").objectValue) ?? [:]

/// Compares a model's tensors with what torch recorded in expected.json.
func checkAgainstExpected(_ model: NeutralModel, file: String) throws {
    let want = try #require(expected[file]?["tensors"]?.objectValue, "no expectations for \(file)")
    #expect(Set(model.tensors.names) == Set(want.keys), "\(file): names")
    for (name, w) in want {
        let entry = try #require(model.tensors[name], "\(file): \(name) missing")
        #expect(entry.tensor.dtype.rawValue == w["dtype"]?.stringValue, "\(file): \(name) dtype")
        #expect(entry.tensor.shape.dims == w["shape"]?.arrayValue?.compactMap(\.intValue), "\(file): \(name) shape")
        #expect(try tensorDigest(entry.tensor) == w["sha256"]?.stringValue, "\(file): \(name) bytes")
    }
}

func aliasPairs(_ file: String) -> [[String]] {
    expected[file]?["aliases"]?.arrayValue?.compactMap { $0.arrayValue?.compactMap(\.stringValue) } ?? []
}

@Suite struct PyTorchFixtureTests {
    static let readable = expected.keys.sorted()

    @Test(arguments: readable)
    func tensorsEqualWhatTorchRead(file: String) throws {
        let url = Fixtures.url("pytorch/\(file)")
        let reader = PyTorchReader()
        #expect(reader.probe(try ProbeInput.load(url)) == .certain)
        let model = try reader.read(url, options: ReadOptions())
        try checkAgainstExpected(model, file: file)
        for pair in aliasPairs(file) {
            let a = try #require(model.tensors[pair[0]]), b = try #require(model.tensors[pair[1]])
            #expect(a.tensor.storage === b.tensor.storage, "\(file): \(pair) share one storage")
        }
    }

    @Test func tiedWeightsAreOneView() throws {
        let model = try PyTorchReader().read(Fixtures.url("pytorch/tied.pt"), options: ReadOptions())
        #expect(model.tensors.aliases()["out.weight"] == "embed.weight")
    }

    @Test func viewsKeepOffsetsAndStrides() throws {
        let model = try PyTorchReader().read(Fixtures.url("pytorch/views.pt"), options: ReadOptions())
        let t = try #require(model.tensors["transposed"]?.tensor)
        #expect(t.strides == [1, 6])
        #expect(model.tensors["sliced"]?.tensor.offset == 6)
        #expect(model.tensors["scalar"]?.tensor.shape.rank == 0)
        #expect(model.tensors["empty"]?.tensor.elementCount == 0)
        #expect(model.tensors["expanded"]?.tensor.strides == [0, 1])
    }

    @Test func nestedCheckpointKeepsConfigAndDropsOptimizerState() throws {
        let model = try PyTorchReader().read(Fixtures.url("pytorch/nested.pt"), options: ReadOptions())
        let config = model.config
        for (path, value) in try #require(expected["nested.pt"]?["config"]?.objectValue) {
            var node: JSONValue? = config
            for part in path.split(separator: ".") { node = node?[String(part)] }
            #expect(node == value, "config \(path)")
        }
        #expect(config["cfg"]?["model"]?["tags"] == ["a", "b"])
        #expect(config["args"]?["max_tokens"] == .null)
        let droppedWanted = Set(expected["nested.pt"]?["dropped"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(!droppedWanted.isEmpty)
        #expect(Set(model.dropped.map(\.name)) == droppedWanted)
        #expect(model.dropped.allSatisfy { $0.reason.contains("last_optimizer_state") })
        #expect(model.notes.contains { $0.contains("optimizer_history") })
    }

    @Test func rawTreeExposesArgsForFairseq() throws {
        let ckpt = try TorchCheckpoint.open(Fixtures.url("pytorch/nested.pt"))
        let args = try #require(ckpt.root.dictValue?["args"]?.objectValue)
        #expect(args.type.description == "argparse.Namespace")
        #expect(args.stateDict?["encoder_embed_dim"]?.intValue == 4)
        #expect(ckpt.root.dictValue?["model"]?.dictValue?["proj.weight"]?.tensorValue?.shape == [4, 4])
    }

    @Test func torchScriptAndLegacyKinds() throws {
        #expect(try TorchCheckpoint.open(Fixtures.url("pytorch/script.pt")).kind == .torchscript)
        #expect(try TorchCheckpoint.open(Fixtures.url("pytorch/script_deflated.pt")).kind == .torchscript)
        let legacy = try TorchCheckpoint.open(Fixtures.url("pytorch/legacy.pt"))
        #expect(legacy.kind == .legacy)
        let be = try TorchCheckpoint.open(Fixtures.url("pytorch/bigendian.pt"))
        #expect(be.byteOrder == .big)
    }

    @Test func deflatedStoragesAreDeferred() throws {
        let model = try PyTorchReader().read(Fixtures.url("pytorch/script_deflated.pt"), options: ReadOptions())
        let t = try #require(model.tensors.entries.first?.tensor)
        if case .deferred = t.storage.backing {} else { Issue.record("deflated entry should be a deferred storage") }
    }
}

@Suite struct MaliciousFixtureTests {
    static let malicious = ["mal_os_system.pt", "mal_posix.pkl", "mal_eval.pt", "mal_subprocess.pkl", "mal_stack_global.pt",
                            "mal_nested.pkl", "mal_legacy.pt", "mal_tar.pt"]
    static let globals = ["mal_os_system.pt": "os.system", "mal_posix.pkl": "posix.system", "mal_eval.pt": "builtins.eval",
                          "mal_subprocess.pkl": "subprocess.call", "mal_stack_global.pt": "os.system",
                          "mal_nested.pkl": "_pickle.loads", "mal_legacy.pt": "os.system", "mal_tar.pt": "os.system"]

    static func payload(_ file: String) -> String {
        "/tmp/porter-pwned-" + file.split(separator: ".")[0].replacingOccurrences(of: "mal_", with: "")
    }

    @Test(arguments: malicious)
    func refusedNamingGlobalAndOffset(file: String) throws {
        let payload = Self.payload(file)
        try? FileManager.default.removeItem(atPath: payload)
        let url = Fixtures.url("pytorch/\(file)")
        do {
            _ = try PyTorchReader().read(url, options: ReadOptions())
            Issue.record("\(file) was read")
        } catch let PickleError.dangerousGlobal(source, offset, global, _) {
            #expect(global == Self.globals[file])
            #expect(offset > 0)
            #expect(source.contains(file))
        }
        #expect(throws: PyTorchError.self) { try PyTorchSafety.refuseIfDangerous(url) }
        let report = try PickleScanner.scan(url: url)
        #expect(report.verdict == .dangerous)
        #expect(report.exitCode == 5)
        #expect(report.findings.contains { $0.reason.contains(Self.globals[file]!) })
        #expect(!FileManager.default.fileExists(atPath: payload), "payload ran: \(payload) exists")
    }

    @Test func embeddedPickleBytesAreFlaggedButNotRun() throws {
        let url = Fixtures.url("pytorch/embedded_pickle_bytes.pkl")
        let report = try PickleScanner.scan(url: url)
        #expect(report.verdict == .dangerous)
        #expect(report.findings.contains { $0.reason.contains("embedded pickle") })
        // The outer pickle itself is inert data: Porter reads the bytes as bytes.
        let ckpt = try TorchCheckpoint.open(url)
        if case let .bytes(b)? = ckpt.root.dictValue?["blob"] { #expect(b.first == 0x80) } else { Issue.record("bytes expected") }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/porter-pwned-nested"))
    }

    @Test(arguments: ["dtypes.pt", "legacy.pt", "proto5.pt", "nested.pt"])
    func realCheckpointsScanCleanOrReview(file: String) throws {
        let report = try PickleScanner.scan(url: Fixtures.url("pytorch/\(file)"))
        #expect(report.verdict != .dangerous)
        #expect(report.globals.contains { $0.global.hasPrefix("torch._utils._rebuild_tensor") })
        if file != "nested.pt" { #expect(report.verdict == .safe, "\(report.findings)") }
    }

    @Test func scriptArchiveScansAsTorchScript() throws {
        let report = try PickleScanner.scan(url: Fixtures.url("pytorch/script.pt"))
        #expect(report.format == "torchscript")
        #expect(report.verdict != .dangerous)
    }
}
