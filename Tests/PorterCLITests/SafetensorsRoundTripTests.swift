import Foundation
import Testing
import PorterCore
import PorterSafetensors
import PorterTestSupport

/// Issue-level acceptance through the real binary: safetensors → porter → safetensors is
/// byte-identical, `inspect --json` agrees with Python's safetensors, malformed input
/// exits 1 and leaves nothing.
@Suite struct SafetensorsRoundTripTests {
    static let expected = try! Fixtures.json("safetensors/expected.json")
    static let valid = Fixtures.files(in: "safetensors/valid", suffix: ".safetensors")
    static let malformed = Fixtures.files(in: "safetensors/malformed", suffix: ".safetensors")

    @Test(arguments: valid)
    func inspectJSONAgreesWithPython(file: String) throws {
        let r = try CLI.run(["inspect", "--json", Fixtures.url("safetensors/valid/\(file)").path])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try JSONValue.parse(Data(r.stdout.utf8))
        let want = try #require(Self.expected["valid"]?[file])
        let wantTensors = want["tensors"]?.arrayValue ?? []
        let gotTensors = report["tensors"]?.arrayValue ?? []
        #expect(gotTensors.count == wantTensors.count)
        for w in wantTensors {
            let g = try #require(gotTensors.first { $0["name"] == w["name"] }, "missing \(w["name"]?.stringValue ?? "")")
            #expect(g["dtype"]?.stringValue.flatMap(DType.init(rawValue:))?.safetensorsName == w["dtype"]?.stringValue)
            #expect(g["shape"] == w["shape"])
        }
        #expect(report["metadata"] == want["metadata"])
    }

    @Test(arguments: valid + ["../sharded"])
    func porterRoundTripIsByteIdentical(file: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-roundtrip")
        let source = Fixtures.url("safetensors/valid/\(file)").standardizedFileURL
        let neutral = dir.appendingPathComponent("neutral")
        let back = dir.appendingPathComponent("back.safetensors")
        let r1 = try CLI.run(["convert", source.path, "--to", "porter", "-o", neutral.path])
        #expect(r1.status == 0, "\(r1.stderr)")
        let r2 = try CLI.run(["convert", neutral.path, "--to", "safetensors", "-o", back.path])
        #expect(r2.status == 0, "\(r2.stderr)")

        let original = try SafetensorsReader().read(source, options: ReadOptions())
        let copy = try SafetensorsReader().read(back, options: ReadOptions())
        #expect(copy.tensors.names == original.tensors.names)
        for entry in original.tensors {
            let other = try #require(copy.tensors[entry.name])
            #expect(other.tensor.dtype == entry.tensor.dtype)
            #expect(other.tensor.shape == entry.tensor.shape)
            #expect(try tensorDigest(other.tensor) == tensorDigest(entry.tensor))
        }
        #expect(copy.metadata.filter { !$0.key.hasPrefix("porter.") } == original.metadata)
    }

    /// `--fsync` changes when the bytes reach the disk, not what they are.
    @Test func fsyncWritesTheSameBytes() throws {
        let dir = try Fixtures.scratchDirectory("porter-fsync")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Fixtures.url("safetensors/valid/small_model.safetensors").path
        let plain = dir.appendingPathComponent("plain.safetensors"), synced = dir.appendingPathComponent("synced.safetensors")
        #expect(try CLI.run(["convert", source, "--to", "safetensors", "-o", plain.path]).status == 0)
        let r = try CLI.run(["convert", source, "--to", "safetensors", "-o", synced.path, "--fsync"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Data(contentsOf: synced) == Data(contentsOf: plain))
    }

    @Test(arguments: malformed)
    func malformedInputExitsOneAndWritesNothing(file: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-malformed")
        let out = dir.appendingPathComponent("out")
        let source = Fixtures.url("safetensors/malformed/\(file)")
        for to in ["porter", "safetensors"] {
            let r = try CLI.run(["convert", source.path, "--to", to, "-o", out.path])
            #expect(r.status == 1, "\(file): \(r.stderr)")
            #expect(r.stderr.hasPrefix("porter: error: "))
            #expect(r.stderr.contains(file), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        let inspect = try CLI.run(["inspect", source.path])
        #expect(inspect.status == 1)
    }
}
