import Foundation
import PorterCore
import PorterSafetensors
import PorterTestSupport
import Testing

/// Losses the wild corpus (`scripts/wild/`, `docs/wild.md`) found in real files, each
/// reproduced by a tiny fixture of the same shape (`fixtures/generate/gen_wild_regressions.py`).
@Suite struct WildRegressionCLITests {
    static let expected: [String: JSONValue] = (try? Fixtures.json("wild-regressions/expected.json").objectValue) ?? [:]

    /// Every tensor the framework read, under its name, bit for bit.
    static func expectSameTensors(_ model: NeutralModel, as key: String) throws {
        let want = try #require(expected[key]?["tensors"]?.objectValue, "\(key) missing from expected.json")
        #expect(Set(model.tensors.names) == Set(want.keys), "\(key)")
        for (name, w) in want {
            let got = try #require(model.tensors[name], "\(key): \(name) missing").tensor
            #expect(try tensorDigest(got) == w["sha256"]?.stringValue, "\(key): \(name)")
            #expect(got.shape.dims == (w["shape"]?.arrayValue ?? []).compactMap(\.intValue), "\(key): \(name) shape")
        }
    }

    /// rxnfp==0.1.0 and rxnmapper==0.4.3 ship classic folders (config.json +
    /// pytorch_model.bin, legacy serialization, tied decoder weights): Porter used to answer
    /// "not a format Porter reads".
    @Test func classicHuggingFaceFolderIsRead() throws {
        let source = Fixtures.url("wild-regressions/hf-classic-legacy")
        let inspect = try CLI.run(["inspect", "--json", source.path])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let info = try JSONValue.parse(Data(inspect.stdout.utf8))
        #expect(info["format"]?.stringValue == "hf")
        #expect(info["tensorCount"]?.intValue == Self.expected["hf-classic-legacy"]?["tensors"]?.objectValue?.count)
        #expect(info["config"]?["model_type"]?.stringValue == "bert")

        let out = try Fixtures.scratchDirectory("porter-wild")
        defer { try? FileManager.default.removeItem(at: out) }
        let target = out.appendingPathComponent("model.safetensors")
        let run = try CLI.run(["convert", source.path, "--to", "safetensors", "-o", target.path])
        #expect(run.status == 0, "\(run.stderr)")
        try Self.expectSameTensors(try SafetensorsReader().read(target, options: ReadOptions()), as: "hf-classic-legacy")

        let folder = out.appendingPathComponent("hf")
        let hf = try CLI.run(["convert", source.path, "--to", "hf", "-o", folder.path])
        #expect(hf.status == 0, "\(hf.stderr)")
        try Self.expectSameTensors(try SafetensorsReader().read(folder.appendingPathComponent("model.safetensors"), options: ReadOptions()),
                                   as: "hf-classic-legacy")
        let verify = try CLI.run(["verify", source.path, folder.path])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    /// mtcnn==0.1.1 ships mtcnn_weights.npy: np.save of a dict of dicts of arrays, a 0-d
    /// object array whose data is a pickle. numpy loads it only with allow_pickle=True;
    /// Porter reads it with `--read-option allow-pickle=true` through its allow-list pickle VM,
    /// every array bit-exact under its dict path, and `porter scan` scans the pickle.
    @Test func pickledDictInNpyIsReadWithAllowPickle() throws {
        let source = Fixtures.url("wild-regressions/npy-pickled-dict.npy")
        let out = try Fixtures.scratchDirectory("porter-wild")
        defer { try? FileManager.default.removeItem(at: out) }
        let target = out.appendingPathComponent("model.safetensors")
        let run = try CLI.run(["convert", source.path, "--to", "safetensors", "-o", target.path, "--read-option", "allow-pickle=true"])
        #expect(run.status == 0, "\(run.stderr)")
        try Self.expectSameTensors(try SafetensorsReader().read(target, options: ReadOptions()), as: "npy-pickled-dict.npy")
        // Only numpy's reconstruction globals: review (numpy would not load it by default), not dangerous.
        let scan = try CLI.run(["scan", source.path])
        #expect(scan.status == 4, "\(scan.stdout)")
        #expect(scan.stdout.contains("multiarray._reconstruct"), "\(scan.stdout)")
    }

    /// Without the option the refusal is typed, names the file and the option, exits 1 and
    /// leaves nothing behind — as np.load refuses without allow_pickle.
    @Test func pickledDictInNpyIsRefusedByDefault() throws {
        let out = try Fixtures.scratchDirectory("porter-wild")
        defer { try? FileManager.default.removeItem(at: out) }
        let target = out.appendingPathComponent("model.safetensors")
        let run = try CLI.run(["convert", Fixtures.url("wild-regressions/npy-pickled-dict.npy").path, "--to", "safetensors", "-o", target.path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("npy-pickled-dict.npy"))
        #expect(run.stderr.contains("object array"))
        #expect(run.stderr.contains("allow-pickle=true"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    }
}
