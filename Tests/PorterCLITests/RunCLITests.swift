import Foundation
import Testing
import PorterCore
import PorterSafetensors
import PorterTestSupport

/// `porter run`: forward passes through the real binary, compared with what the original
/// frameworks computed on the same inputs (recorded in the fixtures).
@Suite("porter run")
struct RunCLITests {
    /// Float elements of tensor `name` in the safetensors file at `url`.
    static func floats(_ url: URL, _ name: String) throws -> (shape: [Int], values: [Float]) {
        let model = try SafetensorsReader().read(url, options: ReadOptions())
        let entry = try #require(model.tensors[name], "\(url.lastPathComponent) has no tensor \(name)")
        return (entry.tensor.shape.dims, try entry.tensor.floatValues())
    }

    /// Largest |a − b| over two equal-length arrays (infinity when the lengths differ).
    static func maxAbs(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count, !a.isEmpty else { return .infinity }
        return zip(a, b).map { abs($0 - $1) }.max()!
    }

    static func outputNames(_ url: URL) throws -> [String] {
        try SafetensorsReader().read(url, options: ReadOptions()).tensors.names
    }

    /// Keras computed `mlp_f16` in float16 (Porter widens to float32), hence its 1e-3, as in
    /// KerasForwardTests; the float32 models agree within 1e-5.
    @Test("a Keras model's outputs equal Keras's own on the recorded inputs, within 1e-5 (f16 model: 1e-3)",
          arguments: [("mlp_sequential.h5", 1e-5), ("zoo_functional.h5", 1e-5), ("cnn_functional.h5", 1e-5), ("mlp_f16.h5", 1e-3)] as [(String, Float)])
    func kerasOutputsMatch(_ file: String, _ tolerance: Float) throws {
        let dir = try Fixtures.scratchDirectory("porter-run-keras")
        defer { try? FileManager.default.removeItem(at: dir) }
        let io = Fixtures.url("hdf5/" + file.replacingOccurrences(of: ".h5", with: ".io.safetensors"))
        let out = dir.appendingPathComponent("out.safetensors")
        let r = try CLI.run(["run", Fixtures.url("hdf5/" + file).path, "--inputs", io.path, "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let names = try Self.outputNames(out)
        #expect(names.count == 1)
        let got = try Self.floats(out, try #require(names.first))
        let want = try Self.floats(io, "output")
        #expect(got.shape == want.shape)
        #expect(Self.maxAbs(got.values, want.values) <= tolerance, "max abs \(Self.maxAbs(got.values, want.values))")
        #expect(r.stdout.contains("wrote \(out.path)"))
    }

    @Test("Hugging Face BERT and GPT-2 folders run on descriptor-built graphs and match transformers",
          arguments: [("bert", "last_hidden_state"), ("gpt2", "logits")])
    func huggingFaceOutputsMatch(_ family: String, _ output: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-run-hf")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = Fixtures.url("architectures/\(family)")
        let reference = folder.appendingPathComponent("reference.safetensors")
        let out = dir.appendingPathComponent("out.safetensors")
        let r = try CLI.run(["run", folder.path, "--inputs", reference.path, "-o", out.path, "--threads", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let got = try Self.floats(out, output)
        let want = try Self.floats(reference, output)
        #expect(got.shape == want.shape)
        let scale = max(1, want.values.map(abs).max() ?? 0)
        #expect(Self.maxAbs(got.values, want.values) <= 1e-4 * scale, "max abs \(Self.maxAbs(got.values, want.values))")
    }

    @Test("--json prints median_ms, min_ms, max_ms, runs and each output's name, dtype and shape")
    func jsonShape() throws {
        let folder = Fixtures.url("architectures/bert")
        let r = try CLI.run(["run", folder.path, "--inputs", folder.appendingPathComponent("reference.safetensors").path,
                             "--repeat", "3", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(Set(doc.keys) == ["median_ms", "min_ms", "max_ms", "runs", "outputs"])
        #expect(doc["runs"] as? Int == 3)
        let median = try #require(doc["median_ms"] as? Double)
        let lo = try #require(doc["min_ms"] as? Double)
        let hi = try #require(doc["max_ms"] as? Double)
        #expect(lo > 0 && lo <= median && median <= hi)
        let outputs = try #require(doc["outputs"] as? [[String: Any]])
        #expect(outputs.count == 1)
        #expect(outputs.first?["name"] as? String == "last_hidden_state")
        #expect(outputs.first?["dtype"] as? String == "f32")
        #expect(outputs.first?["shape"] as? [Int] == [2, 7, 32])
    }

    /// The keys issue 14 names, snake_case (not the camelCase of inspect/report.json), as a golden:
    /// the timings vary, so only their values are replaced.
    @Test("--json's document is the golden one, timings aside")
    func jsonGolden() throws {
        let folder = Fixtures.url("architectures/gpt2")
        let r = try CLI.run(["run", folder.path, "--inputs", folder.appendingPathComponent("reference.safetensors").path,
                             "--repeat", "2", "--threads", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let timing = try NSRegularExpression(pattern: #"("(median|min|max)_ms" : )[-+0-9.eE]+"#)
        let text = timing.stringByReplacingMatches(in: r.stdout, range: NSRange(r.stdout.startIndex..., in: r.stdout), withTemplate: "$1<ms>")
        #expect(text != r.stdout, "no timing replaced in \(r.stdout)")
        if let diff = try Golden.compare(text, to: "cli/run-json.txt") { Issue.record(Comment(rawValue: diff)) }
    }

    @Test("--threads sets OpenBLAS's thread count; --repeat reports the spread of the runs")
    func threadsAndRepeat() throws {
        let folder = Fixtures.url("architectures/gpt2")
        let inputs = folder.appendingPathComponent("reference.safetensors").path
        let one = try CLI.run(["run", folder.path, "--inputs", inputs, "--threads", "1", "--repeat", "2"])
        let two = try CLI.run(["run", folder.path, "--inputs", inputs, "--threads", "2"])
        #expect(one.status == 0 && two.status == 0, "\(one.stderr) \(two.stderr)")
        #expect(one.stdout.contains("over 2 runs (threads: 1)"), "\(one.stdout)")
        #expect(two.stdout.contains("ms (threads: 2)"), "\(two.stdout)")
        #expect(one.stdout.hasPrefix("logits: f32 [2, 7, 64]\n"), "\(one.stdout)")
    }

    @Test("a missing input exits 1 naming it and what the graph expects; nothing is written")
    func missingInput() throws {
        let dir = try Fixtures.scratchDirectory("porter-run-missing")
        defer { try? FileManager.default.removeItem(at: dir) }
        // GPT-2's reference holds input_ids and attention_mask, but no token_type_ids.
        let inputs = Fixtures.url("architectures/gpt2/reference.safetensors")
        let out = dir.appendingPathComponent("out.safetensors")
        let r = try CLI.run(["run", Fixtures.url("architectures/bert").path, "--inputs", inputs.path, "-o", out.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(inputs.path): no input tensor named 'token_type_ids'"), "\(r.stderr)")
        #expect(r.stderr.contains("input_ids (i64") && r.stderr.contains("attention_mask (i64"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("a misshapen input exits 1 naming it, its shape and the graph's")
    func misshapenInput() throws {
        let inputs = Fixtures.url("hdf5/cnn_functional.io.safetensors")  // [2, 8, 8, 3] for an MLP over 8 features
        let r = try CLI.run(["run", Fixtures.url("hdf5/mlp_sequential.h5").path, "--inputs", inputs.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(inputs.path): input '") && r.stderr.contains("has shape [2, 8, 8, 3]"), "\(r.stderr)")
        #expect(r.stderr.contains("[-1, 8]"), "\(r.stderr)")
    }

    @Test("a model without a graph exits 1 with the reader's reason")
    func noGraph() throws {
        let dir = try Fixtures.scratchDirectory("porter-run-nograph")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = Fixtures.url("hdf5/weights_only.h5")
        let out = dir.appendingPathComponent("out.safetensors")
        let r = try CLI.run(["run", model.path, "--inputs", Fixtures.url("hdf5/mlp_sequential.io.safetensors").path, "-o", out.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(model.path): no graph to run: weights_only.h5 holds weights only"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("existing output is kept without --force; --repeat 0 is a usage error")
    func outputAndUsage() throws {
        let dir = try Fixtures.scratchDirectory("porter-run-exists")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.safetensors")
        try Data("keep".utf8).write(to: out)
        let args = ["run", Fixtures.url("hdf5/mlp_sequential.h5").path, "--inputs", Fixtures.url("hdf5/mlp_sequential.io.safetensors").path, "-o", out.path]
        let r = try CLI.run(args)
        #expect(r.status == 1)
        #expect(try Data(contentsOf: out) == Data("keep".utf8))
        let forced = try CLI.run(args + ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try Self.outputNames(out).count == 1)
        let usage = try CLI.run(args + ["--repeat", "0"])
        #expect(usage.status == 2)
    }
}
