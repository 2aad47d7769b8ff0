import Foundation
import Testing
import PorterCore
import PorterMapping
import PorterTestSupport
@testable import PorterVerifier

/// The test model the lead's `every-rule` mapping fixture expects.
func everyRuleSource() throws -> NeutralModel {
    let shapes: [(String, [Int])] = [
        ("enc.0.in_proj_weight", [6, 2]), ("enc.0.fc.weight", [2, 3]), ("flat", [4]), ("gate.a", [1, 2]),
        ("gate.b", [2, 2]), ("enc.0.version", [1]), ("embed", [5, 2]), ("shared_only", [1]),
    ]
    var tensors = shapes.map { ($0.0, counting($0.1, label: $0.0)) }
    tensors.append(("enc.0.fc.bias", floats([0.1, 1.0 / 3, 1e-5], [3], label: "bias")))  // values f16 must round
    return try model(tensors, config: ["share": true])
}

func mapEveryRule() throws -> (NeutralModel, NeutralModel, ConversionSummary) {
    let source = try everyRuleSource()
    let mapping = try Mapping.load(Fixtures.url("mapping/every-rule.json").path, searchPaths: [])
    let (mapped, accounting) = try MappingEngine(mapping).apply(to: source)
    let summary = ConversionSummary(convertedInMemory: mapped, source: source, mapping: accounting.mapping,
                                    dropped: accounting.dropped)
    return (source, mapped, summary)
}

/// A copy of `model` whose tensor `name` is replaced (provenance kept).
func replacing(_ model: NeutralModel, _ name: String, with tensor: TensorRef) -> NeutralModel {
    var out = model
    guard var entry = out.tensors[name] else { return out }
    entry.tensor = tensor
    out.tensors.set(entry)
    return out
}

@Suite struct WeightsCheckTests {
    @Test func everyRuleOfTheMappingEngineReplaysExactly() throws {
        let (source, mapped, summary) = try mapEveryRule()
        // Re-materialise the converted model, as if re-read from disk.
        var store = TensorStore()
        for e in mapped.tensors {
            let t = TensorRef.memory(try e.tensor.contiguousBytes(), dtype: e.tensor.dtype, shape: e.tensor.shape, label: e.name)
            try store.add(TensorEntry(name: e.name, tensor: t, provenance: Provenance(sourceFile: "out.safetensors", sourceName: e.name)))
        }
        let converted = NeutralModel(sourceFormat: "safetensors", sourceFiles: ["out.safetensors"], tensors: store)
        let level = WeightsCheck.run(source: source, converted: converted, summary: summary)
        #expect(level.status == .passed, "\(level.mismatches)")
        #expect(level.checked == 10)
        #expect(level.castExact == 1)   // encoder.0.fc.bias, cast f32→f16
        #expect(level.bitExact == 9)
        #expect(level.missing.isEmpty && level.unexpected.isEmpty)
    }

    @Test func aSwappedSplitPartIsNamed() throws {
        let (source, mapped, summary) = try mapEveryRule()
        let k = try #require(mapped.tensors["encoder.0.k.weight"]).tensor
        let broken = replacing(mapped, "encoder.0.q.weight", with: k)
        let level = WeightsCheck.run(source: source, converted: broken, summary: summary)
        #expect(level.status == .failed)
        #expect(level.mismatches.map(\.name) == ["encoder.0.q.weight"])
        #expect(level.mismatches.first?.differingElements == 4)
        #expect(level.mismatches.first?.maxAbs == 2)  // q rows 0–1 vs k rows 2–3: each element 4·0.5 apart
    }

    @Test func aCastThatRoundedDifferentlyFails() throws {
        let (source, mapped, summary) = try mapEveryRule()
        // Truncate instead of rounding to nearest even: 1/3 in f16 rounds up (0x3555), truncation gives 0x3554.
        let values: [Float] = [0.1, 1.0 / 3, 1e-5]
        let halves = values.map { v -> UInt16 in
            let h = Float16(v).bitPattern
            return v == 1.0 / 3 ? h - 1 : h
        }
        #expect(Float16(Float(1.0 / 3)).bitPattern == 0x3555)
        let bytes = halves.withUnsafeBytes { Array($0) }
        let broken = replacing(mapped, "encoder.0.fc.bias", with: .memory(bytes, dtype: .f16, shape: [3], label: "bias"))
        let level = WeightsCheck.run(source: source, converted: broken, summary: summary)
        #expect(level.mismatches.map(\.name) == ["encoder.0.fc.bias"])
        #expect(level.mismatches.first?.differingElements == 1)
        #expect(level.mismatches.first?.problem.contains("re-cast") == true)
    }

    @Test func missingAndUnexpectedTensorsFail() throws {
        let (source, mapped, summary) = try mapEveryRule()
        var converted = mapped
        converted.tensors.remove("square")
        try converted.tensors.add(TensorEntry(name: "stray", tensor: floats([1], [1]), provenance: .init(sourceFile: "x", sourceName: "stray")))
        let level = WeightsCheck.run(source: source, converted: converted, summary: summary)
        #expect(level.status == .failed)
        #expect(level.unexpected == ["stray"])
        #expect(level.missing == ["flat"])
        #expect(level.mismatches.map(\.name) == ["square"])
        // The dropped counter is accounted for, not missing.
        #expect(!level.missing.contains("enc.0.version"))
    }

    @Test func withoutASummaryTensorsMatchByNameAndDTypeChangesAreCasts() throws {
        let source = try model([("a", floats([0.1, 0.2, 0.3], [3])), ("b", counting([2, 2], label: "b"))])
        var converted = source
        converted.tensors.set(TensorEntry(name: "a", tensor: try floats([0.1, 0.2, 0.3], [3]).cast(to: .bf16, name: "a"),
                                          provenance: .init(sourceFile: "c", sourceName: "a")))
        let ok = WeightsCheck.run(source: source, converted: converted, summary: nil)
        #expect(ok.status == .passed)
        #expect(ok.castExact == 1 && ok.bitExact == 1)

        let transposed = replacing(source, "b", with: try counting([2, 2], label: "b").transposed([1, 0], name: "b"))
        let bad = WeightsCheck.run(source: source, converted: transposed, summary: nil)
        #expect(bad.mismatches.map(\.name) == ["b"])
        #expect(bad.mismatches.first?.differingElements == 2)  // the off-diagonal pair

        var renamed = source
        let removed = renamed.tensors.remove("b")
        let b = try #require(removed)
        try renamed.tensors.add(TensorEntry(name: "b2", tensor: b.tensor, provenance: b.provenance))
        let gap = WeightsCheck.run(source: source, converted: renamed, summary: nil)
        #expect(gap.missing == ["b"] && gap.unexpected == ["b2"])
    }

    @Test func aTieWrittenOnceIsNotAGapButAMissingTargetIs() throws {
        let (source, mapped, summary) = try mapEveryRule()
        var once = mapped
        once.tensors.remove("lm_head.weight")
        #expect(WeightsCheck.run(source: source, converted: once, summary: summary).status == .passed)
        once.tensors.remove("embed")
        let level = WeightsCheck.run(source: source, converted: once, summary: summary)
        #expect(level.status == .failed)
        #expect(Set(level.mismatches.map(\.name)) == ["embed", "lm_head.weight"])
    }

    @Test func anUnstatedFloatCastIsCheckedAsThatCast() throws {
        let source = try model([("a", floats([0.1, 1.0 / 3], [2]))])
        let summary = ConversionSummary(produced: [.init(name: "a", sources: ["a"], transforms: [.keep])])
        let half = try floats([0.1, 1.0 / 3], [2]).cast(to: .f16, name: "a")
        let ok = WeightsCheck.run(source: source, converted: replacing(source, "a", with: half), summary: summary)
        #expect(ok.status == .passed && ok.castExact == 1)
        // One ulp off the correctly rounded value still fails.
        let bits: [UInt16] = [Float16(Float(0.1)).bitPattern, Float16(Float(1.0 / 3)).bitPattern + 1]
        let off = TensorRef.memory(bits.withUnsafeBytes { Array($0) }, dtype: .f16, shape: [2], label: "a")
        let bad = WeightsCheck.run(source: source, converted: replacing(source, "a", with: off), summary: summary)
        #expect(bad.mismatches.first?.differingElements == 1)
        // Integer dtype changes are not casts.
        let ints = TensorRef.memory([UInt8](repeating: 0, count: 8), dtype: .i32, shape: [2], label: "a")
        let wrong = WeightsCheck.run(source: source, converted: replacing(source, "a", with: ints), summary: summary)
        #expect(wrong.mismatches.first?.problem.contains("dtype is i32") == true)
    }

    @Test func aSplitPartOutsideItsSplitFailsClosed() throws {
        let source = try model([("a", floats([1, 2], [2]))])
        let summary = ConversionSummary(produced: [.init(name: "a", sources: ["a"], transforms: [.keep, .split(axis: 0, sizes: nil, index: 3, count: 2, into: "a")])])
        let level = WeightsCheck.run(source: source, converted: source, summary: summary)
        #expect(level.status == .failed)
        #expect(level.mismatches.first?.problem.contains("part 4 of 2") == true)
    }

    @Test func stepsTheSourceAlreadyCarriedAreNotReplayedTwice() throws {
        var source = try model([("w", counting([2, 3], label: "w"))])
        var e = try #require(source.tensors["w"])
        e.provenance.transforms = [.transpose(perm: [1, 0])]  // e.g. a reader that stored a Keras kernel transposed
        source.tensors.set(e)
        let converted = replacing(source, "w", with: try counting([2, 3], label: "w").transposed([1, 0], name: "w"))
        let summary = ConversionSummary(produced: [.init(name: "w", sources: ["w"], transforms: [.transpose(perm: [1, 0]), .rename(from: "w", to: "w"), .transpose(perm: [1, 0])])])
        let level = WeightsCheck.run(source: source, converted: converted, summary: summary)
        #expect(level.status == .passed, "\(level.mismatches)")
    }
}
