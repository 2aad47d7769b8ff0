import Foundation
import PorterTestSupport
import Testing

/// Issue 11 through the `porter` binary: hostile HDF5 / Keras files (fixtures/hdf5/hostile)
/// are refused by `convert` and `inspect` with exit 1 and a typed message naming the user's
/// file, leave nothing in the output folder or the temporary folder, and put none of the
/// outside bytes anywhere; libhdf5's work runs in the isolated reader child, under its limits.
@Suite("porter on hostile HDF5")
struct HDF5ConfinementCLITests {
    struct Run {
        var status: Int32
        var stderr: String
        var seconds: Double
    }

    /// Runs `porter` with `TMPDIR` pointing at `tmp` (and extra environment), so temporary
    /// files it leaves are visible.
    static func porter(_ arguments: [String], tmp: URL, environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["TMPDIR"] = tmp.path
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let start = Date()
        try process.run()
        _ = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stderr: String(decoding: e, as: UTF8.self), seconds: Date().timeIntervalSince(start))
    }

    static func freshDir(_ tag: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porter-cli-confine-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Every regular file under `dir`.
    static func files(under dir: URL) -> [URL] {
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return [] }
        return e.compactMap { $0 as? URL }.filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
    }

    /// The bytes each outside-reading fixture would pull in: the first 12 bytes of /etc/passwd
    /// and of the marker (the shortest hostile dataset, a Keras 3 bias, is 3 float32s).
    static var outsideBytes: [[UInt8]] {
        var out = [Array("PORTER-OUTSI".utf8)]
        if let passwd = FileManager.default.contents(atPath: "/etc/passwd"), passwd.count >= 12 { out.append(Array(passwd.prefix(12))) }
        return out
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, !needle.isEmpty else { return false }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }

    /// Fixture → what the error message must say.
    static let cases: [(String, String)] = [
        ("external_storage.h5", "dataset /dense_out/dense_out/bias:0 keeps its bytes in another file (HDF5 external storage: /etc/passwd)"),
        ("virtual_dataset.h5", "dataset /dense_out/dense_out/bias:0 is an HDF5 virtual dataset whose bytes come from vds_source.h5:secret"),
        ("external_link.h5", "/dense_out/dense_out/bias:0 is an HDF5 external link to link_target.h5:/secret"),
        ("soft_dangling.h5", "soft link /dense_out/dense_out/bias:0 points to /nowhere"),
        ("filter_plugin.h5", "dataset /dense_out/dense_out/bias:0 needs HDF5 filter 32004"),
        ("keras_external_storage.keras", "dataset /layers/dense_1/vars/1 keeps its bytes in another file (HDF5 external storage: /etc/passwd)"),
        ("keras_virtual_dataset.keras", "dataset /layers/dense_1/vars/1 is an HDF5 virtual dataset whose bytes come from vds_source.h5:secret"),
        ("keras_external_link.keras", "/layers/dense_1/vars/1 is an HDF5 external link to link_target.h5:/secret"),
        ("keras_filter_plugin.keras", "dataset /layers/dense_1/vars/1 needs HDF5 filter 32004"),
        ("keras_vlen_base.keras", "attribute 'name' of /layers/dense/vars: corrupt object header at byte 7760: attribute message at byte 8824: variable-length string has a base type of 1073741824 bytes"),
        ("keras_vlen_shared.keras", "reading it exceeded the memory limit of Porter's isolated HDF5 reader process (address space of 2147483648 bytes"),
    ]

    @Test("convert and inspect refuse a hostile file: exit 1, typed message naming the user's file, nothing left, no outside bytes",
          arguments: cases.map(\.0))
    func refused(name: String) throws {
        let message = try #require(Self.cases.first { $0.0 == name }?.1)
        let source = Fixtures.url("hdf5/hostile/" + name)
        let named = name.hasSuffix(".keras") ? source.path + ": member model.weights.h5: " : source.path + ": "
        let tmp = try Self.freshDir("tmp"), out = try Self.freshDir("out")
        defer { try? FileManager.default.removeItem(at: tmp); try? FileManager.default.removeItem(at: out) }
        let convert = try Self.porter(["convert", source.path, "--to", "safetensors", "-o", out.appendingPathComponent("model.safetensors").path], tmp: tmp)
        #expect(convert.status == 1, "\(convert.stderr)")
        #expect(convert.stderr.contains(named + message), "\(convert.stderr)")
        #expect(!convert.stderr.contains("/proc/self/fd") && !convert.stderr.contains(tmp.path), "\(convert.stderr)")
        #expect(convert.seconds < 20, "took \(convert.seconds) s")
        #expect(Self.files(under: out).isEmpty, "output left: \(Self.files(under: out))")
        #expect(Self.files(under: tmp).isEmpty, "temporary files left: \(Self.files(under: tmp))")
        for file in Self.files(under: out) + Self.files(under: tmp) {
            let bytes = try [UInt8](Data(contentsOf: file))
            for needle in Self.outsideBytes { #expect(!Self.contains(bytes, needle), "\(file.path) holds outside bytes") }
        }
        let inspect = try Self.porter(["inspect", source.path], tmp: tmp)
        #expect(inspect.status == 1)
        #expect(inspect.stderr.contains(named + message), "\(inspect.stderr)")
        #expect(Self.files(under: tmp).isEmpty)
    }

    @Test("the variable-length blow-up fails fast under the memory cap (it ran minutes at ~17 GB before)")
    func blowUpIsFast() throws {
        let tmp = try Self.freshDir("tmp")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let run = try Self.porter(["inspect", Fixtures.url("hdf5/hostile/keras_vlen_shared.keras").path], tmp: tmp)
        #expect(run.status == 1)
        #expect(run.stderr.contains("memory limit"))
        #expect(run.seconds < 10, "took \(run.seconds) s")
        // A lower cap from the environment is the one reported.
        let low = try Self.porter(["inspect", Fixtures.url("hdf5/hostile/keras_vlen_shared.keras").path], tmp: tmp,
                                  environment: ["PORTER_HDF5_CHILD_MEMORY": "1536M"])
        #expect(low.status == 1)
        #expect(low.stderr.contains("address space of \(1536 << 20) bytes"), "\(low.stderr)")
    }

    @Test("a reader child that outlives its wall-time limit is killed and reported as a time limit naming the file")
    func timeLimit() throws {
        let tmp = try Self.freshDir("tmp")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let file = Fixtures.url("hdf5/keras3_mlp.keras").path
        let run = try Self.porter(["inspect", file], tmp: tmp, environment: ["PORTER_HDF5_CHILD_TIMEOUT": "0.001"])
        #expect(run.status == 1)
        #expect(run.stderr.contains(file + ": member model.weights.h5: reading it exceeded the time limit of Porter's isolated HDF5 reader process (0.001 s"), "\(run.stderr)")
        #expect(Self.files(under: tmp).isEmpty, "the killed child left \(Self.files(under: tmp))")
    }

    @Test("an ordinary .keras still converts, and leaves no temporary file")
    func ordinaryKeras() throws {
        let tmp = try Self.freshDir("tmp"), out = try Self.freshDir("out")
        defer { try? FileManager.default.removeItem(at: tmp); try? FileManager.default.removeItem(at: out) }
        let run = try Self.porter(["convert", Fixtures.url("hdf5/keras3_mlp.keras").path, "--to", "safetensors",
                                   "-o", out.appendingPathComponent("model.safetensors").path], tmp: tmp)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path))
        #expect(Self.files(under: tmp).isEmpty, "temporary files left: \(Self.files(under: tmp))")
    }
}
