import Foundation
import PorterCore
@testable import PorterONNX
import PorterPipeline
import PorterRuntime
import PorterSafetensors
import PorterTestSupport
import Testing

/// `--to onnx`: what the writer produces reads back through Porter's own ONNX reader with
/// the same weights, dynamic axes named, C-identifier names, and (for the CNN) a graph that
/// still reproduces ONNX Runtime. onnx.checker and ONNX Runtime checked the same conversions
/// at fixture time (fixtures/generate/check_onnx_writer.py; generator.json "writer_check").
@Suite struct ONNXWriterTests {
    static func write(_ source: String, options: [String: String] = [:]) throws -> (NeutralModel, NeutralModel, URL) {
        let (_, model) = try Pipeline().read(Fixtures.url(source))
        let dir = try Fixtures.scratchDirectory("porter-onnx-write")
        let url = dir.appendingPathComponent("out.onnx")
        let opts = WriteOptions(extra: options)
        try ONNXWriter().check(model, options: opts)
        try ONNXWriter().write(model, to: url, options: opts)
        return (model, try ONNXReader().read(url, options: ReadOptions()), dir)
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, first == "_" || (first.isASCII && CharacterSet.letters.contains(first)) else { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && CharacterSet.alphanumerics.contains($0)) }
    }

    /// Every weight of the source reads back under its own name, bit-exact; the only other tensors are the values of the
    /// graph's Constant nodes.
    @Test(arguments: ["architectures/bert", "architectures/roberta", "architectures/gpt2", "onnx/bert_tiny.onnx", "hdf5/cnn_functional.h5"])
    func weightsReadBackBitExactUnderTheirOwnNames(_ source: String) throws {
        let (model, back, dir) = try Self.write(source)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(back.metadata["onnx.opset_import"] == "ai.onnx 17")
        #expect(back.metadata["onnx.producer"] == "porter \(PorterVersion.current)")
        for e in model.tensors {
            let w = try #require(back.tensors[e.name], "\(e.name) was not written")
            #expect(try tensorDigest(w.tensor) == tensorDigest(e.tensor), "\(e.name)")
        }
        for e in back.tensors where model.tensors[e.name] == nil {
            #expect(e.provenance.transforms == [.graphConstant], "\(e.name) is neither a source weight nor a graph constant")
        }
        #expect(back.graph != nil, "the written graph is imported back: \(back.notes)")
        if source.hasPrefix("architectures") {
            #expect(back.metadata["onnx.inputs"]?.contains("input_ids: INT64[batch, sequence]") == true, "\(back.metadata)")
        }
    }

    /// A weight no node reads (a BERT checkpoint's pooler, which the descriptor's encoder graph
    /// ends before) is written too, bit-exact, and the file still reads back with its graph.
    @Test func weightsTheGraphDoesNotReadAreWrittenToo() throws {
        var (_, model) = try Pipeline().read(Fixtures.url("architectures/bert"))
        let values = (0..<12).map { Float($0) - 5.5 }
        let pooler = TensorRef.memory(values.withUnsafeBytes { Array($0) }, dtype: .f32, shape: Shape([3, 4]), label: "pooler")
        try model.tensors.add(TensorEntry(name: "pooler.dense.weight", tensor: pooler,
                                          provenance: Provenance(sourceFile: "test", sourceName: "pooler.dense.weight", transforms: [])))
        let dir = try Fixtures.scratchDirectory("porter-onnx-write")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("out.onnx")
        try ONNXWriter().check(model, options: WriteOptions())
        try ONNXWriter().write(model, to: url, options: WriteOptions())
        let back = try ONNXReader().read(url, options: ReadOptions())
        let w = try #require(back.tensors["pooler.dense.weight"], "the unread weight was not written")
        #expect(try w.tensor.floatValues() == values && w.tensor.shape.dims == [3, 4])
        #expect(back.graph != nil, "\(back.notes)")
        #expect(back.tensors.names.filter { model.tensors[$0] != nil }.count == model.tensors.count)
    }

    /// The CNN's graph survives a round trip: written, read back, imported and run, it still
    /// matches ONNX Runtime's recorded outputs.
    @Test func cnnRoundTripStillMatchesONNXRuntime() throws {
        let (_, back, dir) = try Self.write("onnx/cnn_tiny.onnx")
        defer { try? FileManager.default.removeItem(at: dir) }
        let graph = try #require(back.graph, "\(back.notes)")
        let io = try SafetensorsReader().read(Fixtures.url("onnx/cnn_tiny.io.safetensors"), options: ReadOptions())
        let input = try #require(graph.inputs.first?.name)
        #expect(back.metadata["onnx.inputs"] == "pixels: FLOAT[batch, 3, 12, 12]")
        let result = try GraphExecutor(graph: graph, weights: back.tensors).run([input: try HostTensor(try #require(io.tensors["input"]).tensor)])
        let got = try #require(result.outputs.values.first?.floats)
        let want = try #require(io.tensors["output"]).tensor.floatValues()
        #expect(zip(got, want).map { abs($0 - $1) }.max() ?? 1 <= 1e-4)
    }

    @Test func opsetOptionAndRefusals() throws {
        let (_, back, dir) = try Self.write("onnx/cnn_tiny.onnx", options: ["opset": "19"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(back.metadata["onnx.opset_import"] == "ai.onnx 19")
        #expect(back.metadata["onnx.ir_version"] == "9")
        let (_, model) = try Pipeline().read(Fixtures.url("onnx/cnn_tiny.onnx"))
        #expect(throws: ONNXWriteError.badOpset(value: "16")) { try ONNXWriter().check(model, options: WriteOptions(extra: ["opset": "16"])) }
        var weightsOnly = model
        weightsOnly.graph = nil
        #expect { try ONNXWriter().check(weightsOnly, options: WriteOptions()) } throws: { error in
            if case .noGraph? = error as? ONNXWriteError { return true }
            return false
        }
        var unknown = model
        unknown.graph?.nodes[0].op = "sinusoidal_positions"
        #expect { try ONNXWriter().check(unknown, options: WriteOptions()) } throws: { error in
            (error as? ONNXWriteError) == .unsupportedOps(ops: ["sinusoidal_positions"])
        }
    }

    /// Names ONNX can carry are kept (dots, slashes, colons: as torch.onnx keeps them); names
    /// it cannot are made C identifiers, and every made-up name is one, distinct from kept ones.
    @Test func namesKeptWhereONNXCarriesThemMadeUpOnesAreIdentifiers() {
        let namer = ONNXNamer()
        namer.reserve(["bert.encoder.layer.0.weight", "x_1"])
        #expect(namer.name("bert.encoder.layer.0.weight") == "bert.encoder.layer.0.weight")
        #expect(namer.name("onnx::MatMul_136") == "onnx::MatMul_136")
        #expect(namer.name("dense/kernel:0") == "dense/kernel:0")
        #expect(namer.name("") == "_")
        #expect(namer.name("tab\there") == "tab_here")
        let fresh = namer.fresh("x")
        #expect(fresh != "x_1" && Self.isIdentifier(fresh), "\(fresh)")
        #expect(namer.name("x_1") == "x_1")
        #expect(namer.name("bert.encoder.layer.0.weight") == "bert.encoder.layer.0.weight")
    }

    /// `external-data=always`: a folder with model.onnx and model.onnx.data (page-aligned
    /// tensors), which Porter's reader follows back to the same weights and a graph that
    /// still matches ONNX Runtime.
    @Test func externalDataFolderReadsBack() throws {
        let (_, model) = try Pipeline().read(Fixtures.url("onnx/cnn_tiny.onnx"))
        let options = WriteOptions(extra: ["external-data": "always"])
        let writer = ONNXWriter()
        #expect(writer.producesDirectory(for: model, options: options))
        #expect(!writer.producesDirectory(for: model, options: WriteOptions()))
        let dir = try Fixtures.scratchDirectory("porter-onnx-ext")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("cnn")
        try writer.check(model, options: options)
        try writer.write(model, to: out, options: options)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ["model.onnx", "model.onnx.data"])
        // The folder itself is recognised and read through its model.onnx.
        #expect(try FormatRegistry.porterDefault.reader(for: out).info.id == "onnx")
        let back = try ONNXReader().read(out, options: ReadOptions())
        for e in model.tensors {
            let w = try #require(back.tensors[e.name])
            #expect(try tensorDigest(w.tensor) == tensorDigest(e.tensor))
            #expect(w.provenance.sourceFile.hasSuffix("model.onnx.data"))
            guard case let .file(file, offset) = w.tensor.storage.backing else { Issue.record("not file-backed"); continue }
            #expect(file.path.hasSuffix("model.onnx.data") && offset % 4096 == 0, "\(offset)")
        }
        let graph = try #require(back.graph, "\(back.notes)")
        let io = try SafetensorsReader().read(Fixtures.url("onnx/cnn_tiny.io.safetensors"), options: ReadOptions())
        let result = try GraphExecutor(graph: graph, weights: back.tensors).run([try #require(graph.inputs.first?.name): try HostTensor(try #require(io.tensors["input"]).tensor)])
        let want = try #require(io.tensors["output"]).tensor.floatValues()
        #expect(zip(try #require(result.outputs.values.first?.floats), want).map { abs($0 - $1) }.max() ?? 1 <= 1e-4)
    }
}
