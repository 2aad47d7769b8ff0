import Foundation
import PorterCore
import PorterPickle
@testable import PorterPyTorch
import PorterTestSupport
import Testing

@Suite struct PyTorchWriterTests {
    /// Writes each source with PyTorchWriter and reads it back bit-exact. With
    /// PORTER_WRITE_CHECK_DIR set, the outputs are also kept there for
    /// fixtures/generate/check_pytorch_writer.py (torch.load(weights_only=True)).
    @Test(arguments: ["dtypes.pt", "views.pt", "tied.pt", "legacy.pt", "legacy_tar.pt", "bigendian.pt", "script_deflated.pt", "nested.pt"])
    func roundTripIsBitExactWithAliases(file: String) throws {
        let source = try PyTorchReader().read(Fixtures.url("pytorch/\(file)"), options: ReadOptions())
        let dir = try Fixtures.scratchDirectory("porter-pt-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.pt")
        try PyTorchWriter().write(source, to: out, options: WriteOptions())
        if let keep = ProcessInfo.processInfo.environment["PORTER_WRITE_CHECK_DIR"] {
            let dest = URL(fileURLWithPath: keep).appendingPathComponent("porter_" + file)
            try? FileManager.default.removeItem(at: dest)
            try FileManager.default.copyItem(at: out, to: dest)
        }
        #expect(PyTorchReader().probe(try ProbeInput.load(out)) == .certain)
        let back = try PyTorchReader().read(out, options: ReadOptions())
        try checkAgainstExpected(back, file: file)
        #expect(back.tensors.aliases() == source.tensors.aliases())
        for pair in aliasPairs(file) {
            #expect(back.tensors[pair[0]]?.tensor.storage === back.tensors[pair[1]]?.tensor.storage)
        }
        // Data records are 64-byte aligned and stored (mmap-able).
        let zip = try ZipArchive(path: out.path)
        #expect(zip.torchPrefix == "archive/" && zip.entries.allSatisfy { $0.name.hasPrefix("archive/") })
        for e in zip.entries where e.name.hasPrefix("archive/data/") {
            #expect(try zip.dataOffset(of: e) % 64 == 0)
            #expect(e.method == 0)
        }
        // The pickle scans safe.
        #expect(try PickleScanner.scan(url: out).verdict == .safe)
    }

    @Test func sharedStorageIsWrittenOnce() throws {
        let source = try PyTorchReader().read(Fixtures.url("pytorch/views.pt"), options: ReadOptions())
        let dir = try Fixtures.scratchDirectory("porter-pt-writer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("views.pt")
        try PyTorchWriter().write(source, to: out, options: WriteOptions())
        let zip = try ZipArchive(path: out.path)
        // matrix/transposed/sliced/row share one storage; scalar, empty, expanded have their own.
        #expect(zip.entries.filter { $0.name.hasPrefix("archive/data/") }.count == 4)
    }
}

@Suite struct TorchZipMalformedTests {
    func scratch(_ bytes: [UInt8]) throws -> URL {
        let dir = try Fixtures.scratchDirectory("porter-pt-bad")
        let url = dir.appendingPathComponent("bad.pt")
        try Data(bytes).write(to: url)
        return url
    }

    @Test func truncatedZipIsRefused() throws {
        let good = try [UInt8](Data(contentsOf: Fixtures.url("pytorch/tied.pt")))
        for cut in [10, good.count / 2, good.count - 10] {
            let url = try scratch(Array(good.prefix(cut)))
            #expect(throws: (any Error).self) { _ = try TorchCheckpoint.open(url) }
        }
    }

    @Test func corruptCentralDirectoryIsTyped() throws {
        var bytes = try [UInt8](Data(contentsOf: Fixtures.url("pytorch/tied.pt")))
        // Break the signature of the first central directory record.
        var cd = 0
        while cd + 4 < bytes.count && !(bytes[cd] == 0x50 && bytes[cd + 1] == 0x4B && bytes[cd + 2] == 1 && bytes[cd + 3] == 2) { cd += 1 }
        bytes[cd + 3] = 9
        let eocd = cd
        let url = try scratch(bytes)
        #expect { try TorchCheckpoint.open(url) } throws: { error in
            guard case let PyTorchError.badZip(path, offset, _) = error else { return false }
            return path == url.path && offset == eocd
        }
    }

    @Test func corruptDeflateStreamIsTyped() throws {
        var bytes = try [UInt8](Data(contentsOf: Fixtures.url("pytorch/script_deflated.pt")))
        let zip = try ZipArchive(path: Fixtures.url("pytorch/script_deflated.pt").path)
        let e = try #require(zip.entries.first { $0.name.hasSuffix("data.pkl") })
        let start = try zip.dataOffset(of: e)
        for i in start..<(start + e.compressedSize) { bytes[i] = 0xFF }
        let url = try scratch(bytes)
        #expect { try TorchCheckpoint.open(url) } throws: { if case PyTorchError.inflateFailed = $0 { return true }; return false }
    }

    @Test func notATorchFile() throws {
        let url = try scratch(Array("hello, world".utf8))
        #expect(PyTorchReader().probe(try ProbeInput.load(url)) == .no)
        #expect(throws: PyTorchError.self) { _ = try TorchCheckpoint.open(url) }
    }

    @Test func missingShardIsNamed() throws {
        let dir = try Fixtures.scratchDirectory("porter-pt-index")
        let index = dir.appendingPathComponent("pytorch_model.bin.index.json")
        try Data(#"{"metadata": {}, "weight_map": {"a": "missing.bin"}}"#.utf8).write(to: index)
        #expect(throws: PyTorchError.missingShard(path: index.path, shard: "missing.bin")) { _ = try PyTorchReader().read(index, options: ReadOptions()) }
    }
}

@Suite struct ZipRoundTripTests {
    @Test func zip64RecordsAreWrittenAndRead() throws {
        let dir = try Fixtures.scratchDirectory("porter-zip64")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("z.zip")
        let out = try OutputFile(path: url.path)
        var zip = ZipWriter(out: out)
        zip.zip64Threshold = 0  // force ZIP64 everywhere
        let payloads: [(String, [UInt8])] = [("top/a", Array(0..<200).map { UInt8($0) }), ("top/b", []), ("top/c", [7, 7, 7])]
        for (name, bytes) in payloads { try zip.add(name: name, bytes: bytes) }
        try zip.finish()
        try out.close()
        let data = try [UInt8](Data(contentsOf: url))
        #expect(data.indices.contains { data[$0] == 0x50 && $0 + 3 < data.count && data[$0 + 1] == 0x4B && data[$0 + 2] == 6 && data[$0 + 3] == 6 })
        let archive = try ZipArchive(path: url.path)
        #expect(archive.torchPrefix == "top/")
        for (name, bytes) in payloads {
            let e = try #require(archive.entry(name))
            #expect(try archive.read(e) == bytes)
            #expect(try archive.dataOffset(of: e) % 64 == 0)
        }
    }

    @Test func torchFilesUseZip64AndAreRead() throws {
        // torch.save always writes a ZIP64 end record; reading any fixture goes through it.
        let data = try [UInt8](Data(contentsOf: Fixtures.url("pytorch/tied.pt")))
        #expect(data.indices.contains { data[$0] == 0x50 && $0 + 3 < data.count && data[$0 + 1] == 0x4B && data[$0 + 2] == 6 && data[$0 + 3] == 7 })
        #expect(try ZipArchive(path: Fixtures.url("pytorch/tied.pt").path).entries.count > 3)
    }
}

@Suite struct LegacyMalformedTests {
    func variant(_ edit: (inout [UInt8]) -> Void) throws -> URL {
        var bytes = try [UInt8](Data(contentsOf: Fixtures.url("pytorch/legacy.pt")))
        edit(&bytes)
        let dir = try Fixtures.scratchDirectory("porter-legacy-bad")
        let url = dir.appendingPathComponent("bad.pt")
        try Data(bytes).write(to: url)
        return url
    }

    @Test func wrongProtocolVersionIsRefused() throws {
        // The protocol pickle follows the 14-byte magic pickle + STOP: `80 02 4d e9 03 2e` (1001).
        let url = try variant { b in
            let i = (15..<(b.count - 1)).first { b[$0] == 0x4D && b[$0 + 1] == 0xE9 && b[$0 + 2] == 0x03 }!
            b[i + 1] = 0xEA
        }
        #expect { try TorchCheckpoint.open(url) } throws: { if case PyTorchError.badLegacy = $0 { return true }; return false }
    }

    @Test func truncatedStoragesAreRefused() throws {
        let url = try variant { $0.removeLast(9) }
        #expect { try TorchCheckpoint.open(url) } throws: { error in
            if case CoreError.truncated = error { return true }
            return false
        }
    }

    @Test func sysInfoOfBigEndianHostKeepsLittleEndianStorages() throws {
        let ckpt = try TorchCheckpoint.open(Fixtures.url("pytorch/legacy_sysinfo_be.pt"))
        #expect(ckpt.byteOrder == .little)
        #expect(ckpt.notes.contains { $0.contains("big-endian machine") })
        #expect(ckpt.notes.contains { $0.contains("C long is 4") })
    }
}

@Suite struct ZipBombTests {
    @Test func impossibleDeflateSizeIsRefusedBeforeAllocating() throws {
        var bytes = try [UInt8](Data(contentsOf: Fixtures.url("pytorch/script_deflated.pt")))
        // Declare a 4 GiB-1 plain size for the first deflated central directory record.
        var cd = 0
        while cd + 46 < bytes.count {
            if bytes[cd] == 0x50 && bytes[cd + 1] == 0x4B && bytes[cd + 2] == 1 && bytes[cd + 3] == 2 && bytes[cd + 10] == 8 { break }
            cd += 1
        }
        for i in 24..<28 { bytes[cd + i] = 0xFE }
        let dir = try Fixtures.scratchDirectory("porter-zipbomb")
        let url = dir.appendingPathComponent("bomb.pt")
        try Data(bytes).write(to: url)
        #expect { try ZipArchive(path: url.path) } throws: { error in
            guard case let PyTorchError.badZip(_, offset, reason) = error else { return false }
            return offset == cd && reason.contains("more than deflate can produce")
        }
    }
}

@Suite struct LegacyLargePickleTests {
    /// An object pickle larger than the first 16 MiB read: the reader and scanner grow their window.
    @Test func pickleLongerThanFirstWindowIsRead() throws {
        let legacy = try [UInt8](Data(contentsOf: Fixtures.url("pytorch/legacy.pt")))
        var end = 0
        for _ in 0..<3 { end = try PickleVM.load(legacy, source: "legacy", start: end).end }
        let big = 17 << 20
        var object: [UInt8] = [0x80, 0x02, 0x7D, 0x58, 3, 0, 0, 0] + Array("big".utf8) + [0x42]
        withUnsafeBytes(of: UInt32(big).littleEndian) { object += $0 }
        var file = Array(legacy[0..<end]) + object
        file += [UInt8](repeating: 0xAB, count: big)
        file += [0x73, 0x2E, 0x80, 0x02, 0x5D, 0x2E]  // SETITEM STOP; keys: []
        let dir = try Fixtures.scratchDirectory("porter-legacy-big")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("big.pt")
        try Data(file).write(to: url)
        let ckpt = try TorchCheckpoint.open(url)
        guard case let .bytes(b)? = ckpt.root.dictValue?["big"] else { Issue.record("bytes expected"); return }
        #expect(b.count == big)
        let report = try PickleScanner.scan(url: url)
        #expect(report.verdict == .safe, "\(report.findings)")
        #expect(report.pickles.count == 5)
    }
}
