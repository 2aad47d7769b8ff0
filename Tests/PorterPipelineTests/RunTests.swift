import Foundation
import Testing
import PorterCore
import PorterSafetensors
import PorterTestSupport
@testable import PorterPipeline

/// `Pipeline.run` in process: input binding and its typed errors.
@Suite struct RunTests {
    static func inputsFile(_ tensors: [(String, TensorRef)], in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("in.safetensors")
        let entries = tensors.map { TensorEntry(name: $0.0, tensor: $0.1, provenance: Provenance(sourceFile: "test", sourceName: $0.0)) }
        try SafetensorsWriter.writeFile(entries, metadata: [:], to: url)
        return url
    }

    static func f32(_ values: [Float], _ shape: [Int]) -> TensorRef {
        .memory(values.withUnsafeBytes { [UInt8]($0) }, dtype: .f32, shape: Shape(shape), label: "t")
    }

    static func i64(_ values: [Int64], _ shape: [Int]) -> TensorRef {
        .memory(values.withUnsafeBytes { [UInt8]($0) }, dtype: .i64, shape: Shape(shape), label: "t")
    }

    @Test("token ids given as floats are a typed error naming the input and what the graph expects")
    func floatIds() throws {
        let dir = try Fixtures.scratchDirectory("porter-run-types")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try Self.inputsFile([("input_ids", Self.f32([1, 2, 3], [1, 3])), ("attention_mask", Self.i64([1, 1, 1], [1, 3]))], in: dir)
        let model = Fixtures.url("architectures/gpt2")
        #expect {
            _ = try Pipeline().run(RunRequest(model: model, inputs: file))
        } throws: { error in
            guard case let RunError.wrongInputType(f, name, dtype, expected) = error else { return false }
            return f == file.path && name == "input_ids" && dtype == "f32" && expected.contains("input_ids (i64") && expected.contains("attention_mask (i64")
        }
    }

    @Test("inputs bind by name; the runs are counted and min ≤ median ≤ max")
    func bindsAndTimes() throws {
        let dir = try Fixtures.scratchDirectory("porter-run-bind")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Extra tensors in the file (here an unrelated float) are ignored.
        let file = try Self.inputsFile([("input_ids", Self.i64([5, 6, 7, 8], [2, 2])), ("attention_mask", Self.i64([1, 1, 1, 0], [2, 2])),
                                        ("unused", Self.f32([0], [1]))], in: dir)
        let result = try Pipeline().run(RunRequest(model: Fixtures.url("architectures/gpt2"), inputs: file, repeats: 3, threads: 1))
        #expect(result.timesMs.count == 3)
        #expect(result.minMs <= result.medianMs && result.medianMs <= result.maxMs)
        #expect(result.outputs.map(\.name) == ["logits"])
        #expect(result.outputs.first?.value.shape == [2, 2, 64])
        #expect(result.threads == 1)
    }
}
