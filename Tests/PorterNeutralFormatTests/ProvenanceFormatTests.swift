import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterNeutralFormat

/// Typed provenance in `model.json` (format version 2) and the one-time conversion of
/// version-1 prose steps.
@Suite struct ProvenanceFormatTests {
    static let everyStep: [TransformStep] = [
        .keep, .rename(from: "a/kernel:0", to: "a.weight"), .transpose(perm: [1, 0]), .reshape(shape: [2, 3]),
        .cast(from: .f32, to: .bf16), .split(axis: 0, sizes: [2, 2, 2], index: 1, count: 3, into: "k"),
        .split(axis: 1, sizes: nil, index: 0, count: 2, into: nil), .concat(axis: 0, sources: ["a", "b → c"], into: "ab"),
        .tie(name: "lm_head.weight", to: "embed"), .unmapped, .alias(of: "embed"), .graphConstant,
        .ownCopy(reason: "FSMT ties no weights"),
    ]

    @Test func everyStepKindRoundTripsThroughModelJSON() throws {
        let dir = try Fixtures.scratchDirectory("porter-provenance")
        var store = TensorStore()
        for (i, step) in Self.everyStep.enumerated() {
            try store.add(TensorEntry(name: "t\(i)", tensor: .memory([UInt8(i)], dtype: .u8, shape: [1], label: "t\(i)"),
                                      provenance: Provenance(sourceFile: "s.bin", sourceName: "s\(i)", transforms: [step])))
        }
        try store.add(TensorEntry(name: "all", tensor: .memory([0], dtype: .u8, shape: [1], label: "all"),
                                  provenance: Provenance(sourceFile: "s.bin", sourceName: "all", transforms: Self.everyStep)))
        let model = NeutralModel(sourceFormat: "test", sourceFiles: ["s.bin"], tensors: store)
        let out = dir.appendingPathComponent("m")
        try PorterModelWriter().write(model, to: out, options: WriteOptions())
        let back = try PorterModelReader().read(out, options: ReadOptions())
        #expect(back.tensors.map(\.provenance) == model.tensors.map(\.provenance))

        // Stored as objects keyed by the step's kind, not prose.
        let json = try #require(try JSONValue.parse(Data(contentsOf: out.appendingPathComponent("model.json"))).objectValue)
        #expect(json["version"] == 2)
        let first = json["tensors"]?.arrayValue?[1]["provenance"]?["transforms"]?.arrayValue?.first
        #expect(first == .object(["rename": .object(["from": "a/kernel:0", "to": "a.weight"])]))
    }

    @Test(arguments: [
        ("keep", TransformStep.keep),
        ("rename enc.0.fc.weight → encoder.0.fc.weight", .rename(from: "enc.0.fc.weight", to: "encoder.0.fc.weight")),
        ("transpose [0, 2, 1, 3]", .transpose(perm: [0, 2, 1, 3])),
        ("reshape [768, 12, 64]", .reshape(shape: [768, 12, 64])),
        ("cast f32→bf16", .cast(from: .f32, to: .bf16)),
        ("split axis 0 sizes [2, 2, 2] part 2/3 → encoder.0.k.weight", .split(axis: 0, sizes: [2, 2, 2], index: 1, count: 3, into: "encoder.0.k.weight")),
        ("split axis 1 part 3/3", .split(axis: 1, sizes: nil, index: 2, count: 3, into: nil)),
        ("concat axis 0 of [gate.a, gate.b] → gate.ab", .concat(axis: 0, sources: ["gate.a", "gate.b"], into: "gate.ab")),
        ("tie lm_head.weight = embed", .tie(name: "lm_head.weight", to: "embed")),
        ("unmapped: kept under its source name", .unmapped),
        ("alias of embed", .alias(of: "embed")),
        ("graph constant", .graphConstant),
        ("stored separately: FSMT ties no weights when tie_word_embeddings is false", .ownCopy(reason: "FSMT ties no weights when tie_word_embeddings is false")),
    ])
    func versionOneProseConvertsToTypedSteps(text: String, expected: TransformStep) {
        #expect(LegacyProvenance.step(text) == expected)
        // What version 1 wrote is what `description` prints, so the report reads as before.
        #expect(expected.description == text)
    }

    @Test(arguments: ["transpose 1,0", "cast f32→f99", "split axis x part 1/2", "split axis 0 part 4/3",
                      "split axis 0 sizes [1, 2] part 1/3", "concat axis 0 of []", "rotate 90", "rename a -> b"])
    func versionOneProseItCannotConvertIsRejected(text: String) {
        #expect(LegacyProvenance.step(text) == nil)
    }

    /// `fixtures/neutral/v1-fsmt-old-layout`: fairseq's old-layout fixture converted
    /// `--to porter` by Porter before typed provenance (format version 1).
    @Test func aVersionOneFolderReadsWithTypedSteps() throws {
        let model = try PorterModelReader().read(Fixtures.url("neutral/v1-fsmt-old-layout"), options: ReadOptions())
        #expect(model.tensors.count == 87)
        let q = try #require(model.tensors["model.encoder.layers.0.self_attn.q_proj.weight"])
        #expect(q.provenance.transforms == [.split(axis: 0, sizes: [16, 16, 16], index: 0, count: 3, into: "model.encoder.layers.0.self_attn.q_proj.weight")])
        let steps = Set(model.tensors.flatMap(\.provenance.transforms).map { step -> String in
            switch step {
            case .rename: return "rename"
            case .split: return "split"
            case .tie: return "tie"
            case .ownCopy: return "ownCopy"
            default: return "\(step)"
            }
        })
        #expect(steps == ["rename", "split", "tie", "ownCopy"])
    }

    func copyOfVersionOne() throws -> URL {
        let dir = try Fixtures.scratchDirectory("porter-provenance")
        let copy = dir.appendingPathComponent("v1")
        try FileManager.default.copyItem(at: Fixtures.url("neutral/v1-fsmt-old-layout"), to: copy)
        return copy
    }

    func editTensor(_ folder: URL, _ index: Int, _ change: (inout [String: JSONValue]) -> Void) throws {
        let url = folder.appendingPathComponent("model.json")
        var doc = try #require(try JSONValue.parse(Data(contentsOf: url)).objectValue)
        var tensors = doc["tensors"]?.arrayValue ?? []
        if case var .object(t) = tensors[index] { change(&t); tensors[index] = .object(t) }
        doc["tensors"] = .array(tensors)
        try JSONValue.object(doc).encoded().write(to: url)
    }

    @Test func versionOneProseNoPorterWroteIsRefusedNamingTheVersionAndPlace() throws {
        let copy = try copyOfVersionOne()
        try editTensor(copy, 2) { $0["provenance"] = .object(["sourceFile": "f", "sourceName": "n", "transforms": ["quantize int4"]]) }
        do {
            _ = try PorterModelReader().read(copy, options: ReadOptions())
            Issue.record("an unknown version-1 step must be refused")
        } catch let error as PorterModelError {
            guard case let .legacyStep(_, keyPath, 1, text) = error else { Issue.record("got \(error)"); return }
            #expect(keyPath == "tensors[2].provenance.transforms[0]" && text == "quantize int4")
            #expect(error.localizedDescription.contains("format version 1"))
        }
    }

    @Test func anUnknownStepKindAtVersionTwoNamesItsKeyPath() throws {
        let dir = try Fixtures.scratchDirectory("porter-provenance")
        let out = dir.appendingPathComponent("m")
        var store = TensorStore()
        try store.add(TensorEntry(name: "t", tensor: .memory([1], dtype: .u8, shape: [1], label: "t"),
                                  provenance: Provenance(sourceFile: "s", sourceName: "t", transforms: [.keep])))
        try PorterModelWriter().write(NeutralModel(sourceFormat: "test", sourceFiles: [], tensors: store), to: out, options: WriteOptions())
        try editTensor(out, 0) { $0["provenance"] = .object(["sourceFile": "s", "sourceName": "t", "transforms": [.object(["quantize": .object(["bits": 4])])]]) }
        do {
            _ = try PorterModelReader().read(out, options: ReadOptions())
            Issue.record("an unknown step kind must be refused")
        } catch let PorterModelError.invalidModelJSON(_, keyPath, _) {
            #expect(keyPath.hasPrefix("tensors[0].provenance.transforms[0]"))
        }
    }

    @Test func versionZeroIsRefused() throws {
        let copy = try copyOfVersionOne()
        let url = copy.appendingPathComponent("model.json")
        var doc = try #require(try JSONValue.parse(Data(contentsOf: url)).objectValue)
        doc["version"] = 0
        try JSONValue.object(doc).encoded().write(to: url)
        #expect(throws: PorterModelError.self) { try PorterModelReader().read(copy, options: ReadOptions()) }
    }
}
