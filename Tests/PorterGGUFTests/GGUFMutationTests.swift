import Foundation
import Testing
import PorterCore
import PorterPipeline
import PorterTestSupport
@testable import PorterGGUF

/// Seeded damage to every GGUF fixture (truncations, byte flips, huge length fields) through
/// the pipeline's reader, with every tensor materialised: a model or a typed error, never a
/// crash or an untyped failure.
@Suite struct GGUFMutationTests {

    static let files = ["types.gguf", "metadata.gguf", "quantize.gguf", "v2.gguf", "refused.gguf"]

    @Test(arguments: files)
    func survivesMutations(file: String) throws {
        let original = try [UInt8](Data(contentsOf: Fixtures.url("gguf/" + file)))
        let dir = try Fixtures.scratchDirectory("porter-gguf-mutations")
        defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SeededGenerator(seed: 15)
        var typed = 0, read = 0
        for i in 0..<150 {
            var bytes = original
            switch i % 3 {
            case 0: bytes = Array(bytes.prefix(rng.below(bytes.count)))
            case 1: for _ in 0..<(1 + rng.below(4)) { bytes[rng.below(bytes.count)] ^= UInt8(1 + rng.below(255)) }
            default:
                // A huge little-endian u64 at a random 8-byte position of the header.
                let at = rng.below(min(bytes.count, 512) - 8)
                for k in 0..<8 { bytes[at + k] = k == 7 ? 0x7F : 0xFF }
            }
            let url = dir.appendingPathComponent("m\(i).gguf")
            try Data(bytes).write(to: url)
            do {
                let (_, model) = try Pipeline().read(url, format: "gguf")
                for e in model.tensors { _ = try e.tensor.contiguousBytes() }
                read += 1
            } catch is GGUFError {
                typed += 1
            } catch is CoreError {
                typed += 1
            } catch {
                Issue.record("mutation \(i) of \(file): untyped error \(error)")
            }
        }
        #expect(typed > 0)
        #expect(typed + read == 150)
    }
}
