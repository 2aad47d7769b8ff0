import Foundation
import PorterCore
@testable import PorterHDF5
import PorterNeutralFormat
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

    @Test("isolation: how the reader child ended decides the error, naming the file")
    func isolationOutcomes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porter-isolation-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func script(_ name: String, _ body: String) throws -> String {
            let url = dir.appendingPathComponent(name)
            // Each child records its scratch folder ($5), to check it is gone afterwards.
            try "#!/bin/sh\necho \"$5\" >> '\(dir.path)/scratch.txt'\n\(body)\n".write(to: url, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
            return url.path
        }
        let file = Fixtures.url("hdf5/weights_only.h5")
        #expect(throws: HDF5Error.libraryCrashed(file: file.path, signal: 11)) {
            try HDF5Isolation.read(file, format: "keras-h5", executable: try script("crash.sh", "kill -SEGV $$"))
        }
        #expect(HDF5Error.libraryCrashed(file: file.path, signal: 11).localizedDescription.contains("corrupt"))
        // A typed error in the child reaches the user with the child's message ($4 is the file, $5 the result folder).
        #expect(throws: HDF5Error.reported(file: file.path, message: "\(file.path): boom at /x")) {
            try HDF5Isolation.read(file, format: "keras-h5", executable: try script("report.sh", "printf '%s: boom at /x' \"$4\" > \"$5/error.txt\"; exit 65"))
        }
        #expect(throws: HDF5Error.resourceLimit(file: file.path, resource: "memory", limit: HDF5Isolation.Limits(memoryBytes: 1 << 30, seconds: 5).memoryText)) {
            try HDF5Isolation.read(file, format: "keras-h5", executable: try script("oom.sh", "exit 66"), limits: .init(memoryBytes: 1 << 30, seconds: 5))
        }
        #expect(throws: HDF5Error.resourceLimit(file: file.path, resource: "time", limit: HDF5Isolation.Limits(memoryBytes: 1 << 30, seconds: 0.5).timeText)) {
            try HDF5Isolation.read(file, format: "keras-h5", executable: try script("hang.sh", "exec sleep 30"), limits: .init(memoryBytes: 1 << 30, seconds: 0.5))
        }
        // A child that claims success but wrote nothing is an error, not an empty model.
        #expect(throws: (any Error).self) { try HDF5Isolation.read(file, format: "keras-h5", executable: "/bin/true") }
        #expect(throws: HDF5Error.self) { try HDF5Isolation.read(file, format: "keras-h5", executable: "/bin/false") }
        // No scratch folder is left behind by any of them.
        let scratch = try String(contentsOf: dir.appendingPathComponent("scratch.txt"), encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(scratch.count == 4 && scratch.allSatisfy { $0.contains("porter-hdf5-") }, "\(scratch)")
        #expect(scratch.allSatisfy { !FileManager.default.fileExists(atPath: $0) }, "\(scratch)")
    }

    @Test("isolation: the child's result folder reads back as the in-process model",
          arguments: ["weights_only.h5", "mlp_sequential.h5", "tf_bert_tiny/tf_model.h5", "keras3_mlp.keras"])
    func isolationRoundTrip(_ fixture: String) throws {
        let url = Fixtures.url("hdf5/" + fixture)
        let reader: any ModelReader = fixture.hasSuffix(".keras") ? KerasArchiveReader() : KerasH5Reader()
        let direct = try reader.read(url, options: ReadOptions())
        let scratch = try ScratchFolder(purpose: "hdf5-test")
        defer { scratch.remove() }
        #expect(HDF5Isolation.work(.read, reader: reader, url: url, options: ReadOptions(), result: scratch.url) == 0)
        let back = try PorterModelReader().read(scratch.url.appendingPathComponent("model"))
        #expect(back.sourceFormat == direct.sourceFormat)
        #expect(back.sourceFiles == direct.sourceFiles)
        #expect(back.tensors.names == direct.tensors.names)
        for entry in direct.tensors {
            let other = try #require(back.tensors[entry.name])
            #expect(other.tensor.dtype == entry.tensor.dtype && other.tensor.shape == entry.tensor.shape)
            #expect(try other.tensor.contiguousBytes() == entry.tensor.contiguousBytes(), "\(entry.name)")
            #expect(other.provenance == entry.provenance)
        }
        #expect(back.graph == direct.graph)
        #expect(back.config == direct.config)
        #expect(back.metadata == direct.metadata)
        #expect(back.dropped == direct.dropped)
        #expect(back.notes == direct.notes)
    }

    @Test("isolation child entry: refuses bad arguments before touching the process; ignores other commands")
    func isolationChildArguments() {
        let file = Fixtures.url("hdf5/weights_only.h5").path
        let a = HDF5Isolation.childArgument
        #expect(HDF5Isolation.runChild(arguments: ["porter", a, "read", "nope", file, "/tmp", "1000000"]) == 64)
        #expect(HDF5Isolation.runChild(arguments: ["porter", a, "write", "keras-h5", file, "/tmp", "1000000"]) == 64)
        #expect(HDF5Isolation.runChild(arguments: ["porter", a, "read", "keras-h5", file]) == 64)
        #expect(HDF5Isolation.runChild(arguments: ["porter", a, "read", "keras-h5", file, "/tmp", "0"]) == 64)
        #expect(HDF5Isolation.runChild(arguments: ["porter", "inspect", file]) == nil)
        #expect(HDF5Isolation.executable == nil, "off by default in library users")
    }
}
