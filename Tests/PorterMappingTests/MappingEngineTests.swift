import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterMapping

/// A model of f32 tensors whose values are 0, 1, 2, … so that every element's origin is visible.
func counting(_ dims: [Int], label: String) -> TensorRef {
    let n = Shape(dims).elementCount!
    let floats = (0..<n).map { Float($0) }
    let bytes = floats.withUnsafeBytes { Array($0) }
    return .memory(bytes, dtype: .f32, shape: Shape(dims), label: label)
}

func testModel(share: Bool = true, extra: [String] = []) throws -> NeutralModel {
    var store = TensorStore()
    let shapes: [(String, [Int])] = [
        ("enc.0.in_proj_weight", [6, 2]), ("enc.0.fc.weight", [2, 3]), ("enc.0.fc.bias", [3]),
        ("flat", [4]), ("gate.a", [1, 2]), ("gate.b", [2, 2]), ("enc.0.version", [1]), ("embed", [5, 2]),
        ("shared_only", [1]),
    ] + extra.map { ($0, [1]) }
    for (name, dims) in shapes {
        try store.add(TensorEntry(name: name, tensor: counting(dims, label: name), provenance: Provenance(sourceFile: "test.bin", sourceName: name)))
    }
    return NeutralModel(sourceFormat: "test", sourceFiles: ["test.bin"], tensors: store, config: ["share": .bool(share)])
}

@Suite struct MappingEngineTests {
    let mapping: Mapping

    init() throws {
        mapping = try Mapping.load(Fixtures.url("mapping/every-rule.json").path, searchPaths: [])
    }

    @Test func everyRuleKindProducesTheExpectedTensors() throws {
        let (out, acct) = try MappingEngine(mapping).apply(to: try testModel())
        #expect(out.tensors.names.sorted() == [
            "embed", "encoder.0.fc.bias", "encoder.0.fc.weight", "encoder.0.k.weight", "encoder.0.q.weight", "encoder.0.v.weight",
            "gate.ab", "lm_head.weight", "shared_only", "square",
        ])
        // Split by rows: k is rows 2–3 of [6, 2] → values 4…7.
        #expect(try out.tensors["encoder.0.k.weight"]!.tensor.floatValues() == [4, 5, 6, 7])
        // Transpose of [[0,1,2],[3,4,5]].
        let fc = out.tensors["encoder.0.fc.weight"]!.tensor
        #expect(fc.shape == [3, 2])
        #expect(try fc.floatValues() == [0, 3, 1, 4, 2, 5])
        // Cast to f16 keeps the values (small integers are exact).
        let bias = out.tensors["encoder.0.fc.bias"]!.tensor
        #expect(bias.dtype == .f16)
        #expect(try bias.floatValues() == [0, 1, 2])
        #expect(out.tensors["square"]!.tensor.shape == [2, 2])
        // Concat of [1,2] and [2,2] along rows.
        #expect(try out.tensors["gate.ab"]!.tensor.floatValues() == [0, 1, 0, 1, 2, 3])
        // The tie is an alias of the same storage, not a copy.
        #expect(out.tensors.aliases()["lm_head.weight"] == "embed")
        #expect(acct.dropped.map(\.name) == ["enc.0.version"])
        #expect(out.dropped.first?.reason == "bookkeeping counter, not a weight")
        #expect(acct.unmapped.isEmpty)
        #expect(acct.unusedRules == [9])
        let prov = out.tensors["encoder.0.fc.weight"]!.provenance
        #expect(prov.sourceName == "enc.0.fc.weight")
        #expect(prov.transforms == [.rename(from: "enc.0.fc.weight", to: "encoder.0.fc.weight"), .transpose(perm: [1, 0])])
    }

    @Test func whenConditionExcludesRule() throws {
        #expect(throws: MappingError.unmapped(mapping: mapping.label, names: ["shared_only"])) {
            _ = try MappingEngine(mapping).apply(to: try testModel(share: false))
        }
    }

    @Test func unmappedTensorFailsUnlessAllowed() throws {
        let model = try testModel(extra: ["stray"])
        #expect(throws: MappingError.unmapped(mapping: mapping.label, names: ["stray"])) {
            _ = try MappingEngine(mapping).apply(to: model)
        }
        let (out, acct) = try MappingEngine(mapping).apply(to: model, allowUnmapped: true)
        #expect(out.tensors["stray"] != nil)
        #expect(acct.unmapped == [.init(name: "stray", byteCount: 4)])
        #expect(out.notes.contains { $0.contains("matched no rule") })
    }

    @Test func unevenSplitIsRejectedWithTheRule() throws {
        var model = try testModel()
        model.tensors.set(TensorEntry(name: "enc.0.in_proj_weight", tensor: counting([5, 2], label: "x"),
                                      provenance: Provenance(sourceFile: "t", sourceName: "enc.0.in_proj_weight")))
        do {
            _ = try MappingEngine(mapping).apply(to: model)
            Issue.record("expected an error")
        } catch let MappingError.transform(_, rule, source, reason) {
            #expect(rule == 0 && source == "enc.0.in_proj_weight")
            #expect(reason.contains("cannot be split"))
        }
    }

    @Test func missingRequirementFails() throws {
        var m = mapping
        m.require.append("^decoder\\..*$")
        #expect(throws: MappingError.requirementUnmet(mapping: m.label, pattern: "^decoder\\..*$")) {
            _ = try MappingEngine(m).apply(to: try testModel())
        }
    }

    @Test func duplicateTargetsFail() throws {
        let m = try Mapping.load(Fixtures.url("mapping/duplicate-target.json").path, searchPaths: [])
        var store = TensorStore()
        for n in ["a", "b"] { try store.add(TensorEntry(name: n, tensor: counting([1], label: n), provenance: Provenance(sourceFile: "t", sourceName: n))) }
        #expect(m.label.hasPrefix("dup (") && m.label.hasSuffix("duplicate-target.json)"))
        #expect(throws: MappingError.duplicateTarget(mapping: m.label, target: "x", rules: [0, 1])) {
            _ = try MappingEngine(m).apply(to: NeutralModel(sourceFormat: "t", sourceFiles: [], tensors: store))
        }
    }

    @Test(arguments: [
        ("bad-two-actions.json", "more than one action"),
        ("bad-pattern.json", "does not compile"),
        ("bad-format.json", "porter-mapping/1"),
        ("bad-modifier.json", "goes only with rename or keep"),
    ])
    func malformedMappingFilesAreRejected(file: String, message: String) {
        do {
            _ = try Mapping.load(Fixtures.url("mapping/\(file)").path, searchPaths: [])
            Issue.record("\(file) loaded")
        } catch {
            let text = (error as? LocalizedError)?.errorDescription ?? ""
            #expect(text.contains(message), "\(text)")
            #expect(text.contains(file))
        }
    }

    @Test func rankConditionPicksTheRuleForTheTensorsRank() throws {
        let json = #"{"format": "porter-mapping/1", "name": "r", "rules": ["#
            + #"{"match": "^(.+)/k$", "rank": [3, 4], "rename": "$1.conv"}, {"match": "^(.+)/k$", "rank": 2, "rename": "$1.dense"}]}"#
        let m = try Mapping.parse(Data(json.utf8), path: "r.json")
        var store = TensorStore()
        for (n, dims) in [("a/k", [2, 3]), ("b/k", [1, 2, 3, 4]), ("c/k", [5])] {
            try store.add(TensorEntry(name: n, tensor: counting(dims, label: n), provenance: Provenance(sourceFile: "t", sourceName: n)))
        }
        let (out, acc) = try MappingEngine(m).apply(to: NeutralModel(sourceFormat: "t", sourceFiles: [], tensors: store), allowUnmapped: true)
        #expect(out.tensors["a.dense"] != nil && out.tensors["b.conv"] != nil)
        #expect(acc.unmapped.map(\.name) == ["c/k"])  // rank 1: no rule takes it
        for bad in [#""rank": "four""#, #""rank": [2, -1]"#, #""rank": []"#] {
            let text = #"{"format": "porter-mapping/1", "name": "r", "rules": [{"match": "x", "rename": "y", "#  + bad + "}]}"
            #expect(throws: MappingFileError.self, "\(bad)") { try Mapping.parse(Data(text.utf8), path: "r.json") }
        }
    }

    @Test func shippedMappingsAllParse() throws {
        let folder = Fixtures.repositoryRoot.appendingPathComponent("mappings")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }
        for f in files {
            _ = try Mapping.load(folder.appendingPathComponent(f).path, searchPaths: [])
        }
        #expect(Mapping.available(in: [folder]).count == files.count)
    }
}
