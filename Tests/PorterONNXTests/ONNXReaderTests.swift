import Foundation
import PorterCore
@testable import PorterONNX
import PorterPipeline
import PorterTestSupport
import Testing

/// The fixtures torch.onnx.export and onnx.helper wrote read back as onnx itself read them
/// (expected.json): names, dtypes, shapes and bytes of every numeric initializer.
@Suite struct ONNXReaderTests {
    static let expected: [String: JSONValue] = (try? Fixtures.json("onnx/expected.json").objectValue) ?? [:]

    static func read(_ name: String) throws -> NeutralModel {
        try ONNXReader().read(Fixtures.url("onnx/" + name), options: ReadOptions())
    }

    @Test(arguments: expected.keys.sorted())
    func initializersEqualWhatONNXRead(_ file: String) throws {
        let url = Fixtures.url("onnx/" + file)
        #expect(ONNXReader().probe(try ProbeInput.load(url)) == .certain)
        let model = try Self.read(file)
        let want = try #require(Self.expected[file]?["tensors"]?.objectValue)
        // Constants the imported graph reads as data are model tensors too, marked as such.
        let initializers = model.tensors.filter { !$0.provenance.transforms.contains(.graphConstant) }.map(\.name)
        #expect(Set(initializers) == Set(want.keys))
        for (name, w) in want {
            let t = try #require(model.tensors[name], "\(file): \(name) missing").tensor
            #expect(t.dtype.rawValue == w["dtype"]?.stringValue, "\(file): \(name)")
            #expect(t.shape.dims == w["shape"]?.arrayValue?.compactMap(\.intValue), "\(file): \(name)")
            #expect(try tensorDigest(t) == w["sha256"]?.stringValue, "\(file): \(name) bytes")
        }
        let facts = try #require(Self.expected[file])
        #expect(model.metadata["onnx.ir_version"] == facts["ir_version"]?.intValue.map(String.init))
        #expect(model.metadata["onnx.producer"] == facts["producer"]?.stringValue)
        let ops = Set((model.metadata["onnx.ops"] ?? "").split(separator: " ").map { String($0.split(separator: "×")[0]) })
        #expect(ops == Set(facts["ops"]?.arrayValue?.compactMap(\.stringValue) ?? []))
        for (domain, version) in facts["opset_import"]?.objectValue ?? [:] {
            #expect(model.metadata["onnx.opset_import"]?.contains("\(domain) \(version.intValue ?? -1)") == true)
        }
    }

    /// raw_data stays in the file: the storage is a range of the mapped `.onnx`, and the
    /// bytes at that range are the tensor's.
    @Test func rawDataIsALazyViewOfTheFile() throws {
        let model = try Self.read("cnn_tiny.onnx")
        let file = [UInt8](try Data(contentsOf: Fixtures.url("onnx/cnn_tiny.onnx")))
        let entry = try #require(model.tensors["c1.weight"])
        guard case let .file(open, offset) = entry.tensor.storage.backing else {
            Issue.record("c1.weight is not file-backed")
            return
        }
        #expect(open.path == Fixtures.url("onnx/cnn_tiny.onnx").path)
        #expect(entry.tensor.byteCount == 4 * 3 * 3 * 3 * 4)
        #expect(Array(file[offset..<(offset + entry.tensor.byteCount)]) == (try entry.tensor.contiguousBytes()))
    }

    /// Typed fields decode by onnx.proto's rules: narrow kinds in int32_data's low bits,
    /// float16/bfloat16 as bit patterns, uint32 in uint64_data, complex64 as float pairs.
    @Test func typedFieldValues() throws {
        let model = try Self.read("typed_fields.onnx")
        let values = try #require(Self.expected["typed_fields.onnx"]?["values"])
        func ints<T: FixedWidthInteger>(_ name: String, _: T.Type) throws -> [Int] {
            let b = try #require(model.tensors[name]).tensor.contiguousBytes()
            return b.withUnsafeBytes { raw in (0..<(b.count / MemoryLayout<T>.size)).map { Int(raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) } }
        }
        #expect(try ints("int64_data", Int64.self) == values["int64_data"]?.arrayValue?.compactMap(\.intValue))
        #expect(try ints("int16_in_int32", Int16.self) == values["int16_in_int32"]?.arrayValue?.compactMap(\.intValue))
        #expect(try ints("uint8_in_int32", UInt8.self) == values["uint8_in_int32"]?.arrayValue?.compactMap(\.intValue))
        #expect(try ints("bool_in_int32", UInt8.self) == values["bool_in_int32"]?.arrayValue?.compactMap(\.intValue))
        #expect(try ints("bfloat16_in_int32", UInt16.self) == values["bfloat16_in_int32_bits"]?.arrayValue?.compactMap(\.intValue))
        for name in ["float16_in_int32", "bfloat16_in_int32", "double_data"] {
            let got = try #require(model.tensors[name]).tensor
            let want = values[name]?.arrayValue?.compactMap(\.doubleValue) ?? []
            if got.dtype == .f64 {
                let b = try got.contiguousBytes()
                let d = b.withUnsafeBytes { raw in (0..<3).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) } }
                #expect(d == want, "\(name)")
            } else {
                #expect(try got.floatValues().map(Double.init) == want, "\(name)")
            }
        }
        #expect(model.tensors["scalar_int64"]?.tensor.shape.dims == [])
        #expect(model.tensors["empty_float"]?.tensor.byteCount == 0)
        let words = try #require(model.dropped.first { $0.name == "words" })
        #expect(words.reason.contains("STRING"))
    }

    /// External data is read from the file `location` names, inside the model's folder;
    /// the tensors equal the inline model's.
    @Test func externalDataMatchesTheInlineModel() throws {
        let ext = try Self.read("cnn_external.onnx")
        let inline = try Self.read("cnn_tiny.onnx")
        #expect(ext.sourceFiles.contains { $0.hasSuffix("cnn_external.data") })
        #expect(ext.tensors.names.sorted() == inline.tensors.names.sorted())
        for e in inline.tensors {
            #expect(try tensorDigest(try #require(ext.tensors[e.name]).tensor) == tensorDigest(e.tensor), "\(e.name)")
            #expect(ext.tensors[e.name]?.provenance.sourceFile.hasSuffix("cnn_external.data") == true)
        }
    }

    @Test(arguments: [("ext_dotdot.onnx", "'..'"), ("ext_absolute.onnx", "absolute path")])
    func externalLocationsOutsideTheFolderAreRefused(_ file: String, _ fragment: String) throws {
        do {
            _ = try Self.read(file)
            Issue.record("\(file) was read")
        } catch let error as ONNXError {
            guard case let .externalDataRefused(path, tensor, _, _) = error else {
                Issue.record("\(file): \(error)")
                return
            }
            #expect(path.hasSuffix(file) && tensor == "w")
            #expect(error.localizedDescription.contains(fragment))
        }
    }

    /// A location that is a symbolic link out of the folder is refused; the same name as a
    /// regular file inside reads (8 bytes for FLOAT[2]).
    @Test func symbolicLinksOutOfTheFolderAreRefused() throws {
        let root = try Fixtures.scratchDirectory("porter-onnx-link")
        defer { try? FileManager.default.removeItem(at: root) }
        let model = root.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        let onnx = model.appendingPathComponent("m.onnx")
        try FileManager.default.copyItem(at: Fixtures.url("onnx/ext_escape.onnx"), to: onnx)
        let outside = root.appendingPathComponent("secret.bin")
        try Data([UInt8](repeating: 7, count: 8)).write(to: outside)
        let link = model.appendingPathComponent("escape.bin")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: outside)
        #expect {
            _ = try ONNXReader().read(onnx, options: ReadOptions())
        } throws: { error in
            guard case let .externalDataRefused(_, tensor, location, reason)? = error as? ONNXError else { return false }
            return tensor == "w" && location == "escape.bin" && reason.contains("symbolic link")
        }
        try FileManager.default.removeItem(at: link)
        var floats: [Float] = [1.5, -2]
        try Data(bytes: &floats, count: 8).write(to: link)
        let m = try ONNXReader().read(onnx, options: ReadOptions())
        #expect(try m.tensors["w"]?.tensor.floatValues() == [1.5, -2])
    }

    /// inspect's facts: inputs and outputs with their symbolic dims, and the op histogram.
    @Test func graphFactsForInspect() throws {
        let model = try Self.read("bert_tiny.onnx")
        #expect(model.metadata["onnx.inputs"] == "input_ids: INT64[batch, sequence]; attention_mask: INT64[batch, sequence]")
        #expect(model.metadata["onnx.outputs"] == "last_hidden_state: FLOAT[batch, sequence, 16]")
        #expect(model.metadata["onnx.ops"]?.contains("LayerNormalization×3") == true)
        #expect(model.metadata["onnx.opset_import"] == "ai.onnx 17")
    }

    @Test func theDefaultRegistryPicksTheONNXReader() throws {
        let reader = try FormatRegistry.porterDefault.reader(for: Fixtures.url("onnx/bert_tiny.onnx"))
        #expect(reader.info.id == "onnx")
        #expect(ONNXReader().probe(try ProbeInput.load(Fixtures.url("onnx/expected.json"))) == .no)
    }
}
