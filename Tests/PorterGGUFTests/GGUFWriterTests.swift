import Foundation
import Testing
import PorterCore
import PorterPipeline
import PorterTestSupport
@testable import PorterGGUF

/// The writer through the pipeline: transformers' tiny GPT-2 (fixtures/architectures/gpt2)
/// mapped to llama.cpp names (mappings/hf-gpt2-to-gguf.json), written at each --dtype,
/// re-read from disk and verified at the weights level (quantization replayed exactly).
@Suite struct GGUFWriterTests {
    static let gpt2 = Fixtures.url("architectures/gpt2")

    func convert(_ dtype: DTypeChoice, into dir: URL, mapping: String? = "hf-gpt2-to-gguf") throws -> (ConvertResult, URL) {
        let out = dir.appendingPathComponent("gpt2-\(dtype.rawValue).gguf")
        let result = try Pipeline().convert(ConvertRequest(source: Self.gpt2, output: out, to: "gguf", mapping: mapping, dtype: dtype))
        return (result, out)
    }

    @Test(arguments: [DTypeChoice.keep, .f16, .bf16, .q8_0, .q4_0, .q4_1])
    func gpt2RoundTripsAndVerifies(dtype: DTypeChoice) throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (result, out) = try convert(dtype, into: dir)
        let file = try GGUFFile.parse(OpenFile(path: out.path))
        #expect(file.version == 3)
        #expect(file.alignment == 32)
        #expect(file.dataStart % 32 == 0)
        #expect(file.tensors.allSatisfy { $0.offset % 32 == 0 })
        #expect(file.value("general.architecture") == .string("gpt2"))
        #expect(file.value("gpt2.block_count") == .uint32(2))
        #expect(file.value("gpt2.embedding_length") == .uint32(32))
        #expect(file.value("gpt2.attention.layer_norm_epsilon") == .float32(1e-5))
        let names = Set(file.tensors.map(\.name))
        #expect(names.contains("token_embd.weight") && names.contains("blk.1.ffn_down.weight") && names.contains("output_norm.bias"))
        // Conv1D [in, out] → ggml [out, in]: ffn_up is [128, 32] row-major, ne = [32, 128].
        let up = try #require(file.tensors.first { $0.name == "blk.0.ffn_up.weight" })
        #expect(up.dims == [32, 128])
        let expectedMatrixType: GGMLType = switch dtype {
        case .q8_0: .q8_0
        case .q4_0: .q4_0
        case .q4_1: .q4_1
        case .f16: .f16
        case .bf16: .bf16
        default: .f32
        }
        #expect(up.type == expectedMatrixType)
        let norm = try #require(file.tensors.first { $0.name == "blk.0.attn_norm.weight" })
        // Vectors stay F32 under every --dtype: llama.cpp takes norm weights only as F32.
        #expect(norm.type == .f32)
        let report = try Pipeline().verify(result, request: VerifyRequest(timestamped: false))
        #expect(report.weights.status == .passed, "\(report.weights.mismatches.map(\.problem))")
        #expect(report.weights.checked == result.convertedModel.tensors.count)
    }

    @Test func quantizedBytesAreTheCodecsOutput() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (result, out) = try convert(.q8_0, into: dir)
        let file = try OpenFile(path: out.path)
        let parsed = try GGUFFile.parse(file)
        let t = try #require(parsed.tensors.first { $0.name == "token_embd.weight" })
        let source = try #require(result.convertedModel.tensors["token_embd.weight"]).tensor.floatValues()
        #expect(try file.read(offset: t.start, count: t.byteCount) == BlockCodec.quantize(.q8_0, source))
    }

    /// The quantizer reads a `--dtype` cast (bf16 in a file → f32) and f32 in a file a chunk
    /// of rows at a time; its blocks must equal quantizing the whole tensor at once. 300 rows
    /// of 4096 elements cross the 1 Mi-element chunk size (256 rows here) once.
    @Test(arguments: [DType.bf16, .f16, .f32])
    func streamedQuantizationEqualsWholeTensor(dtype: DType) throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-stream-q")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rows = 300, cols = 4096
        var state: UInt32 = 12345
        let values: [Float] = (0..<(rows * cols)).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(Int32(bitPattern: state) >> 8) / Float(1 << 22)
        }
        let raw = try FloatConversion.cast(values.withUnsafeBytes { UnsafeRawBufferPointer($0) }, from: .f32, to: dtype).bytes
        let source = dir.appendingPathComponent("source.bin")
        try Data([0, 0, 0, 0] + raw).write(to: source)  // a 4-byte header before the tensor
        let file = try OpenFile(path: source.path)
        let stored = TensorRef(dtype: dtype, shape: Shape([rows, cols]),
                               storage: TensorStorage(byteCount: raw.count, backing: .file(file, offset: 4), label: "source"))
        let f32 = try stored.cast(to: .f32, name: "w")
        let whole = BlockCodec.quantize(.q8_0, try f32.floatValues())
        let target = dir.appendingPathComponent("q.bin")
        let out = try OutputFile(path: target.path)
        try GGUFWriter.streamQuantized(f32, .q8_0, to: out)
        try out.close()
        #expect(try [UInt8](Data(contentsOf: target)) == whole)
    }

    @Test func rewritingIsByteIdentical() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (_, a) = try convert(.q4_1, into: dir)
        let b = dir.appendingPathComponent("again.gguf")
        _ = try Pipeline().convert(ConvertRequest(source: Self.gpt2, output: b, to: "gguf", mapping: "hf-gpt2-to-gguf", dtype: .q4_1))
        #expect(try Data(contentsOf: a) == Data(contentsOf: b))
    }

    @Test func ggufToGGUFCarriesMetadata() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("copy.gguf")
        let result = try Pipeline().convert(ConvertRequest(source: Fixtures.url("gguf/metadata.gguf"), output: out, to: "gguf"))
        let copy = try GGUFReader().read(out)
        let original = try GGUFReader().read(Fixtures.url("gguf/metadata.gguf"))
        // Values carry over (integer widths are llama.cpp's defaults, not the source's); alignment is Porter's own 32.
        for key in ["general.architecture", "test.string", "test.i64", "test.array_nested", "test.array_str", "tokenizer.chat_template", "tokenizer.ggml.pre", "test.bool"] {
            #expect(copy.config[key] == original.config[key], "\(key)")
        }
        #expect(copy.config["general.alignment"] == nil)
        #expect(try tensorDigest(copy.tensors["token_embd.weight"]!.tensor) == tensorDigest(original.tensors["token_embd.weight"]!.tensor))
        let report = try Pipeline().verify(result, request: VerifyRequest(timestamped: false))
        #expect(report.weights.status == .passed)
    }

    /// Without --mapping the writer takes the descriptor's (GPT-2: hf-gpt2-to-gguf): the same bytes.
    @Test func descriptorMappingIsTheNamedOne() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("picked.gguf")
        let result = try Pipeline().convert(ConvertRequest(source: Self.gpt2, output: out, to: "gguf"))
        #expect(result.accounting?.mapping == "hf-gpt2-to-gguf")
        let (_, named) = try convert(.keep, into: dir)
        #expect(try Data(contentsOf: out) == Data(contentsOf: named))
    }

    @Test func unknownArchitectureRefused() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("x.gguf")
        #expect(throws: GGUFError.self) {
            _ = try Pipeline().convert(ConvertRequest(source: Fixtures.url("safetensors/valid/small_model.safetensors"), output: out, to: "gguf"))
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func blockDTypeRefusedForOtherWriters() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: PipelineError.self) {
            _ = try Pipeline().convert(ConvertRequest(source: Self.gpt2, output: dir.appendingPathComponent("x.safetensors"), to: "safetensors", dtype: .q8_0))
        }
    }

    @Test func metadataTyping() {
        #expect(GGUFWriter.ggufValue(.int(5)) == .uint32(5))
        #expect(GGUFWriter.ggufValue(.int(-5)) == .int32(-5))
        #expect(GGUFWriter.ggufValue(.int(1 << 40)) == .uint64(1 << 40))
        #expect(GGUFWriter.ggufValue(.double(0.5)) == .float32(0.5))
        #expect(GGUFWriter.ggufValue([1, 2]) == .array(.int32, [.int32(1), .int32(2)]))
        #expect(GGUFWriter.ggufValue([1, .int(1 << 40)]) == .array(.int64, [.int64(1), .int64(1 << 40)]))
        #expect(GGUFWriter.ggufValue([1, "a"]) == nil)
        #expect(GGUFWriter.ggufValue(.null) == nil)
        #expect(GGUFWriter.ggufValue([[1], [2, 3]]) == .array(.array, [.array(.int32, [.int32(1)]), .array(.int32, [.int32(2), .int32(3)])]))
    }
}

/// `--max-shard-size`: llama.cpp's split layout (`model-0000i-of-0000N.gguf`, `split.*` keys,
/// metadata in the first split), read back as one model.
@Suite struct GGUFSplitTests {
    @Test func splitWriteReadAndVerify() throws {
        let dir = try Fixtures.scratchDirectory("porter-gguf-split")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("gpt2-split")
        let result = try Pipeline().convert(ConvertRequest(source: GGUFWriterTests.gpt2, output: out, to: "gguf", mapping: "hf-gpt2-to-gguf",
                                                           dtype: .q8_0, maxShardSize: 8000))
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(names.count > 1)
        #expect(names.first == "model-00001-of-\(GGUFWriter.padded(names.count)).gguf")
        let first = try GGUFFile.parse(OpenFile(path: out.appendingPathComponent(names[0]).path))
        #expect(first.value("split.no") == .uint16(0))
        #expect(first.value("split.count") == .uint16(UInt16(names.count)))
        #expect(first.value("split.tensors.count") == .int32(28))
        #expect(first.value("general.architecture") == .string("gpt2"))
        let second = try GGUFFile.parse(OpenFile(path: out.appendingPathComponent(names[1]).path))
        #expect(second.value("general.architecture") == nil)
        #expect(second.value("split.no") == .uint16(1))
        let model = try GGUFReader().read(out)
        #expect(model.tensors.count == 28)
        #expect(model.config["split.count"] == nil)
        let viaFirst = try GGUFReader().read(out.appendingPathComponent(names[0]))
        #expect(viaFirst.tensors.names == model.tensors.names)
        let report = try Pipeline().verify(result, request: VerifyRequest(timestamped: false))
        #expect(report.weights.status == .passed, "\(report.weights.mismatches.map(\.problem))")
        // A missing split is a typed error.
        try FileManager.default.removeItem(at: out.appendingPathComponent(names[names.count - 1]))
        #expect { _ = try GGUFReader().read(out) } throws: { ($0 as? GGUFError)?.caseName == "missingSplit" }
    }

    @Test func splitNames() {
        #expect(GGUFReader.splitName("my-model-00002-of-00010.gguf")! == ("my-model", 2, 10))
        #expect(GGUFReader.splitName("model.gguf") == nil)
        #expect(GGUFReader.splitName("model-1-of-2.gguf") == nil)
    }
}
