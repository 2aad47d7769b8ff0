import Foundation
import Testing
import PorterCore
import PorterSafetensors
import PorterTestSupport

/// ONNX through the real binary: inspect shows the graph facts, convert writes the
/// initializers byte for byte, hostile external data exits 1 and leaves nothing.
@Suite struct ONNXCLITests {
    @Test func inspectShowsIRVersionOpsetsInputsAndOps() throws {
        let r = try CLI.run(["inspect", Fixtures.url("onnx/bert_tiny.onnx").path])
        #expect(r.status == 0, "\(r.stderr)")
        for line in ["format:     ONNX (onnx)", "onnx.ir_version: 8", "onnx.opset_import: ai.onnx 17", "onnx.producer: pytorch 2.13.0",
                     "onnx.inputs: input_ids: INT64[batch, sequence]; attention_mask: INT64[batch, sequence]",
                     "onnx.outputs: last_hidden_state: FLOAT[batch, sequence, 16]", "MatMul×"] {
            #expect(r.stdout.contains(line), "missing \(line) in\n\(r.stdout)")
        }
    }

    @Test(arguments: ["safetensors", "pytorch"])
    func convertWritesTheInitializers(_ target: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-onnx-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent(target == "pytorch" ? "cnn.bin" : "cnn.safetensors")
        let r = try CLI.run(["convert", Fixtures.url("onnx/cnn_external.onnx").path, "--to", target, "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let back = try CLI.run(["inspect", "--json", out.path])
        #expect(back.status == 0, "\(back.stderr)")
        let report = try JSONValue.parse(Data(back.stdout.utf8))
        let want = try #require(try Fixtures.json("onnx/expected.json")["cnn_external.onnx"]?["tensors"]?.objectValue)
        let got = report["tensors"]?.arrayValue ?? []
        #expect(got.count == want.count)
        for (name, w) in want {
            let g = try #require(got.first { $0["name"]?.stringValue == name }, "\(name) missing")
            #expect(g["shape"] == w["shape"] && g["dtype"] == w["dtype"], "\(name)")
        }
        if target == "safetensors" {
            let model = try SafetensorsReader().read(out, options: ReadOptions())
            for (name, w) in want {
                #expect(try tensorDigest(try #require(model.tensors[name]).tensor) == w["sha256"]?.stringValue, "\(name) bytes")
            }
        }
    }

    @Test func externalDataOutsideTheFolderExitsOneAndLeavesNothing() throws {
        let dir = try Fixtures.scratchDirectory("porter-onnx-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.safetensors")
        let r = try CLI.run(["convert", Fixtures.url("onnx/ext_dotdot.onnx").path, "--to", "safetensors", "-o", out.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("ext_dotdot.onnx") && r.stderr.contains("../outside.bin") && r.stderr.contains("refused"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// `porter scan`: external data out of the folder is dangerous (exit 5); a plain export is safe.
    @Test func scanCallsExternalDataOutsideTheFolderDangerous() throws {
        let bad = try CLI.run(["scan", Fixtures.url("onnx/ext_absolute.onnx").path])
        #expect(bad.status == 5, "\(bad.stdout)\(bad.stderr)")
        #expect(bad.stdout.contains("/etc/hostname"), "\(bad.stdout)")
        let good = try CLI.run(["scan", Fixtures.url("onnx/cnn_external.onnx").path])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
    }

    /// The imported CNN and BERT graphs run on Porter's runtime: `porter verify` against the outputs
    /// ONNX Runtime recorded at fixture time passes within the f32 tolerance (1e-4).
    @Test(arguments: ["cnn_tiny", "bert_tiny"])
    func verifyAgainstONNXRuntimeReference(_ name: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-onnx-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Fixtures.url("onnx/\(name).onnx").path
        let out = dir.appendingPathComponent(name)
        let c = try CLI.run(["convert", source, "--to", "porter", "-o", out.path])
        #expect(c.status == 0, "\(c.stderr)")
        let v = try CLI.run(["verify", source, out.path, "--reference", Fixtures.url("onnx/\(name).io.safetensors").path])
        #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
        #expect(v.stdout.contains("reference: passed") && v.stdout.contains("atol 0.0001"), "\(v.stdout)")
    }

    /// `--to onnx` through the binary: a Hugging Face BERT folder (graph from its descriptor)
    /// becomes an `.onnx` that Porter reads back with named dynamic axes; a bad opset is a
    /// usage error that leaves nothing.
    @Test func convertToONNXWithOpsetOption() throws {
        let dir = try Fixtures.scratchDirectory("porter-onnx-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("bert.onnx")
        let r = try CLI.run(["convert", Fixtures.url("architectures/bert").path, "--to", "onnx", "-o", out.path, "--write-option", "opset=18"])
        #expect(r.status == 0, "\(r.stderr)")
        let i = try CLI.run(["inspect", out.path])
        #expect(i.stdout.contains("onnx.opset_import: ai.onnx 18"), "\(i.stdout)")
        #expect(i.stdout.contains("input_ids: INT64[batch, sequence]"), "\(i.stdout)")
        let bad = dir.appendingPathComponent("bad.onnx")
        let u = try CLI.run(["convert", Fixtures.url("architectures/bert").path, "--to", "onnx", "-o", bad.path, "--write-option", "opset=12"])
        #expect(u.status == 2, "\(u.stderr)")
        #expect(!FileManager.default.fileExists(atPath: bad.path))
    }

    /// `convert --to onnx --verify` passes at every level it runs: each source weight is found
    /// in the written file under its own name, bit-exact (the BERT pooler, which the graph does
    /// not read, included), and the written graph, imported back, runs on Porter's runtime
    /// and matches the source's graph; `porter verify SRC written.onnx` agrees.
    @Test(arguments: ["architectures/bert", "architectures/gpt2", "hdf5/cnn_functional.h5"])
    func convertToONNXVerifies(_ source: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-onnx-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("model.onnx")
        let src = Fixtures.url(source).path
        let r = try CLI.run(["convert", src, "--to", "onnx", "-o", out.path, "--verify"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("verification PASSED") && r.stdout.contains("forward:   passed"), "\(r.stdout)")
        let v = try CLI.run(["verify", src, out.path])
        #expect(v.status == 0, "\(v.stdout)\(v.stderr)")
        #expect(v.stdout.contains("weights:   passed") && v.stdout.contains("forward:   passed"), "\(v.stdout)")
    }
}
