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
    @Test(arguments: ["dtypes.pt", "views.pt", "tied.pt", "legacy.pt", "bigendian.pt", "script_deflated.pt", "nested.pt"])
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
        #expect(zip.commonPrefix == "archive/")
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
