import Foundation
import PorterCore
import PorterPickle
@testable import PorterPyTorch
import PorterTestSupport
import Testing

/// Builds pre-1.0 torch tar files byte by byte, so each malformed case differs from a
/// valid file in exactly one place.
struct TorchTarBuilder {
    var storages: [(key: Int, cls: String, numel: Int, data: [UInt8])] = [(2000, "FloatStorage", 4, floats([1, 2, 3, 4]))]
    var views: [(Int, Int, Int, Int)] = []
    var tensors: [(key: Int, storage: Int, size: [Int], stride: [Int], offset: Int)] = [(1000, 2000, [2, 2], [2, 1], 0)]
    var object: [UInt8] = TorchTarBuilder.stateDict(["w": "1000"])
    var sysInfoLittleEndian = true
    var members = ["sys_info", "pickle", "tensors", "storages"]

    static func floats(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
    static func le64(_ v: Int) -> [UInt8] { withUnsafeBytes(of: Int64(v).littleEndian, Array.init) }
    static func unicode(_ s: String) -> [UInt8] { [0x58] + withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian, Array.init) + Array(s.utf8) }
    static func int(_ v: Int) -> [UInt8] { [0x4A] + withUnsafeBytes(of: Int32(v).littleEndian, Array.init) }
    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    static func pickle(_ body: [UInt8]) -> [UInt8] { [0x80, 0x02] + body + [0x2E] }

    /// `{name: persistent id}`, protocol 2.
    static func stateDict(_ entries: [String: String]) -> [UInt8] {
        var body: [UInt8] = [0x7D, 0x28]  // EMPTY_DICT MARK
        for (k, pid) in entries.sorted(by: { $0.key < $1.key }) { body += unicode(k) + unicode(pid) + [0x51] }  // BINPERSID
        return pickle(body + [0x75])  // SETITEMS
    }

    func memberBytes(_ name: String) -> [UInt8] {
        switch name {
        case "sys_info":
            return Self.pickle([0x7D] + Self.unicode("little_endian") + [sysInfoLittleEndian ? 0x88 : 0x89, 0x73])
        case "pickle": return object
        case "tensors":
            var out = Self.pickle(Self.int(tensors.count))
            for t in tensors {
                out += Self.pickle(Self.int(t.key) + Self.int(t.storage) + Self.global("torch", "FloatTensor") + [0x87])
                out += Self.le64(t.size.count) + t.size.flatMap(Self.le64) + t.stride.flatMap(Self.le64) + Self.le64(t.offset)
            }
            return out
        default:
            var out = Self.pickle(Self.int(storages.count))
            for s in storages {
                out += Self.pickle(Self.int(s.key) + Self.unicode("cpu") + Self.global("torch", s.cls) + [0x87])
                out += Self.le64(s.numel) + s.data
            }
            // [ (view, root, offset, numel), ... ]: EMPTY_LIST MARK (MARK int×4 TUPLE)… APPENDS
            var list: [UInt8] = [0x5D, 0x28]
            for v in views {
                list += [0x28]
                for n in [v.0, v.1, v.2, v.3] { list += Self.int(n) }
                list += [0x74]
            }
            return out + Self.pickle(list + [0x65])
        }
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        for name in members {
            let data = memberBytes(name)
            out += Self.header(name: name, size: data.count) + data
            out += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
        return out + [UInt8](repeating: 0, count: 1024)
    }

    static func header(name: String, size: Int, type: UInt8 = 0x30) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, at offset: Int) { for (i, b) in s.utf8.enumerated() { h[offset + i] = b } }
        put(name, at: 0)
        put("0000644", at: 100)
        put("0000000", at: 108)
        put("0000000", at: 116)
        put(String(repeating: "0", count: 11 - String(size, radix: 8).count) + String(size, radix: 8), at: 124)
        put("00000000000", at: 136)
        h[156] = type
        put("ustar", at: 257)
        put("00", at: 263)
        for i in 148..<156 { h[i] = 0x20 }
        let sum = h.reduce(0) { $0 + Int($1) }
        put(String(repeating: "0", count: 6 - String(sum, radix: 8).count) + String(sum, radix: 8), at: 148)
        h[154] = 0
        return h
    }

    func write(_ name: String) throws -> URL {
        let dir = try Fixtures.scratchDirectory("porter-tar")
        let url = dir.appendingPathComponent(name)
        try Data(bytes()).write(to: url)
        return url
    }
}

@Suite struct TorchTarTests {
    @Test func fixtureIsATarWithAStorageView() throws {
        let ckpt = try TorchCheckpoint.open(Fixtures.url("pytorch/legacy_tar.pt"))
        #expect(ckpt.kind == .legacyTar)
        #expect(ckpt.notes.contains { $0.contains("storage view") })
        let model = try ckpt.neutralModel()
        #expect(model.config["epoch"] == 3)
        #expect(model.tensors["weight_t"]?.tensor.strides == [1, 4])
        #expect(model.tensors["row"]?.tensor.offset == 4)
        // in_window is elements 2..7 of a 10-element f64 storage: offset 2 in the root.
        #expect(model.tensors["in_window"]?.tensor.offset == 2)
        #expect(model.tensors["scalar"]?.tensor.shape.rank == 0)
    }

    @Test func fixtureScansSafeWithEveryMember() throws {
        let report = try PickleScanner.scan(url: Fixtures.url("pytorch/legacy_tar.pt"))
        #expect(report.format == "torch-legacy-tar")
        #expect(report.verdict == .safe, "\(report.findings)")
        #expect(report.pickles == ["sys_info", "pickle", "storages", "tensors"])
        #expect(report.globals.contains { $0.global == "torch.FloatTensor" && $0.classification == "allowed" })
        // One row per global and member, counts summed over the member's small pickles.
        #expect(report.globals.first { $0.global == "torch.FloatTensor" }?.count == 4)
    }

    @Test func builtFileReads() throws {
        let url = try TorchTarBuilder().write("ok.pt")
        let model = try PyTorchReader().read(url, options: ReadOptions())
        let w = try #require(model.tensors["w"]?.tensor)
        #expect(w.shape.dims == [2, 2])
        #expect(try w.contiguousBytes() == TorchTarBuilder.floats([1, 2, 3, 4]))
    }

    @Test func viewsResolveIntoTheirRoot() throws {
        var b = TorchTarBuilder()
        b.storages = [(2000, "FloatStorage", 6, TorchTarBuilder.floats([0, 1, 2, 3, 4, 5]))]
        b.views = [(3000, 2000, 2, 3)]
        b.tensors = [(1000, 3000, [3], [1], 0), (1001, 2000, [6], [1], 0)]
        b.object = TorchTarBuilder.stateDict(["v": "1000", "all": "1001"])
        let model = try PyTorchReader().read(try b.write("view.pt"), options: ReadOptions())
        #expect(try model.tensors["v"]?.tensor.contiguousBytes() == TorchTarBuilder.floats([2, 3, 4]))
        #expect(model.tensors["v"]?.tensor.storage === model.tensors["all"]?.tensor.storage)
    }

    /// Each case: a builder change and words the error must contain.
    static let malformed: [(String, @Sendable (inout TorchTarBuilder) -> Void, String)] = [
        ("tensor past its storage", { $0.tensors[0].size = [3, 2] }, "reaches element 5"),
        ("tensor past its view", { b in
            b.views = [(3000, 2000, 1, 2)]
            b.tensors = [(1000, 3000, [3], [1], 0)]
        }, "reaches element 2"),
        ("view past its root", { $0.views = [(3000, 2000, 3, 2)] }, "overruns storage 2000"),
        ("view of a missing root", { $0.views = [(3000, 2001, 0, 1)] }, "names root 2001"),
        ("unknown storage", { $0.tensors[0].storage = 2001 }, "names storage 2001"),
        ("unknown persistent id", { $0.object = TorchTarBuilder.stateDict(["w": "999"]) }, "no tensor or storage 999"),
        ("storage bytes past the member", { $0.storages[0].numel = 6 }, "needed 24 bytes"),
        ("huge element count", { $0.storages[0].numel = Int(Int64.max / 2) }, "storage 2000"),
        ("negative element count", { $0.storages[0].numel = -1 }, "negative"),
        ("storage class without a dtype", { $0.storages[0].cls = "QInt8Storage" }, "QInt8Storage"),
        ("missing storages member", { $0.members.removeLast() }, "no entry storages"),
        ("missing object pickle", { $0.members.remove(at: 1) }, "no entry pickle"),
        ("big-endian sys_info", { $0.sysInfoLittleEndian = false }, "big-endian"),
        ("rank too high", { b in b.tensors[0].size = Array(repeating: 1, count: 65); b.tensors[0].stride = Array(repeating: 1, count: 65) }, "rank 65"),
    ]

    @Test(arguments: malformed.indices)
    func malformedFilesGiveTypedErrors(_ index: Int) throws {
        let (name, change, words) = Self.malformed[index]
        var b = TorchTarBuilder()
        change(&b)
        let url = try b.write("bad.pt")
        do {
            let model = try PyTorchReader().read(url, options: ReadOptions())
            for e in model.tensors { _ = try tensorDigest(e.tensor) }
            Issue.record("\(name): read without error")
        } catch {
            let text = (error as? LocalizedError)?.errorDescription ?? "\(error)"
            #expect(text.contains(words), "\(name): \(text)")
            #expect(text.contains(url.path), "\(name): \(text)")
        }
    }

    static func corrupt(_ edit: (inout [UInt8]) -> Void) throws -> URL {
        var bytes = TorchTarBuilder().bytes()
        edit(&bytes)
        let url = try Fixtures.scratchDirectory("porter-tar").appendingPathComponent("corrupt.pt")
        try Data(bytes).write(to: url)
        return url
    }

    @Test func tarLevelDamageIsNamedWithItsOffset() throws {
        let cases: [(String, (inout [UInt8]) -> Void, String)] = [
            ("checksum", { $0[1024 + 3] ^= 0x01 }, "at byte 1024: header checksum"),  // second header's name
            ("size past the end", { b in
                // Rewrite the storages header's size field (4th member) to 0o7777777 bytes.
                let h = 512 * 6
                for (i, c) in "07777777777".utf8.enumerated() { b[h + 124 + i] = c }
                var sum = 0
                for i in 0..<512 { sum += (148..<156).contains(i) ? 0x20 : Int(b[h + i]) }
                let text = String(repeating: "0", count: 6 - String(sum, radix: 8).count) + String(sum, radix: 8)
                for (i, c) in text.utf8.enumerated() { b[h + 148 + i] = c }
            }, "runs past the end of the file"),
            ("cut inside a header", { $0 = Array($0[0..<(512 * 2 + 100)]) }, "ends inside a header"),
        ]
        for (name, edit, words) in cases {
            let url = try Self.corrupt(edit)
            #expect(throws: PyTorchError.self, "\(name)") { try TorchCheckpoint.open(url) }
            do { _ = try TorchCheckpoint.open(url) } catch {
                let text = (error as? LocalizedError)?.errorDescription ?? ""
                #expect(text.contains(words), "\(name): \(text)")
            }
        }
    }

    @Test func paxPathAndSizeRecordsApply() throws {
        // A PAX header renaming the next member; torch's own writer uses PAX format.
        let b = TorchTarBuilder()
        var out: [UInt8] = []
        for name in b.members {
            let data = b.memberBytes(name)
            let record = Array(" path=\(name)\n".utf8)
            let length = record.count + String(record.count + 2).count
            let pax = Array("\(length)".utf8) + record
            out += TorchTarBuilder.header(name: "PaxHeader", size: pax.count, type: UInt8(ascii: "x")) + pax
            out += [UInt8](repeating: 0, count: 512 - pax.count)
            out += TorchTarBuilder.header(name: "ignored-\(name)", size: data.count) + data
            out += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
        }
        let url = try Fixtures.scratchDirectory("porter-tar").appendingPathComponent("pax.pt")
        try Data(out + [UInt8](repeating: 0, count: 1024)).write(to: url)
        let model = try PyTorchReader().read(url, options: ReadOptions())
        #expect(model.tensors.names == ["w"])
    }
}
