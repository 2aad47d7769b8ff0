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

    /// Found by `fuzz-hdf5` (fork-server harness, 2026-12-01): 11 bytes of `dtypes.h5`'s object
    /// header overwritten with "keras_versi" and one byte of a later header changed. libhdf5 1.10.8
    /// then copies a 3.5 GB message in `H5O_msg_read_oh` (from `H5Dopen2`): ASan reports a heap
    /// over-read; without ASan the copy runs into the reader child's address-space limit.
    @Test("libhdf5's 3.5 GB object-header message copy: exit 1 naming the file, nothing written")
    func objectHeaderMessageOverRead() throws {
        var data = try [UInt8](Data(contentsOf: Fixtures.url("hdf5/dtypes.h5")))
        #expect(data.count == 9392)
        #expect(data[7791..<7802].elementsEqual([0, 0, 0, 8, 0, 0x46, 0x41, 0x4C, 0x53, 0x45, 0]))
        data.replaceSubrange(7791..<7802, with: Array("keras_versi".utf8))
        data[9342] = 0x3A
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porter-cli-ohmsg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("dtypes.h5")
        try Data(data).write(to: file)
        let inspect = try CLI.run(["inspect", file.path])
        #expect(inspect.status == 1)
        #expect(inspect.stderr.contains(file.path))
        #expect(inspect.stderr.contains("isolated HDF5 reader"), "\(inspect.stderr)")
        let out = dir.appendingPathComponent("out.safetensors")
        let convert = try CLI.run(["convert", file.path, "--to", "safetensors", "-o", out.path])
        #expect(convert.status == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["dtypes.h5"])
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
