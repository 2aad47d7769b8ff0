import Foundation
import PorterCore
import PorterHDF5
import PorterTestSupport
import Testing

/// Single-byte corruptions of `weights_only.h5` found by a seeded mutation run that crashed
/// the process inside libhdf5 1.10.8 (`H5Aread` → `H5T__conv_vlen` → `H5HG_read` →
/// `memcpy`) before Porter checked variable-length string references.
@Suite("Corrupt global heap references")
struct CorruptHeapTests {
    /// A copy of a fixture with `bytes` overwritten at their offsets.
    func mutant(_ fixture: String, _ bytes: [Int: UInt8]) throws -> URL {
        var data = try [UInt8](Data(contentsOf: Fixtures.url("hdf5/" + fixture)))
        for (offset, value) in bytes {
            try #require(offset < data.count)
            #expect(data[offset] != value, "the mutation must change the byte")
            data[offset] = value
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porter-heap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent((fixture as NSString).lastPathComponent)
        try Data(data).write(to: url)
        return url
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var offset: Int
        var value: UInt8
        var attribute: String
        var reason: String
        var testDescription: String { "byte \(offset) = \(value): \(attribute)" }
    }

    static let cases = [
        // layer_names' third reference points at object 49409, beyond the collection's table.
        Case(offset: 949, value: 193, attribute: "layer_names", reason: "refers to object 49409"),
        // A heap object's size field becomes enormous.
        Case(offset: 2134, value: 252, attribute: "keras_version", reason: "heap object at byte 2120 declares"),
        // A heap object's size (38150) no longer matches the reference's length.
        Case(offset: 2185, value: 149, attribute: "keras_version", reason: "declares 38150 bytes"),
    ]

    @Test("a corrupt variable-length string reference is badAttribute, not a crash", arguments: cases)
    func corruptReference(_ c: Case) throws {
        let url = try mutant("weights_only.h5", [c.offset: c.value])
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        do {
            _ = try KerasH5Reader().read(url, options: ReadOptions())
            Issue.record("expected an error")
        } catch let e as HDF5Error {
            guard case let .badAttribute(file, path, attribute, reason) = e else { Issue.record("got \(e)"); return }
            #expect(file == url.path)
            #expect(path == "/")
            #expect(attribute == c.attribute)
            #expect(reason.contains("corrupt variable-length string"))
            #expect(reason.contains(c.reason), "\(reason)")
            #expect(e.localizedDescription.contains(url.path))
        } catch { Issue.record("untyped error \(error)") }
    }

    @Test("an attribute message whose dataspace size exceeds the message is badAttribute, not a crash")
    func attributeMessageOverrun() throws {
        // Byte 967 is the high byte of the `backend` attribute message's dataspace size:
        // 8 becomes 60680, and libhdf5 1.10.8 copied the attribute data from far past the header.
        let url = try mutant("weights_only.h5", [967: 237])
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        do {
            _ = try KerasH5Reader().read(url, options: ReadOptions())
            Issue.record("expected an error")
        } catch let HDF5Error.badAttribute(file, path, attribute, reason) {
            #expect(file == url.path)
            #expect(path == "/")
            #expect(attribute == "backend")
            #expect(reason.contains("corrupt object header"))
            #expect(reason.contains("60680"))
        } catch { Issue.record("got \(error)") }
    }

    @Test("intact variable-length strings still read (all fixtures with vlen attributes)",
          arguments: ["weights_only.h5", "mlp_sequential.h5", "tf_bert_tiny/tf_model.h5"])
    func intact(_ fixture: String) throws {
        let model = try KerasH5Reader().read(Fixtures.url("hdf5/" + fixture), options: ReadOptions())
        #expect(!model.tensors.isEmpty)
        #expect(model.metadata["keras_version"]?.isEmpty == false)
    }

    @Test("pre-flight: a child killed by a signal is libraryCrashed naming the file")
    func preflightCrash() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porter-preflight-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let crasher = dir.appendingPathComponent("crasher.sh")
        try "#!/bin/sh\nkill -SEGV $$\n".write(to: crasher, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: crasher.path)
        let file = Fixtures.url("hdf5/weights_only.h5")
        #expect(throws: HDF5Error.libraryCrashed(file: file.path, signal: 11)) {
            try HDF5Preflight.check(file, format: "keras-h5", executable: crasher.path)
        }
        #expect(HDF5Error.libraryCrashed(file: file.path, signal: 11).localizedDescription.contains("corrupt"))
        // A child that exits normally lets the read go ahead.
        try HDF5Preflight.check(file, format: "keras-h5", executable: "/bin/true")
        // A child failing for another reason is an error, not silence.
        #expect(throws: HDF5Error.self) { try HDF5Preflight.check(file, format: "keras-h5", executable: "/bin/false") }
    }

    @Test("pre-flight child entry: reads the file and reports completion; ignores other arguments")
    func preflightChild() {
        let file = Fixtures.url("hdf5/weights_only.h5").path
        #expect(HDF5Preflight.runChild(arguments: ["porter", HDF5Preflight.childArgument, "keras-h5", file]) == 0)
        #expect(HDF5Preflight.runChild(arguments: ["porter", HDF5Preflight.childArgument, "nope", file]) == 64)
        #expect(HDF5Preflight.runChild(arguments: ["porter", "inspect", file]) == nil)
        #expect(HDF5Preflight.executable == nil, "off by default in library users")
    }
}
