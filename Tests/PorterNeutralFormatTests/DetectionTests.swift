import Foundation
import Testing
import PorterCore
import PorterTestSupport
import PorterSafetensors
import PorterHuggingFace
@testable import PorterNeutralFormat

/// The three readers of this branch side by side in one registry, as the pipeline
/// registers them: every fixture is detected by exactly one of them, never ambiguously.
@Suite struct DetectionTests {
    let registry = FormatRegistry(readers: [SafetensorsReader(), PorterModelReader(), HuggingFaceReader()],
                                  writers: [SafetensorsWriter(), PorterModelWriter(), HuggingFaceWriter()])

    @Test(arguments: [
        ("safetensors/valid/small_model.safetensors", "safetensors"),
        ("safetensors/malformed/header_over_cap.safetensors", "safetensors"),
        ("safetensors/sharded", "safetensors"),
        ("safetensors/sharded/model.safetensors.index.json", "safetensors"),
        ("safetensors/sharded_missing_shard", "safetensors"),
        ("safetensors/hf/bert", "hf"),
        ("safetensors/hf/bert_sharded", "hf"),
    ])
    func fixtureIsDetectedByOneReader(path: String, id: String) throws {
        #expect(try registry.reader(for: Fixtures.url(path)).info.id == id)
    }

    @Test func porterFolderIsDetectedAsPorter() throws {
        let dir = try Fixtures.scratchDirectory("detect")
        defer { try? FileManager.default.removeItem(at: dir) }
        let hf = try HuggingFaceReader().read(Fixtures.url("safetensors/hf/bert"), options: ReadOptions())
        for (writer, expected) in [("porter", "porter"), ("hf", "hf"), ("safetensors", "safetensors")] {
            let out = dir.appendingPathComponent(writer)
            try registry.writer(writer).write(hf, to: out, options: WriteOptions(maxShardSize: writer == "safetensors" ? 4000 : nil))
            #expect(try registry.reader(for: out).info.id == expected, "\(writer) output")
        }
    }

    @Test func unrelatedFilesAreNotClaimed() throws {
        #expect(throws: RegistryError.self) { try registry.reader(for: Fixtures.url("safetensors/expected.json")) }
    }
}

@Suite struct ConfigNumberTests {
    /// model.json keeps number types: a whole-number double stays a double, an int an int.
    @Test func wholeDoublesStayDoubles() throws {
        let value: JSONValue = ["a": .double(2.0), "b": .double(0.1), "c": .double(1e-12), "d": .int(2)]
        let back = try JSONValue.parse(try value.encoded())
        #expect(back["a"] == .double(2.0))
        #expect(back["d"] == .int(2))
        #expect(back["b"] == .double(0.1))
        #expect(back["c"] == .double(1e-12))
    }
}
