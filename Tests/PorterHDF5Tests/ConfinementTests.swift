import Foundation
import PorterCore
import PorterHDF5
import PorterTestSupport
import Testing

/// Issue 11: HDF5 files that make libhdf5 read outside the file, load a plugin, or allocate
/// gigabytes. Fixtures: fixtures/hdf5/hostile (gen_hdf5_hostile.py, facts in its generator.json).
@Suite("HDF5 confinement")
struct ConfinementTests {
    static let bias = "/dense_out/dense_out/bias:0"
    static let k3Var = "/layers/dense_1/vars/1"

    static func hostile(_ name: String) -> URL { Fixtures.url("hdf5/hostile/" + name) }

    /// What each outside-reading fixture must be refused as (`file` filled in by the test).
    static func expected(_ name: String, file: String) -> HDF5Error {
        let path = name.hasSuffix(".keras") ? k3Var : bias
        switch name.replacingOccurrences(of: "keras_", with: "").replacingOccurrences(of: ".keras", with: "").replacingOccurrences(of: ".h5", with: "") {
        case "external_storage": return .externalStorage(file: file, dataset: path, target: "/etc/passwd")
        case "virtual_dataset": return .virtualDataset(file: file, dataset: path, source: "vds_source.h5:secret")
        case "external_link": return .externalLink(file: file, link: path, target: "link_target.h5:/secret")
        case "soft_dangling": return .danglingSoftLink(file: file, link: path, target: "/nowhere")
        default: return .filterNotBuiltIn(file: file, dataset: path, filter: 32004, name: "")
        }
    }

    static let h5Files = ["external_storage.h5", "virtual_dataset.h5", "external_link.h5", "soft_dangling.h5", "filter_plugin.h5"]
    static let kerasFiles = ["keras_external_storage.keras", "keras_virtual_dataset.keras", "keras_external_link.keras", "keras_filter_plugin.keras"]

    @Test("a hostile .h5 is refused at open with a typed error naming the dataset and what it points at", arguments: h5Files)
    func hostileH5(name: String) {
        let url = Self.hostile(name)
        #expect(throws: Self.expected(name, file: url.path)) { try KerasH5Reader().read(url, options: ReadOptions()) }
    }

    @Test("a hostile .keras is refused, naming the archive and its member, never a temporary path", arguments: kerasFiles)
    func hostileKeras(name: String) {
        let url = Self.hostile(name)
        let label = url.path + ": member model.weights.h5"
        do {
            _ = try KerasArchiveReader().read(url, options: ReadOptions())
            Issue.record("\(name) was read")
        } catch let e as HDF5Error {
            #expect(e == Self.expected(name, file: label))
            let text = e.localizedDescription
            #expect(text.hasPrefix(label + ": "))
            #expect(!text.contains("/proc/self/fd") && !text.contains("porter-keras"))
        } catch { Issue.record("untyped error \(error)") }
    }

    @Test("a variable-length string whose base type claims 1 GiB per character is refused before libhdf5 converts it")
    func vlenBaseSize() {
        let url = Self.hostile("keras_vlen_base.keras")
        do {
            _ = try KerasArchiveReader().read(url, options: ReadOptions())
            Issue.record("read")
        } catch let e as HDF5Error {
            guard case let .badAttribute(file, path, attribute, reason) = e else { Issue.record("got \(e)"); return }
            #expect(file == url.path + ": member model.weights.h5")
            #expect(path == "/layers/dense/vars")
            #expect(attribute == "name")
            #expect(reason.contains("base type of 1073741824 bytes"))
        } catch { Issue.record("untyped error \(error)") }
    }

    @Test("a transformers shard index whose shard reads outside is refused, naming the shard")
    func hostileShard() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("porter-confine-shard-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Fixtures.url("hdf5/tf_bert_sharded"), to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let shards = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("tf_model-") }.sorted()
        let victim = dir.appendingPathComponent(try #require(shards.last))
        try FileManager.default.removeItem(at: victim)
        try FileManager.default.copyItem(at: Self.hostile("external_storage.h5"), to: victim)
        #expect(throws: HDF5Error.externalStorage(file: victim.path, dataset: Self.bias, target: "/etc/passwd")) {
            try KerasH5Reader().read(dir.appendingPathComponent("tf_model.h5.index.json"), options: ReadOptions())
        }
    }

    @Test("HDF5Hazards.scan lists each hazard without reading, and nothing in the ordinary fixtures")
    func scan() throws {
        for name in Self.h5Files + Self.kerasFiles {
            let hazards = try HDF5Hazards.scan(url: Self.hostile(name))
            #expect(hazards.count == 1, "\(name): \(hazards)")
            if let h = hazards.first {
                let label = name.hasSuffix(".keras") ? "x: member model.weights.h5" : "x"
                #expect(h.error(file: label) == Self.expected(name, file: label), "\(name): \(h)")
            }
        }
        let ordinary = try FileManager.default.contentsOfDirectory(atPath: Fixtures.url("hdf5").path)
            .filter { $0.hasSuffix(".h5") || $0.hasSuffix(".keras") }
        #expect(ordinary.count >= 10)
        for name in ordinary {
            #expect(try HDF5Hazards.scan(url: Fixtures.url("hdf5/" + name)).isEmpty, "\(name)")
        }
        #expect(throws: HDF5Error.self) { try HDF5Hazards.scan(url: Fixtures.url("hdf5/malformed/not_hdf5.h5")) }
    }

    @Test("the ordinary fixtures with deflate/shuffle chunks still read: built-in filters are allowed")
    func builtInFiltersAllowed() throws {
        let model = try KerasH5Reader().read(Fixtures.url("hdf5/chunked_deflate.h5"), options: ReadOptions())
        #expect(model.tensors.entries.count > 0)
        for e in model.tensors.entries { _ = try e.tensor.contiguousBytes() }
    }

    @Test("libhdf5's plugin loading is off once Porter has touched libhdf5")
    func pluginsOff() throws {
        _ = try KerasH5Reader().read(Fixtures.url("hdf5/weights_only.h5"), options: ReadOptions())
        #expect(HDF5Hazards.pluginLoadingMask == 0)
    }

    @Test("the extracted .keras member has no name while Porter reads it (nothing to leave behind, even on SIGKILL)")
    func namelessMember() throws {
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path).filter { $0.hasPrefix("porter-keras") })
        let model = try KerasArchiveReader().read(Fixtures.url("hdf5/keras3_mlp.keras"), options: ReadOptions())
        let entry = try #require(model.tensors["layers/dense/vars/0"])
        guard case let .file(open, _) = entry.tensor.storage.backing else { Issue.record("not a file range"); return }
        #expect(open.path.hasPrefix("/proc/self/fd/"))
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/fd/\(open.fd)", &buf, buf.count - 1)
        #expect(n > 0)
        let target = String(decoding: buf.prefix(max(0, n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        #expect(target.hasSuffix("(deleted)"), "\(target)")
        let after = Set(try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path).filter { $0.hasPrefix("porter-keras") })
        #expect(after.subtracting(before).isEmpty)
        #expect(entry.tensor.storage.label.hasPrefix(Fixtures.url("hdf5/keras3_mlp.keras").path + ": member model.weights.h5"))
    }

    @Test("reader child limits: max(2 GiB, 4 × file size) and 30 s + 1 s per 16 MiB, overridable by environment")
    func limits() {
        let small = HDF5Isolation.Limits.forFile(size: 1000, environment: [:])
        #expect(small == HDF5Isolation.Limits(memoryBytes: 2 << 30, seconds: 30 + 1000 / Double(16 << 20)))
        #expect(HDF5Isolation.Limits.forFile(size: 1 << 30, environment: [:]) == HDF5Isolation.Limits(memoryBytes: 4 << 30, seconds: 30 + 64))
        let env = HDF5Isolation.Limits.forFile(size: 1000, environment: [HDF5Isolation.Limits.memoryVariable: "512M",
                                                                         HDF5Isolation.Limits.timeVariable: "2.5"])
        #expect(env == HDF5Isolation.Limits(memoryBytes: 512 << 20, seconds: 2.5))
        let bad = HDF5Isolation.Limits.forFile(size: 1000, environment: [HDF5Isolation.Limits.memoryVariable: "lots",
                                                                         HDF5Isolation.Limits.timeVariable: "-1"])
        #expect(bad == small)
    }
}
