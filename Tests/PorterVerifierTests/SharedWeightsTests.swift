import Foundation
import Testing
import PorterCore
import PorterPipeline
import PorterRuntime
import PorterTestSupport
@testable import PorterVerifier

/// Verify holds one copy of the weights its weights level proved identical: the converted
/// executor takes the source executor's widened floats (same buffer), not a second copy.
/// Weights that differ, or were cast, are loaded from the converted model itself.
@Suite struct SharedWeightsTests {
    static func buffer(_ w: LoadedWeight?) -> UnsafeRawPointer? { w?.storageAddress }

    static func executor(_ g: PreparedGraph) throws -> GraphExecutor {
        guard case let .ready(e) = g else { Issue.record("graph not ready: \(g)"); throw CancellationError() }
        return e
    }

    @Test func identicalWeightsAreLoadedOnce() throws {
        let dir = try Fixtures.scratchDirectory("shared-weights")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pipeline = Pipeline()
        let output = dir.appendingPathComponent("out")
        let result = try pipeline.convert(ConvertRequest(source: Fixtures.url("verifier/original"), output: output, to: "hf"))
        let (_, converted) = try pipeline.read(output)
        let source = result.sourceModel
        let (level, identical) = WeightsCheck.check(source: source, converted: converted, summary: nil)
        #expect(level.status == .passed)
        #expect(identical.count == converted.tensors.count && identical.count == 37)
        let src = try Self.executor(PreparedGraph.prepare(source, registry: .standard))
        let shared = Verifier.sharedWeights(identical, from: .ready(src))
        #expect(!shared.isEmpty)
        let dst = try Self.executor(PreparedGraph.prepare(converted, registry: .standard, shared: shared))
        var sharedCount = 0
        for name in dst.loadedWeightNames {
            let mine = Self.buffer(dst.loadedWeight(name)), theirs = Self.buffer(src.loadedWeight(identical[name] ?? ""))
            #expect(mine != nil && mine == theirs, "\(name) is a second copy")
            sharedCount += 1
        }
        #expect(sharedCount > 0)
        // The whole verification still passes, forward level included.
        let report = Verifier().verify(source: source, converted: converted)
        #expect(report.passed, "\(report.failures)")
        #expect(report.forward.status == .passed)
    }

    @Test func changedOrCastWeightsAreNotShared() throws {
        let dir = try Fixtures.scratchDirectory("shared-weights-cast")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pipeline = Pipeline()
        let (_, source) = try pipeline.read(Fixtures.url("verifier/original"))
        // One tensor changed: it fails the weights level and is not shared.
        var changed = source
        let victim = try #require(source.tensors.entries.first { $0.tensor.elementCount > 1 && $0.tensor.dtype == .f32 })
        var bytes = try victim.tensor.contiguousBytes()
        bytes[0] ^= 0x01
        changed.tensors.set(TensorEntry(name: victim.name, tensor: .memory(bytes, dtype: .f32, shape: victim.tensor.shape, label: victim.name),
                                        provenance: victim.provenance))
        let (level, identical) = WeightsCheck.check(source: source, converted: changed, summary: nil)
        #expect(level.status == .failed)
        #expect(identical[victim.name] == nil)
        #expect(identical.count == source.tensors.count - 1)
        // A cast model is equal within the cast's rounding only: nothing is shared.
        let output = dir.appendingPathComponent("half")
        _ = try pipeline.convert(ConvertRequest(source: Fixtures.url("verifier/original"), output: output, to: "hf", dtype: .f16))
        let (_, half) = try pipeline.read(output)
        let (castLevel, castIdentical) = WeightsCheck.check(source: source, converted: half, summary: nil)
        #expect(castLevel.castExact == half.tensors.count)
        #expect(castIdentical.isEmpty)
    }
}
