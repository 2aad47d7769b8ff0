import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterSafetensors

/// `--dtype` casts written by the safetensors writer (streamed in chunks) against the
/// bits torch 2.13 wrote for the same values (fixtures/cast, `gen_cast.py`): zeros,
/// subnormals, every exponent, rounding ties, overflow, infinities and NaNs.
///
/// Every non-NaN value is bit-equal, and so are NaNs where torch's CPU cast is one rule
/// (bf16→f16 and f32→f16 quiet and truncate the payload, f32→bf16 writes 0xFFFF). Where
/// torch's own NaN bits depend on the kernel path (widening to f32 quiets in the vector
/// loop but not in its scalar tail; f16→bf16 writes 0x7FC0), NaN must stay NaN.
@Suite struct TorchCastTests {
    static let pairs = ["bf16_to_f16", "bf16_to_f32", "f16_to_bf16", "f16_to_f32", "f32_to_bf16", "f32_to_f16"]
    static let nanExact: Set<String> = ["bf16_to_f16", "f32_to_f16", "f32_to_bf16"]

    @Test(arguments: pairs)
    func streamedCastEqualsTorch(pair: String) throws {
        let parts = pair.components(separatedBy: "_to_")
        let from = try #require(DType(rawValue: parts[0])), to = try #require(DType(rawValue: parts[1]))
        let reader = SafetensorsReader()
        let input = try reader.read(Fixtures.url("cast/input.safetensors"), options: ReadOptions())
        let torch = try reader.read(Fixtures.url("cast/torch_cast.safetensors"), options: ReadOptions())
        let source = try #require(input.tensors[parts[0]]).tensor
        #expect(source.dtype == from)
        let tally = OverflowTally()
        let cast = try source.cast(to: to, name: pair, tally: tally)
        let dir = try Fixtures.scratchDirectory("torch-cast")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("cast.safetensors")
        let entry = TensorEntry(name: pair, tensor: cast, provenance: Provenance(sourceFile: "input.safetensors", sourceName: parts[0]))
        try SafetensorsWriter.writeFile([entry], metadata: [:], to: url)
        let mine = try #require(try reader.read(url, options: ReadOptions()).tensors[pair]).tensor.contiguousBytes()
        let theirs = try #require(torch.tensors[pair]).tensor.contiguousBytes()
        #expect(mine.count == theirs.count)
        let size = to.byteSize
        var differing = 0, nans = 0
        for i in 0..<(mine.count / size) {
            let a = Array(mine[(i * size)..<((i + 1) * size)]), b = Array(theirs[(i * size)..<((i + 1) * size)])
            if a == b { if Self.isNaN(b, to) { nans += 1 }; continue }
            if !Self.nanExact.contains(pair), Self.isNaN(a, to), Self.isNaN(b, to) { nans += 1; continue }
            differing += 1
        }
        #expect(differing == 0, "\(pair): \(differing) values differ from torch's")
        #expect(nans > 0, "the fixture holds NaNs")
        let facts = try Fixtures.json("cast/generator.json")
        let overflowed = try #require(facts["facts"]?[pair]?["overflowed"]?.intValue)
        #expect((tally.overflows[pair] ?? 0) == overflowed)
    }

    static func isNaN(_ bytes: [UInt8], _ dtype: DType) -> Bool {
        let bits = bytes.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        switch dtype {
        case .f16: return bits & 0x7C00 == 0x7C00 && bits & 0x03FF != 0
        case .bf16: return bits & 0x7F80 == 0x7F80 && bits & 0x007F != 0
        default: return Float(bitPattern: bits).isNaN
        }
    }
}
