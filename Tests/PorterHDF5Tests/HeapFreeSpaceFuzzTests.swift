import Foundation
import PorterCore
import PorterHDF5
import PorterTestSupport
import Testing

/// Found by the `fuzz-hdf5` libFuzzer harness (docs/robustness.md, "Fuzzing"): a global-heap
/// collection whose free space stops short of the collection's end, followed by a zero-sized
/// free-space entry. Porter's heap check stopped at the first free space and passed the file;
/// libhdf5 1.10.8 (`H5HG__cache_heap_deserialize`, from `H5Aread` → `H5HG_read`) parses on
/// past it and never advances over the zero-sized entry, so the read hung forever.
@Suite("Global heap free space (fuzz regression)")
struct HeapFreeSpaceFuzzTests {
    /// `weights_only.h5` with its first collection's free space cut to its own 16-byte header
    /// and the 16 bytes after it (zero in the fixture) left as a zero-sized free-space entry.
    func shortFreeSpace() throws -> (url: URL, freeSpaceAt: Int) {
        var data = try [UInt8](Data(contentsOf: Fixtures.url("hdf5/weights_only.h5")))
        func le(_ at: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 | Int(data[at + $1]) << (8 * $1) } }
        let gcol = try #require((0..<(data.count - 4)).first { data[$0..<($0 + 4)].elementsEqual("GCOL".utf8) })
        let size = le(gcol + 8, 8)
        var p = gcol + 16
        while le(p, 2) != 0 { p += 16 + ((le(p + 8, 8) + 7) & ~7) }  // objects 1, 2, … to the free space
        #expect(le(p + 8, 8) == gcol + size - p, "the fixture's free space runs to the collection's end")
        #expect(data[(p + 16)..<(p + 32)].allSatisfy { $0 == 0 }, "the 16 bytes after the free-space header are zero")
        for k in 0..<8 { data[p + 8 + k] = k == 0 ? 16 : 0 }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porter-heapfree-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent("weights_only.h5")
        try Data(data).write(to: url)
        return (url, p)
    }

    @Test("free space that stops short of the collection's end is badAttribute, not a hang in libhdf5")
    func freeSpaceShort() throws {
        let (url, at) = try shortFreeSpace()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        do {
            _ = try KerasH5Reader().read(url, options: ReadOptions())
            Issue.record("expected an error")
        } catch let HDF5Error.badAttribute(file, path, _, reason) {
            #expect(file == url.path)
            #expect(path == "/")
            #expect(reason.contains("heap free space at byte \(at) is malformed"), "\(reason)")
        } catch { Issue.record("got \(error)") }
    }
}
