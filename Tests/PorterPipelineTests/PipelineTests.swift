import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterPipeline

/// Test doubles: a reader of `*.fake` files holding two f32 tensors (one an alias), and a
/// writer that writes a file or, when asked, fails halfway.
struct FakeReader: ModelReader {
    var info: FormatInfo { FormatInfo(id: "fake", name: "Fake", extensions: [".fake"], summary: "test double") }
    func probe(_ input: ProbeInput) -> ProbeConfidence { input.headStarts(with: Array("FAKE".utf8)) ? .certain : .no }
    func read(_ url: URL, options: ReadOptions) throws -> NeutralModel {
        let values: [Float] = [1, 70000, -2.5, 3]
        let storage = TensorStorage.memory(values.withUnsafeBytes { Array($0) }, label: url.path)
        var store = TensorStore()
        let t = TensorRef(dtype: .f32, shape: [2, 2], storage: storage)
        try store.add(TensorEntry(name: "w", tensor: t, provenance: Provenance(sourceFile: url.path, sourceName: "w")))
        try store.add(TensorEntry(name: "tied", tensor: t, provenance: Provenance(sourceFile: url.path, sourceName: "tied")))
        return NeutralModel(sourceFormat: "fake", sourceFiles: [url.path], tensors: store)
    }
}

struct FakeWriter: ModelWriter {
    var failHalfway = false
    var info: FormatInfo { FormatInfo(id: failHalfway ? "failing" : "fake", name: "Fake", extensions: [], summary: "test double") }
    func producesDirectory(for model: NeutralModel, options: WriteOptions) -> Bool { false }
    func write(_ model: NeutralModel, to url: URL, options: WriteOptions) throws {
        let out = try OutputFile(path: url.path)
        for entry in model.tensors {
            try out.write(tensor: entry.tensor)
            if failHalfway { throw CoreError.cannotWrite(path: url.path, reason: "injected failure") }
        }
        try out.close()
    }
}

@Suite struct PipelineTests {
    let pipeline = Pipeline(registry: FormatRegistry(readers: [FakeReader()], writers: [FakeWriter(), FakeWriter(failHalfway: true)]))

    func source(in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("model.fake")
        try Data("FAKE".utf8).write(to: url)
        return url
    }

    @Test func failedWriteLeavesNothingBehind() throws {
        let dir = try Fixtures.scratchDirectory()
        let src = try source(in: dir)
        let out = dir.appendingPathComponent("out.bin")
        #expect(throws: CoreError.self) {
            _ = try pipeline.convert(ConvertRequest(source: src, output: out, to: "failing"))
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(left == ["model.fake"])
    }

    @Test func existingOutputNeedsForce() throws {
        let dir = try Fixtures.scratchDirectory()
        let src = try source(in: dir)
        let out = dir.appendingPathComponent("out.bin")
        try Data("keep me".utf8).write(to: out)
        #expect(throws: CoreError.outputExists(path: out.path)) {
            _ = try pipeline.convert(ConvertRequest(source: src, output: out, to: "fake"))
        }
        #expect(try Data(contentsOf: out) == Data("keep me".utf8))
        // A failing forced write keeps the old output.
        #expect(throws: CoreError.self) {
            _ = try pipeline.convert(ConvertRequest(source: src, output: out, to: "failing", force: true))
        }
        #expect(try Data(contentsOf: out) == Data("keep me".utf8))
        let result = try pipeline.convert(ConvertRequest(source: src, output: out, to: "fake", force: true))
        #expect(result.outputBytes == 32)
    }

    @Test func dtypeCastKeepsAliasesAndCountsOverflow() throws {
        let dir = try Fixtures.scratchDirectory()
        let src = try source(in: dir)
        let out = dir.appendingPathComponent("out.bin")
        let result = try pipeline.convert(ConvertRequest(source: src, output: out, to: "fake", dtype: .f16))
        let tensors = result.convertedModel.tensors
        #expect(tensors["w"]!.tensor.dtype == .f16)
        #expect(tensors.aliases() == ["tied": "w"])
        #expect(tensors["w"]!.provenance.transforms == [.cast(from: .f32, to: .f16)])
        #expect(result.overflows == ["w": 1])  // 70000 exceeds f16's 65504
        let bytes = try Data(contentsOf: out)
        #expect(bytes.count == 16)  // both names written by this writer, 2 × 4 × 2 bytes
        #expect(bytes.prefix(2) == Data([0x00, 0x3C]))  // 1.0 in f16
    }

    @Test func unknownWriterFailsBeforeReading() throws {
        let dir = try Fixtures.scratchDirectory()
        #expect(throws: RegistryError.self) {
            _ = try pipeline.convert(ConvertRequest(source: dir.appendingPathComponent("missing.fake"), output: dir.appendingPathComponent("o"), to: "nope"))
        }
    }

    @Test func unrecognisedInputNamesTheFile() throws {
        let dir = try Fixtures.scratchDirectory()
        let junk = dir.appendingPathComponent("junk.bin")
        try Data("JUNK".utf8).write(to: junk)
        do {
            _ = try pipeline.inspect(junk)
            Issue.record("expected an error")
        } catch {
            #expect((error as? LocalizedError)?.errorDescription?.contains(junk.path) == true)
        }
    }

    @Test func inspectReportsAliasesAndParameters() throws {
        let dir = try Fixtures.scratchDirectory()
        let report = try pipeline.inspect(try source(in: dir))
        #expect(report.tensorCount == 2 && report.parameterCount == 4 && report.totalBytes == 16)
        #expect(report.tensors[1].aliasOf == "w")
        #expect(report.text().contains("tied  f32    [2, 2]  16 B   = w"))
    }
}
