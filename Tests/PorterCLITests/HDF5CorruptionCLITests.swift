import Foundation
import PorterTestSupport
import Testing

/// The `porter` binary on HDF5 files that used to crash libhdf5, and its pre-flight child entry.
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

    @Test("the hidden pre-flight child reads an intact file and exits 0")
    func preflightChildEntry() throws {
        let run = try CLI.run(["--porter-internal-hdf5-preflight", "keras-h5", Fixtures.url("hdf5/weights_only.h5").path])
        #expect(run.status == 0)
        let bad = try CLI.run(["--porter-internal-hdf5-preflight", "no-such-format", Fixtures.url("hdf5/weights_only.h5").path])
        #expect(bad.status == 64)
    }
}
