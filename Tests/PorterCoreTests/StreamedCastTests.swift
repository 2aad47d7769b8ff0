import Foundation
import Testing
@testable import PorterCore

/// Streamed casts (`StreamedCast` through `OutputFile.write(tensor:)`) give the bytes of
/// the element-by-element cast at every chunk boundary: empty tensors, tensors smaller
/// than a chunk, exactly one chunk, one more or less, many chunks split across threads;
/// from a file (read with `pread`), from memory and from a strided view; and bytes written
/// before and after land where they belong.
@Suite struct StreamedCastTests {
    static let floatDTypes: [DType] = [.f16, .bf16, .f32, .f64]
    static let pairs: [(DType, DType)] = floatDTypes.flatMap { a in floatDTypes.filter { $0 != a }.map { (a, $0) } }
    /// A small chunk so that boundaries are cheap to reach.
    static let chunk = 16
    static let counts = [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 16 * 9 + 5]

    /// Values of every class, as f64 bits: overflow for f16 (65520, 1e9), ties, subnormals, NaN, infinities.
    static func values(_ count: Int) -> [Double] {
        let specials: [Double] = [0, -0.0, 1, -2.5, 65504, 65520, -1e9, 1 + 0x1p-8, 1 + 3 * 0x1p-8, 0x1p-24, 0x1p-25, 0x1p-140,
                                  .infinity, -.infinity, .nan, 3.3e38, 1e-3, -7.25]
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { i in
            if i % 3 == 0 { return specials[(i / 3) % specials.count] }
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return Double(Int64(bitPattern: x >> 11) % 200_001 - 100_000) / 997.0 * (i % 5 == 0 ? 300 : 1)
        }
    }

    /// `values` stored as `dtype` (rounded once from the double).
    static func bytes(_ values: [Double], as dtype: DType) -> [UInt8] {
        values.withUnsafeBytes { FloatConversion.castElementwise($0, from: .f64, to: dtype, count: values.count,
                                                                 into: [UInt8](repeating: 0, count: values.count * dtype.byteSize)).bytes }
    }

    static func reference(_ source: [UInt8], from: DType, to: DType) -> CastResult {
        let count = source.count / from.byteSize
        return source.withUnsafeBytes { FloatConversion.castElementwise($0, from: from, to: to, count: count, into: [UInt8](repeating: 0, count: count * to.byteSize)) }
    }

    /// Writes `prefix`, the tensor, `suffix` through `OutputFile` and returns the file's bytes.
    static func written(_ tensor: TensorRef, in dir: URL) throws -> [UInt8] {
        let url = dir.appendingPathComponent("out-\(UUID().uuidString.prefix(6)).bin")
        let out = try OutputFile(path: url.path)
        try out.write([0xAA, 0xBB, 0xCC])
        try out.write(tensor: tensor)
        try out.write([0xDD])
        #expect(out.bytesWritten == 4 + tensor.byteCount)
        try out.close()
        return Array(try Data(contentsOf: url))
    }

    @Test func chunkRangesCoverEveryElementOnce() {
        for count in Self.counts {
            let c = CastChunks(count: count, elementsPerChunk: Self.chunk)
            let ranges = (0..<c.chunkCount).map { c.range(of: $0) }
            #expect(ranges.reduce(0) { $0 + $1.count } == count)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(ranges.allSatisfy { !$0.isEmpty && $0.count <= Self.chunk })
        }
        #expect(CastChunks(count: 16, elementsPerChunk: 16).chunkCount == 1)
        #expect(CastChunks(count: 17, elementsPerChunk: 16).chunkCount == 2)
        #expect(CastChunks(count: 0).chunkCount == 0)
    }

    @Test(arguments: pairs.map { "\($0.0.rawValue)>\($0.1.rawValue)" })
    func streamedFromAFileEqualsElementwise(pair: String) throws {
        let (from, to) = try Self.parse(pair)
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        for count in Self.counts {
            let source = Self.bytes(Self.values(count), as: from)
            let url = dir.appendingPathComponent("src-\(count).bin")
            // 5 bytes before the tensor: reads at unaligned file offsets.
            try Data([1, 2, 3, 4, 5] + source + [9]).write(to: url)
            let file = try OpenFile(path: url.path)
            let storage = try TensorStorage.file(file, offset: 5, count: source.count, label: "src")
            let tensor = TensorRef(dtype: from, shape: Shape([count]), storage: storage)
            let tally = OverflowTally()
            let cast = Self.chunked(tensor, to: to, tally: tally)
            let expected = Self.reference(source, from: from, to: to)
            let got = try Self.written(cast, in: dir)
            #expect(got == [0xAA, 0xBB, 0xCC] + expected.bytes + [0xDD], "\(pair) count \(count)")
            #expect((tally.overflows["t"] ?? 0) == expected.overflowCount, "\(pair) count \(count)")
            // The whole-array path (what the verifier replays) gives the same bits.
            let whole = try source.withUnsafeBytes { try FloatConversion.cast($0, from: from, to: to) }
            #expect(whole.bytes == expected.bytes && whole.overflowCount == expected.overflowCount, "\(pair) count \(count)")
        }
    }

    @Test(arguments: [DType.f32, .bf16])
    func streamedFromMemoryAndStridedViews(from: DType) throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rows = 7, cols = 9  // 63 elements: 3 full chunks and a tail
        let source = Self.bytes(Self.values(rows * cols), as: from)
        let memory = TensorRef.memory(source, dtype: from, shape: Shape([rows, cols]), label: "m")
        let direct = try Self.written(Self.chunked(memory, to: .f16, tally: nil), in: dir)
        #expect(direct == [0xAA, 0xBB, 0xCC] + Self.reference(source, from: from, to: .f16).bytes + [0xDD])
        // A transposed view is gathered first, then cast in chunks.
        let transposed = try memory.transposed([1, 0], name: "m")
        let gathered = try transposed.contiguousBytes()
        let strided = try Self.written(Self.chunked(transposed, to: .f16, tally: nil), in: dir)
        #expect(strided == [0xAA, 0xBB, 0xCC] + Self.reference(gathered, from: from, to: .f16).bytes + [0xDD])
    }

    @Test func castTensorsStreamAtTheDefaultChunkSize() throws {
        // TensorRef.cast wires StreamedCast in; an odd count above two default chunks ends in a tail.
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let count = 2 * CastChunks.defaultElementsPerChunk + 3
        var x: UInt32 = 1
        let source = (0..<count).flatMap { _ -> [UInt8] in
            x = x &* 1_664_525 &+ 1_013_904_223
            let b = UInt16(truncatingIfNeeded: x >> 16)
            return [UInt8(truncatingIfNeeded: b), UInt8(truncatingIfNeeded: b >> 8)]
        }
        let tensor = TensorRef.memory(source, dtype: .bf16, shape: Shape([count]), label: "big")
        let tally = OverflowTally()
        let cast = try tensor.cast(to: .f16, name: "big", tally: tally)
        #expect(cast.storage.chunked != nil)
        let expected = Self.reference(source, from: .bf16, to: .f16)
        #expect(try Self.written(cast, in: dir) == [0xAA, 0xBB, 0xCC] + expected.bytes + [0xDD])
        #expect(tally.overflows["big"] == expected.overflowCount)
        #expect(expected.overflowCount > 0)
        // Reading the whole bytes (the verifier's way) gives the same.
        #expect(try cast.contiguousBytes() == expected.bytes)
    }

    @Test func aFailingSourceReadFailsTheWrite() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("short.bin")
        try Data(repeating: 0, count: 64).write(to: url)
        let file = try OpenFile(path: url.path)
        let storage = try TensorStorage.file(file, offset: 0, count: 64, label: "short")
        let tensor = TensorRef(dtype: .f32, shape: Shape([16]), storage: storage)
        try FileHandle(forWritingTo: url).truncate(atOffset: 10)  // the file shrinks under the reader
        let out = try OutputFile(path: dir.appendingPathComponent("o.bin").path)
        #expect(throws: CoreError.self) { try out.write(tensor: Self.chunked(tensor, to: .f16, tally: nil)) }
    }

    static func chunked(_ tensor: TensorRef, to target: DType, tally: OverflowTally?) -> TensorRef {
        let s = StreamedCast(source: tensor, target: target, name: "t", tally: tally, elementsPerChunk: chunk)
        let storage = TensorStorage(byteCount: tensor.elementCount * target.byteSize,
                                    backing: .deferred { throw CoreError.storageFailed(source: "t", reason: "must stream, not materialise") },
                                    label: "t", chunked: s)
        return TensorRef(dtype: target, shape: tensor.shape, storage: storage)
    }

    static func parse(_ pair: String) throws -> (DType, DType) {
        let parts = pair.split(separator: ">").map(String.init)
        return (try #require(DType(rawValue: parts[0])), try #require(DType(rawValue: parts[1])))
    }

    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porter-cast-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}
