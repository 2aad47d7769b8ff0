import Foundation
import PorterTestSupport
import Testing

/// `verify --from / --read-option / --mapping`, the one-line mapping hint, and which side ran where.
@Suite("porter verify options (CLI)")
struct VerifyOptionsCLITests {
    @Test("names that pair only under a shipped mapping: one line suggesting --mapping NAME, no name lists")
    func mappingHint() throws {
        let dir = try Fixtures.scratchDirectory("porter-verify-hint")
        let source = Fixtures.url("hdf5/mlp_sequential.h5").path
        let out = dir.appendingPathComponent("mlp.safetensors").path
        let c = try CLI.run(["convert", source, "-o", out, "--mapping", "keras-to-pytorch", "-q"])
        #expect(c.status == 0, "\(c.stderr)")
        let bare = try CLI.run(["verify", source, out])
        #expect(bare.status == 3)
        // keras-to-pytorch and hf-tf-to-pt make the same names and layouts of this MLP: both are named.
        #expect(bare.stdout.contains("what the mapping 'hf-tf-to-pt' or 'keras-to-pytorch' produces: rerun with --mapping "), "\(bare.stdout)")
        #expect(!bare.stdout.contains("the conversion produced it, but the converted model does not have it"), "\(bare.stdout)")
        #expect(!bare.stdout.contains("come from no source tensor"), "\(bare.stdout)")
        #expect(!bare.stdout.contains("neither converted nor dropped"), "\(bare.stdout)")
        let quiet = try CLI.run(["verify", source, out, "-q"])
        #expect(quiet.status == 3)
        #expect(quiet.stderr.contains("rerun with --mapping"), "\(quiet.stderr)")
        let mapped = try CLI.run(["verify", source, out, "--mapping", "keras-to-pytorch"])
        #expect(mapped.status == 0, "\(mapped.stdout)\(mapped.stderr)")
    }

    @Test("names that pair under no mapping keep the lists (no hint invented)")
    func noHint() throws {
        let r = try CLI.run(["verify", Fixtures.url("architectures/bert").path, Fixtures.url("architectures/gpt2").path])
        #expect(r.status == 3)
        #expect(!r.stdout.contains("rerun with --mapping"), "\(r.stdout)")
    }

    /// The seeded inputs' dynamic dims (an ONNX graph's `batch` and `length`): 2 and 8 by default,
    /// `--batch` / `--sequence` otherwise (an image model whose height must be a multiple of 32 —
    /// YOLOv8, PP-OCR's detector — fails at 8 and passes at 64); out of range is a usage error,
    /// and convert takes them only with --verify.
    @Test("--batch and --sequence size the seeded inputs' dynamic dims")
    func seededInputSizes() throws {
        let dir = try Fixtures.scratchDirectory("porter-verify-sizes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Fixtures.url("onnx/import_ops/shape_runtime.onnx").path
        let out = dir.appendingPathComponent("m.porter").path
        #expect(try CLI.run(["convert", source, "--to", "porter", "-o", out, "-q"]).status == 0)
        func shape(_ extra: [String]) throws -> [Int]? {
            let r = try CLI.run(["verify", source, out, "--json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            return ((doc?["forward"] as? [String: Any])?["inputs"] as? [[String: Any]])?.first?["shape"] as? [Int]
        }
        #expect(try shape([]) == [2, 8])
        #expect(try shape(["--batch", "3", "--sequence", "5"]) == [3, 5])
        #expect(try CLI.run(["verify", source, out, "--sequence", "0"]).status == 2)
        let convert = try CLI.run(["convert", source, "--to", "porter", "-o", dir.appendingPathComponent("n.porter").path, "--batch", "3"])
        #expect(convert.status == 2 && convert.stderr.contains("go with --verify"), "\(convert.stderr)")
    }

    @Test("--from names the source's reader; a misspelt one is a usage error with a suggestion")
    func from() throws {
        let bert = Fixtures.url("architectures/bert").path
        let ok = try CLI.run(["verify", bert, bert, "--from", "hf"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let typo = try CLI.run(["verify", bert, bert, "--from", "hff"])
        #expect(typo.status == 2)
        #expect(typo.stderr.contains("did you mean") && typo.stderr.contains("'hf'"), "\(typo.stderr)")
        let wrong = try CLI.run(["verify", bert, bert, "--from", "onnx"])
        #expect(wrong.status == 1, "\(wrong.stderr)")
    }

    @Test("--read-option is checked against the source reader's declared keys (unknown key: exit 2)")
    func readOption() throws {
        let bert = Fixtures.url("architectures/bert").path
        let ok = try CLI.run(["verify", bert, bert, "--read-option", "weights=model.safetensors"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let bad = try CLI.run(["verify", bert, bert, "--read-option", "wieghts=model.safetensors"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("wieghts"), "\(bad.stderr)")
    }

    @Test("the summary and the report say the forward level ran Porter's runtime on both sides")
    func sides() throws {
        let dir = try Fixtures.scratchDirectory("porter-verify-sides")
        let bert = Fixtures.url("architectures/bert").path
        let r = try CLI.run(["verify", bert, bert, "--report", dir.appendingPathComponent("rep").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("  forward:   passed (Porter runtime on source vs converted)"), "\(r.stdout)")
        let json = try String(contentsOf: dir.appendingPathComponent("rep/report.json"), encoding: .utf8)
        #expect(json.contains("forward: Porter runtime on source vs converted (the same seeded inputs)"))
        let md = try String(contentsOf: dir.appendingPathComponent("rep/report.md"), encoding: .utf8)
        #expect(md.contains("forward: Porter runtime on source vs converted"))
    }
}
