import Foundation
import PorterCore
import PorterPipeline
import PorterSafetensors
import PorterTestSupport
import Testing

/// The hostile-file corpus of `fixtures/security/` (gen_security.py): every file there ran
/// its payload under a real `torch.load(weights_only=False)` at generation time, and every
/// benign control loaded with `weights_only=True` (or `torch.jit.load`).
enum SecurityCorpus {
    static let record: JSONValue = (try? Fixtures.json("security/generator.json")) ?? .object([:])

    static func files(_ kind: String) -> [String] {
        guard case let .object(o)? = record[kind] else { return [] }
        return o.keys.sorted()
    }

    static var hostile: [String] { files("hostile") }
    static var benign: [String] { files("benign") }
    /// The container tricks, one file each.
    static var bypass: [String] { hostile.filter { $0.hasPrefix("bypass/") } }
    /// One gadget in each container, run through the binary end to end.
    static var perContainer: [String] {
        ["gadgets/os_system.pkl", "gadgets/os_system_p0.legacy.pt", "gadgets/os_system_obj.tar.pt", "gadgets/builtins_exec.zip.pt",
         "gadgets/torch_utils_internal_os_system.zip.pt", "gadgets/cstringio_open.legacy.pt"].filter { hostile.contains($0) }
    }
}

@Suite struct SecurityCorpusTests {
    @Test func theCorpusIsThere() {
        // The issue asks for ≥ 60 gadgets in four containers and ≥ 30 benign controls.
        let gadgets = Set(SecurityCorpus.hostile.filter { $0.hasPrefix("gadgets/") }.map { $0.split(separator: "/")[1].split(separator: ".")[0] })
        #expect(gadgets.count >= 60)
        #expect(SecurityCorpus.benign.count >= 30)
        #expect(SecurityCorpus.bypass.count >= 8)
    }

    @Test(arguments: SecurityCorpus.hostile)
    func hostileFilesAreDangerous(_ file: String) throws {
        let report = try Pipeline().scan(Fixtures.url("security/" + file))
        #expect(report.verdict == .dangerous, "\(file): \(report.verdict) \(report.findings.map(\.reason))")
    }

    @Test(arguments: SecurityCorpus.benign)
    func benignControlsAreSafe(_ file: String) throws {
        let report = try Pipeline().scan(Fixtures.url("security/" + file))
        #expect(report.verdict == .safe, "\(file): \(report.findings.map(\.reason))")
    }

    /// Through the binary: scan exits 5, convert exits 1 naming the file, leaves no output,
    /// and the payload's marker never appears.
    @Test(arguments: SecurityCorpus.bypass + SecurityCorpus.perContainer)
    func theBinaryRefusesAndRunsNothing(_ file: String) throws {
        let url = Fixtures.url("security/" + file)
        let gadget = SecurityCorpus.record["hostile"]?[file]?["gadget"]?.stringValue
        let marker = gadget.map { "/tmp/porter-gadget/\($0)" }
        if let marker { try? FileManager.default.removeItem(atPath: marker) }
        let scan = try CLI.run(["scan", url.path])
        #expect(scan.status == 5, "\(file): \(scan.stdout)")
        let out = try Fixtures.scratchDirectory("porter-hostile")
        defer { try? FileManager.default.removeItem(at: out) }
        let convert = try CLI.run(["convert", url.path, "--to", "safetensors", "-o", out.appendingPathComponent("m.safetensors").path])
        #expect(convert.status == 1, "\(file): \(convert.stderr)")
        #expect(convert.stderr.contains(url.lastPathComponent))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
        if let marker { #expect(!FileManager.default.fileExists(atPath: marker)) }
    }

    @Test func caseFoldedTwinWithOtherWeightsIsRefused() throws {
        let url = Fixtures.url("security/bypass/zip_casefold_weights.pt")
        let inspect = try CLI.run(["inspect", url.path])
        #expect(inspect.status == 1)
        #expect(inspect.stderr.contains("ambiguous archive"))
        #expect(inspect.stderr.contains("DATA.PKL"))
    }

    @Test func benignControlsConvert() throws {
        // Controls that hold tensors convert with exit 0 (TorchScript and Lightning included).
        for file in SecurityCorpus.benign where file.contains("linear") || file.contains("script") || file.contains("lightning") {
            let out = try Fixtures.scratchDirectory("porter-benign")
            defer { try? FileManager.default.removeItem(at: out) }
            let run = try CLI.run(["convert", Fixtures.url("security/" + file).path, "--to", "safetensors", "-o", out.appendingPathComponent("m.safetensors").path])
            #expect(run.status == 0, "\(file): \(run.stderr)")
        }
    }
}

@Suite struct InflateBudgetTests {
    /// torch.save's output recompressed: 261,952 bytes that inflate to 256 MiB (gen_inflate_bomb.py).
    @Test func aZipBombIsRefusedByTheAbsoluteBudget() throws {
        let url = Fixtures.url("security/limits/inflate_bomb.pt")
        let out = try Fixtures.scratchDirectory("porter-bomb")
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try CLI.run(["convert", url.path, "--to", "safetensors", "-o", out.appendingPathComponent("m.safetensors").path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("inflate_bomb.pt"))
        #expect(run.stderr.contains("64 MiB Porter inflates from one archive"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    }
}

/// `porter scan` on formats without pickles runs that format's own checks.
@Suite struct NonPickleScanTests {
    static let hostileHDF5 = Fixtures.files(in: "hdf5/hostile").filter { ($0.hasSuffix(".h5") || $0.hasSuffix(".keras")) && !$0.contains("vlen") && $0 != "link_target.h5" && $0 != "vds_source.h5" }

    @Test(arguments: hostileHDF5)
    func hdf5HazardsAreDangerous(_ file: String) throws {
        let run = try CLI.run(["scan", Fixtures.url("hdf5/hostile/" + file).path])
        #expect(run.status == 5, "\(file): \(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("[dangerous]"))
    }

    @Test(arguments: ["hdf5/mlp_sequential.h5", "hdf5/keras3_mlp.keras", "hdf5/tf_bert_tiny/tf_model.h5"])
    func cleanFilesAreSafeWithoutAPickle(_ file: String) throws {
        let run = try CLI.run(["scan", Fixtures.url(file).path])
        #expect(run.status == 0, "\(file): \(run.stdout) \(run.stderr)")
        #expect(run.stdout.contains("safe — holds no pickle"))
        #expect(!run.stdout.contains("malformed pickle"))
    }

    @Test func safetensorsIsSafeWithoutAPickle() throws {
        let file = try #require(Fixtures.files(in: "safetensors/valid", suffix: ".safetensors").first)
        let run = try CLI.run(["scan", Fixtures.url("safetensors/valid/" + file).path])
        #expect(run.status == 0, "\(run.stdout)")
        #expect(run.stdout.contains("holds no pickle"))
    }
}

@Suite struct NumpyCLITests {
    /// An object array is a pickle: `porter scan` scans it (review when it names only
    /// allow-listed globals, since numpy refuses it without allow_pickle; dangerous when it
    /// names code), and convert refuses it unless `allow-pickle=true`, which still refuses code.
    @Test func hostileObjectArrayIsDangerousEvenWithAllowPickle() throws {
        let url = Fixtures.url("numpy/hostile_object.npy")
        let scan = try CLI.run(["scan", url.path])
        #expect(scan.status == 5, "\(scan.stdout)")
        #expect(scan.stdout.contains("system"), "\(scan.stdout)")
        let out = try Fixtures.scratchDirectory("porter-npy")
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try CLI.run(["convert", url.path, "--to", "safetensors", "-o", out.appendingPathComponent("m.safetensors").path,
                               "--read-option", "allow-pickle=true"], in: out)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty, "no output and no payload marker")
    }

    @Test func objectArraysAreScannedAndRefusedByDefault() throws {
        let url = Fixtures.url("numpy/object.npy")
        #expect(try CLI.run(["scan", url.path]).status == 4)
        let out = try Fixtures.scratchDirectory("porter-npy")
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try CLI.run(["convert", url.path, "--to", "safetensors", "-o", out.appendingPathComponent("m.safetensors").path])
        #expect(run.status == 1)
        #expect(run.stderr.contains("object array"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty)
    }

    @Test func anArchiveConvertsBitExact() throws {
        let out = try Fixtures.scratchDirectory("porter-npz")
        defer { try? FileManager.default.removeItem(at: out) }
        let target = out.appendingPathComponent("m.safetensors")
        let run = try CLI.run(["convert", Fixtures.url("numpy/compressed.npz").path, "--to", "safetensors", "-o", target.path])
        #expect(run.status == 0, "\(run.stderr)")
        let want = try #require(try Fixtures.json("numpy/expected.json")["compressed.npz"]?["tensors"]?.objectValue)
        let model = try SafetensorsReader().read(target, options: ReadOptions())
        for (name, w) in want { #expect(try tensorDigest(try #require(model.tensors[name]).tensor) == w["sha256"]?.stringValue) }
        #expect(try CLI.run(["scan", Fixtures.url("numpy/compressed.npz").path]).stdout.contains("holds no pickle"))
    }
}
