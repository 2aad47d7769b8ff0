import Foundation
import Testing
import PorterCore
import PorterTestSupport
@testable import PorterGGUF

/// The quantizer against gguf-py's `gguf.quants.quantize` bytes (fixtures/gguf/quantize.gguf:
/// an f32 input and gguf-py's encodings of it, ties, zero blocks and negative maxima included).
@Suite struct BlockCodecTests {
    static func fixture() throws -> (GGUFFile, OpenFile) {
        let file = try OpenFile(path: Fixtures.url("gguf/quantize.gguf").path)
        return (try GGUFFile.parse(file), file)
    }

    static func rawBytes(_ name: String, _ g: GGUFFile, _ file: OpenFile) throws -> [UInt8] {
        let t = try #require(g.tensors.first { $0.name == name })
        return try file.read(offset: t.start, count: t.byteCount)
    }

    @Test(arguments: [BlockQuantization.q8_0, .q4_0, .q4_1])
    func quantizeIsBitEqualToGGUFPy(type: BlockQuantization) throws {
        let (g, file) = try Self.fixture()
        let input = try GGUFReader.model(of: g, file: file).tensors["input"]!.tensor.floatValues()
        let reference = try Self.rawBytes(type.rawValue, g, file)
        let ours = try #require(BlockCodec.quantize(type, input))
        #expect(ours.count == reference.count)
        if let i = zip(ours, reference).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            Issue.record("\(type.ggmlName): first differing byte \(i) (block \(i / type.bytesPerBlock)): \(ours[i]) vs gguf-py \(reference[i])")
        }
        let facts = try Fixtures.json("gguf/expected.json")["quantize.gguf"]?[type.rawValue]?["bytes_sha256"]?.stringValue
        #expect(SHA256.hex(ours) == facts)
    }

    @Test func halfAndBFloatCastsMatchGGUFPy() throws {
        let (g, file) = try Self.fixture()
        let input = try GGUFReader.model(of: g, file: file).tensors["input"]!.tensor
        for (name, dtype) in [("f16", DType.f16), ("bf16", .bf16)] {
            let cast = try input.withContiguousBytes { try FloatConversion.cast($0, from: .f32, to: dtype) }
            #expect(cast.bytes == (try Self.rawBytes(name, g, file)), "\(name)")
        }
    }

    @Test func roundTripThroughDequantizeIsStable() throws {
        // Quantizing what a quantizer produced gives the same bytes again (the verifier's replay relies on determinism).
        let values = (0..<256).map { Float(sin(Double($0) * 0.37)) * 3 }
        for type in BlockCodec.writable {
            let q = try #require(BlockCodec.quantize(type, values))
            #expect(BlockCodec.quantize(type, values) == q)
            let back = BlockCodec.dequantize(type, q)
            #expect(back.count == values.count)
            let worst = zip(back, values).map { abs($0 - $1) }.max() ?? 0
            #expect(worst < 0.5, "\(type): \(worst)")
        }
    }

    @Test func nonFiniteInputsDoNotCrash() {
        let values: [Float] = [.nan, .infinity, -.infinity] + [Float](repeating: 1, count: 29)
        for type in BlockCodec.writable { #expect(BlockCodec.quantize(type, values)?.count == type.bytesPerBlock) }
        #expect(BlockCodec.quantize(.q8_0, [1, 2, 3]) == nil)
        #expect(BlockCodec.quantize(.q4_k, [Float](repeating: 0, count: 256)) == nil)
    }

    @Test func blockGeometryMatchesGGML() {
        // GGML_QUANT_SIZES (gguf-py constants.py).
        let sizes: [BlockQuantization: (Int, Int)] = [.q4_0: (32, 18), .q4_1: (32, 20), .q5_0: (32, 22), .q5_1: (32, 24), .q8_0: (32, 34),
                                                      .q2_k: (256, 84), .q3_k: (256, 110), .q4_k: (256, 144), .q5_k: (256, 176), .q6_k: (256, 210)]
        for q in BlockQuantization.allCases {
            #expect(q.blockSize == sizes[q]?.0 && q.bytesPerBlock == sizes[q]?.1, "\(q)")
        }
        #expect(BlockQuantization.q8_0.byteCount(elements: 64) == 68)
        #expect(BlockQuantization.q8_0.byteCount(elements: 33) == nil)
        #expect(BlockQuantization.q8_0.byteCount(elements: Int.max / 32 * 32) == nil)
    }
}
