import Foundation
import PorterCore
import PorterTestSupport
import Testing
import CSnappy
@testable import PorterTensorFlow

/// Hand-damaged copies of the Saver fixture: every failure is a typed error, never a crash.
@Suite struct MalformedBundleTests {
    /// Copies the saver bundle to a scratch folder, lets `damage` edit the index bytes, returns the prefix.
    func damagedCopy(_ damage: (inout [UInt8]) -> Void, dropShard: Bool = false) throws -> String {
        let dir = try Fixtures.scratchDirectory("porter-tf")
        for name in try FileManager.default.contentsOfDirectory(atPath: Fixtures.url("tensorflow/saver").path) {
            try FileManager.default.copyItem(at: Fixtures.url("tensorflow/saver/\(name)"), to: dir.appendingPathComponent(name))
        }
        let index = dir.appendingPathComponent("model.ckpt.index")
        var bytes = [UInt8](try Data(contentsOf: index))
        damage(&bytes)
        try Data(bytes).write(to: index)
        if dropShard { try FileManager.default.removeItem(at: dir.appendingPathComponent("model.ckpt.data-00001-of-00002")) }
        return dir.appendingPathComponent("model.ckpt").path
    }

    @Test func indexShorterThanFooter() throws {
        let prefix = try damagedCopy { $0 = Array($0.prefix(20)) }
        #expect { try TensorBundle(prefix: prefix) } throws: { error in
            guard case let TensorFlowError.badFooter(file, _) = error else { return false }
            return file.hasSuffix("model.ckpt.index")
        }
    }

    @Test func wrongMagic() throws {
        let prefix = try damagedCopy { $0[$0.count - 1] ^= 0xFF }
        #expect { try TensorBundle(prefix: prefix) } throws: { error in
            guard case let TensorFlowError.badFooter(_, reason) = error else { return false }
            return reason.contains("magic")
        }
    }

    @Test func indexHandlePastTheEnd() throws {
        // Rewrite the footer: metaindex (0, 0), index handle at a huge offset.
        let prefix = try damagedCopy { bytes in
            let start = bytes.count - 48
            var footer: [UInt8] = [0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x7F, 0x10]
            footer += [UInt8](repeating: 0, count: 40 - footer.count)
            bytes.replaceSubrange(start..<(start + 40), with: footer)
        }
        #expect { try TensorBundle(prefix: prefix) } throws: { error in
            guard case TensorFlowError.malformedBlock = error else { return false }
            return true
        }
    }

    @Test func truncatedIndexKeepingTheFooter() throws {
        // Drop bytes from the middle: handles then point past the data or checksums fail.
        let prefix = try damagedCopy { bytes in bytes.removeSubrange(100..<300) }
        #expect(throws: TensorFlowError.self) { try TensorBundle(prefix: prefix) }
    }

    @Test func missingShard() throws {
        let prefix = try damagedCopy({ _ in }, dropShard: true)
        #expect { try TensorBundle(prefix: prefix) } throws: { error in
            guard case let TensorFlowError.missingShard(file) = error else { return false }
            return file.hasSuffix("model.ckpt.data-00001-of-00002")
        }
    }

    @Test func noIndex() {
        #expect(throws: TensorFlowError.self) { try TensorBundle(prefix: "/nonexistent/model.ckpt") }
    }

    /// A block whose restart array claims more entries than it can hold (CRC recomputed so
    /// only the structure is wrong).
    @Test func badRestartCount() throws {
        let prefix = try damagedCopy { _ in }
        let table = SSTable(file: try OpenFile(path: prefix + ".index"))
        var block = ByteReader([1, 2, 3, 4, 0xFF, 0xFF, 0, 0], source: table.name, baseOffset: 0)
        #expect(throws: TensorFlowError.self) { try table.blockEntries(block) }
        // An entry sharing more key bytes than the previous key has.
        block = ByteReader([5, 1, 0, 0x41, 0, 0, 0, 0, 1, 0, 0, 0], source: table.name)
        #expect(throws: TensorFlowError.self) { try table.blockEntries(block) }
    }

    /// Writes `contents` + `type` + masked CRC as one block, then a footer whose index handle points at it.
    func tableWithOneBlock(_ contents: [UInt8], type: UInt8) throws -> String {
        let dir = try Fixtures.scratchDirectory("porter-tf-block")
        var file = contents + [type]
        let crc = CRC32C.mask(CRC32C.checksum(file))
        withUnsafeBytes(of: crc.littleEndian) { file += $0 }
        var footer: [UInt8] = [0x00, 0x00, 0x00]  // metaindex (0, 0), index offset 0
        var n = UInt64(contents.count)
        repeat { var b = UInt8(n & 0x7F); n >>= 7; if n != 0 { b |= 0x80 }; footer.append(b) } while n != 0
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        withUnsafeBytes(of: SSTable.magic.littleEndian) { footer += $0 }
        try Data(file + footer).write(to: dir.appendingPathComponent("model.ckpt.index"))
        return dir.appendingPathComponent("model.ckpt").path
    }

    /// An unknown compression type with a valid checksum is refused by name.
    @Test func unknownCompressionIsRefused() throws {
        let prefix = try tableWithOneBlock([0x61, 0x62, 0x63, 0x00], type: 2)
        #expect { try TensorBundle(prefix: prefix) } throws: { error in
            guard case let TensorFlowError.unsupportedCompression(_, offset, type) = error else { return false }
            return offset == 0 && type == 2 && error.localizedDescription.contains("compression type 2")
        }
    }

    /// A snappy-compressed block (type 1) is uncompressed with libsnappy; corrupt snappy data is a typed error.
    @Test func snappyBlocks() throws {
        // A block with one entry (key "k", value "v"), restart array [0], count 1.
        let plain: [UInt8] = [0, 1, 1, 0x6B, 0x76, 0, 0, 0, 0, 1, 0, 0, 0]
        var compressed = [UInt8](repeating: 0, count: snappy_max_compressed_length(plain.count))
        var length = compressed.count
        let status = plain.withUnsafeBufferPointer { src in
            compressed.withUnsafeMutableBufferPointer { dst in
                src.withMemoryRebound(to: CChar.self) { s in
                    dst.withMemoryRebound(to: CChar.self) { d in snappy_compress(s.baseAddress, s.count, d.baseAddress, &length) }
                }
            }
        }
        #expect(status == SNAPPY_OK)
        compressed = Array(compressed.prefix(length))
        let prefix = try tableWithOneBlock(compressed, type: 1)
        let table = SSTable(file: try OpenFile(path: prefix + ".index"))
        let block = try table.block(BlockHandle(offset: 0, size: compressed.count))
        #expect(block.bytes == plain)
        let entries = try table.blockEntries(block)
        #expect(entries.count == 1 && entries[0].key == [0x6B] && entries[0].value == [0x76])
        // Garbage that claims to be snappy.
        let bad = try tableWithOneBlock([0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x00], type: 1)
        let badTable = SSTable(file: try OpenFile(path: bad + ".index"))
        #expect(throws: TensorFlowError.self) { try badTable.block(BlockHandle(offset: 0, size: 6)) }
    }

    @Test func sliceKeyEncoding() {
        // Small signed numbers are one byte: 0x80 ^ value (so -1 is 0x7f).
        var out: [UInt8] = []
        TensorBundle.writeSignedNumIncreasing(&out, 0)
        TensorBundle.writeSignedNumIncreasing(&out, 5)
        TensorBundle.writeSignedNumIncreasing(&out, -1)
        #expect(out == [0x80, 0x85, 0x7F])
        // Order is preserved across lengths.
        var a: [UInt8] = [], b: [UInt8] = []
        TensorBundle.writeSignedNumIncreasing(&a, 63)
        TensorBundle.writeSignedNumIncreasing(&b, 64)
        #expect(a.lexicographicallyPrecedes(b))
        #expect(b.count == 2)
    }
}
