import Foundation
import PorterCore
import PorterTestSupport
import Testing
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

    /// A snappy-compressed block (type 1) with a valid checksum is refused by name.
    @Test func compressedBlockIsRefused() throws {
        let dir = try Fixtures.scratchDirectory("porter-tf-snappy")
        var file: [UInt8] = [0x61, 0x62, 0x63, 0x01]  // contents "abc", type 1 (snappy)
        let crc = CRC32C.mask(CRC32C.checksum(file))
        withUnsafeBytes(of: crc.littleEndian) { file += $0 }
        var footer: [UInt8] = [0x00, 0x00, 0x00, 0x03]  // metaindex (0, 0), index (0, 3)
        footer += [UInt8](repeating: 0, count: 40 - footer.count)
        withUnsafeBytes(of: SSTable.magic.littleEndian) { footer += $0 }
        try Data(file + footer).write(to: dir.appendingPathComponent("model.ckpt.index"))
        #expect { try TensorBundle(prefix: dir.appendingPathComponent("model.ckpt").path) } throws: { error in
            guard case let TensorFlowError.unsupportedCompression(_, offset, type) = error else { return false }
            return offset == 0 && type == 1 && error.localizedDescription.contains("snappy")
        }
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
