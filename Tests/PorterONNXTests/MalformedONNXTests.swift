import Foundation
import PorterCore
@testable import PorterONNX
import PorterTestSupport
import Testing

/// Damaged and hostile `.onnx` bytes: a typed ONNXError naming the file (and the tensor and
/// byte offset where there is one), never a crash, hang or out-of-bounds read.
@Suite struct MalformedONNXTests {
    static let float4: [UInt8] = [0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64]

    static func nested(_ depth: Int) -> PB {
        // graph → node → attribute(g) → graph … `depth` graphs deep.
        var g = PB()
        g.string(2, "leaf")
        for _ in 0..<depth {
            var a = PB()
            a.string(1, "body")
            a.int(20, 5)
            a.message(6, g)
            var n = PB()
            n.string(4, "If")
            n.message(5, a)
            g = PB()
            g.message(1, n)
        }
        return g
    }

    static let cases: [(String, [UInt8], String)] = {
        let valid = PB.model(initializers: [PB.tensor("w", dims: [4], type: 1, raw: float4)])
        var huge = PB()
        huge.int(1, 8)
        huge.tag(7, 2)
        huge.bytes += PB.varint(1 << 40)
        var graphAsVarint = PB()
        graphAsVarint.int(7, 3)
        var deep = PB()
        deep.int(1, 8)
        deep.message(7, nested(20))
        var oddFloats = PB.tensor("w", dims: [1], type: 1)
        oddFloats.data(4, [1, 2, 3, 4, 5])
        return [
            ("truncated", Array(valid.dropLast(3)), "claims"),
            ("bad varint", [0x08] + [UInt8](repeating: 0xFF, count: 11), "malformed varint"),
            ("wire type 6", [0x0E, 0x00], "wire type 6"),
            ("wire type 3 (group)", [0x0B], "wire type 3"),
            ("length past the file", huge.bytes, "claims 1099511627776 bytes"),
            ("graph as a varint", graphAsVarint.bytes, "wire type 0"),
            ("no graph", [0x08, 0x08], "has no graph"),
            ("empty file", [], "has no graph"),
            ("negative dim", PB.model(initializers: [PB.tensor("w", dims: [-3], type: 1, raw: [])]), "'w' at byte"),
            ("dims overflow", PB.model(initializers: [PB.tensor("w", dims: [1 << 40, 1 << 40], type: 1, raw: [])]), "overflow"),
            ("byte size overflow", PB.model(initializers: [PB.tensor("w", dims: [1 << 61], type: 1, raw: [])]), "overflow"),
            ("raw_data short", PB.model(initializers: [PB.tensor("w", dims: [5], type: 1, raw: float4)]), "raw_data holds 16 but its dims need 20"),
            ("typed in the wrong field", PB.model(initializers: [PB.tensor("w", dims: [1], type: 7) { $0.float(4, 1) }]), "float_data cannot hold INT64"),
            ("raw and typed", PB.model(initializers: [PB.tensor("w", dims: [4], type: 1, raw: float4) { $0.float(4, 1) }]), "both raw_data and float_data"),
            ("typed count", PB.model(initializers: [PB.tensor("w", dims: [3], type: 1) { $0.float(4, 1); $0.float(4, 2) }]), "holds 2 but its dims need 3"),
            ("packed floats not a multiple of 4", PB.model(initializers: [oddFloats]), "claims 5 bytes"),
            ("duplicate", PB.model(initializers: [PB.tensor("w", dims: [4], type: 1, raw: float4), PB.tensor("w", dims: [4], type: 1, raw: float4)]), "second initializer named 'w'"),
            ("no data", PB.model(initializers: [PB.tensor("w", dims: [4], type: 1)]), "no raw_data, typed data or external data"),
            ("unnamed", PB.model(initializers: [PB.tensor(nil, dims: [4], type: 1, raw: float4)]), "has no name"),
            ("nesting too deep", deep.bytes, "nested 17 deep"),
            ("external with inline data", PB.model(initializers: [PB.tensor("w", dims: [4], type: 1, raw: float4) { $0.int(14, 1) }]), "also holds data inline"),
            ("external entries without EXTERNAL", PB.model(initializers: [PB.tensor("w", dims: [1], type: 1) { $0.message(13, PB.externalEntry("location", "x.bin")) }]), "data_location is not EXTERNAL"),
            ("external without location", PB.model(initializers: [PB.tensor("w", dims: [1], type: 1) { $0.int(14, 1) }]), "location=\"\""),
            ("external missing file", PB.model(initializers: [PB.tensor("w", dims: [1], type: 1) { $0.int(14, 1); $0.message(13, PB.externalEntry("location", "nothere.bin")) }]), "missing or cannot be opened"),
            ("external bad offset", PB.model(initializers: [PB.tensor("w", dims: [1], type: 1) { $0.int(14, 1); $0.message(13, PB.externalEntry("location", "data.bin")); $0.message(13, PB.externalEntry("offset", "-4")) }]), "offset=\"-4\""),
            ("external past the data file", PB.model(initializers: [PB.tensor("w", dims: [4], type: 1) { $0.int(14, 1); $0.message(13, PB.externalEntry("location", "data.bin")); $0.message(13, PB.externalEntry("offset", "8")) }]), "do not fit"),
            ("external length too short", PB.model(initializers: [PB.tensor("w", dims: [4], type: 1) { $0.int(14, 1); $0.message(13, PB.externalEntry("location", "data.bin")); $0.message(13, PB.externalEntry("length", "4")) }]), "do not fit"),
            ("external absolute", PB.model(initializers: [PB.tensor("w", dims: [1], type: 1) { $0.int(14, 1); $0.message(13, PB.externalEntry("location", "/etc/passwd")) }]), "absolute path"),
            ("external dotdot", PB.model(initializers: [PB.tensor("w", dims: [1], type: 1) { $0.int(14, 1); $0.message(13, PB.externalEntry("location", "sub/../../x")) }]), "'..'"),
        ]
    }()

    @Test(arguments: cases.map(\.0))
    func malformedBytesAreTypedErrors(_ label: String) throws {
        let (_, bytes, fragment) = try #require(Self.cases.first { $0.0 == label })
        let dir = try Fixtures.scratchDirectory("porter-onnx-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("bad.onnx")
        try Data(bytes).write(to: url)
        // An 8-byte data file for the external-data cases (16 bytes are needed for FLOAT[4]).
        try Data([UInt8](repeating: 1, count: 8)).write(to: dir.appendingPathComponent("data.bin"))
        do {
            let model = try ONNXReader().read(url, options: ReadOptions())
            // Nothing should have read; touch every tensor so lazy failures surface too.
            for e in model.tensors { _ = try e.tensor.contiguousBytes() }
            Issue.record("\(label): read succeeded")
        } catch let error as ONNXError {
            let text = error.localizedDescription
            #expect(text.contains(url.path), "\(label): \(text)")
            #expect(text.contains(fragment), "\(label): \(text)")
        }
    }

    /// Every prefix of a real exported model is a typed error (or, for prefixes that end on a
    /// field boundary, a successful read of fewer fields) — never a crash.
    @Test func everyTruncationOfACNNIsHandled() throws {
        let original = [UInt8](try Data(contentsOf: Fixtures.url("onnx/cnn_tiny.onnx")))
        let dir = try Fixtures.scratchDirectory("porter-onnx-trunc")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("t.onnx")
        var typed = 0
        for cut in stride(from: 0, to: original.count, by: 7) {
            try Data(original.prefix(cut)).write(to: url)
            do {
                let m = try ONNXReader().read(url, options: ReadOptions())
                for e in m.tensors { _ = try e.tensor.contiguousBytes() }
            } catch is ONNXError {
                typed += 1
            }
        }
        #expect(typed > 0)
    }

    /// Seeded byte damage of real exports (single bytes set, runs zeroed, varints maxed):
    /// success (a damaged payload is still bytes) or a described error; never a crash.
    @Test(arguments: ["bert_tiny.onnx", "cnn_tiny.onnx", "typed_fields.onnx"])
    func seededDamageIsHandled(_ file: String) throws {
        let original = [UInt8](try Data(contentsOf: Fixtures.url("onnx/" + file)))
        let dir = try Fixtures.scratchDirectory("porter-onnx-flip")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("m.onnx")
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(file.count)
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var errors = 0
        for round in 0..<200 {
            var b = original
            let at = next() % b.count
            switch round % 3 {
            case 0: b[at] = UInt8(truncatingIfNeeded: next())
            case 1: for i in at..<min(b.count, at + 8) { b[i] = 0 }
            default: for i in at..<min(b.count, at + 5) { b[i] = 0xFF }
            }
            try Data(b).write(to: url)
            do {
                let m = try ONNXReader().read(url, options: ReadOptions())
                for e in m.tensors { _ = try e.tensor.contiguousBytes() }
            } catch let error as LocalizedError {
                errors += 1
                #expect(error.errorDescription?.contains(url.path) == true || error is CoreError, "\(error)")
            }
        }
        #expect(errors > 0)
    }
}
