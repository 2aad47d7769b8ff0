import Foundation
import PorterTestSupport
import Testing

/// The `porter` binary on HDF5 files that used to crash libhdf5, and its isolated reader child entry.
@Suite("porter on corrupt HDF5")
struct HDF5CorruptionCLITests {
    @Test("a corrupt layer_names heap reference: exit 1 with a typed message, not a signal")
    func corruptLayerNames() throws {
        var data = try [UInt8](Data(contentsOf: Fixtures.url("hdf5/weights_only.h5")))
        #expect(data[949] == 0)
        data[949] = 193  // layer_names' third reference now names heap object 49409
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porter-cli-heap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("weights_only.h5")
        try Data(data).write(to: file)
        let run = try CLI.run(["inspect", file.path])
        #expect(run.status == 1)
        #expect(run.stderr.contains(file.path))
        #expect(run.stderr.contains("'layer_names'"))
        #expect(run.stderr.contains("corrupt variable-length string"))
    }

    @Test("the hidden reader child writes the model as a Porter folder and exits 0; bad arguments exit 64")
    func readerChildEntry() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porter-child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = Fixtures.url("hdf5/weights_only.h5").path
        let run = try CLI.run(["--porter-internal-hdf5-read", "read", "keras-h5", file, dir.path, "4294967296"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("model/model.json").path))
        let bad = try CLI.run(["--porter-internal-hdf5-read", "read", "no-such-format", file, dir.path, "4294967296"])
        #expect(bad.status == 64)
        // A typed error: its message in error.txt, status 65.
        let missing = try CLI.run(["--porter-internal-hdf5-read", "read", "keras-h5", dir.appendingPathComponent("none.h5").path, dir.path, "4294967296"])
        #expect(missing.status == 65)
        #expect((try? String(contentsOf: dir.appendingPathComponent("error.txt"), encoding: .utf8))?.contains("none.h5") == true)
    }
}
