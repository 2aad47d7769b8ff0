import Foundation
import PorterCore
import PorterPipeline
import PorterTestSupport
import Testing

/// Hand-built inputs that random mutation rarely produces: deep nesting, huge shapes and
/// element counts. Each must end in a described error, or in success that round-trips.
@Suite struct HostileInputTests {
    static func safetensors(header: String, data: Int = 0) -> Data {
        var out = Data()
        let h = Data(header.utf8)
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
        return out + h + Data(count: data)
    }

    static let cases: [(name: String, bytes: Data, message: String?)] = [
        // 200,000 nested lists (EMPTY_LIST ×N, APPEND ×N-1): a recursion bomb for anything that walks values.
        ("deep_list.pkl", Data([0x80, 0x02] + [UInt8](repeating: 0x5D, count: 200_000) + [UInt8](repeating: 0x61, count: 199_999) + [0x2E]),
         "nested deeper than"),
        // 200,000 MARKs.
        ("marks.pkl", Data([0x80, 0x02] + [UInt8](repeating: 0x28, count: 200_000) + [0x29, 0x2E]), "nested MARKs"),
        // LONG_BINPUT / LONG_BINGET at memo index 0xFFFFFFFF and BINUNICODE with a 4 GiB length.
        ("memo.pkl", Data([0x80, 0x02, 0x4E, 0x72, 0xFF, 0xFF, 0xFF, 0xFF, 0x6A, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]), nil),
        ("unicode.pkl", Data([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0xFF, 0x61, 0x2E]), nil),
        ("huge_shape.safetensors", safetensors(header: #"{"t":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,0]}}"#), "shape"),
        ("huge_product.safetensors", safetensors(header: #"{"t":{"dtype":"F64","shape":[2147483648,2147483648,2147483648],"data_offsets":[0,0]}}"#), "shape"),
        ("deep_json.safetensors",
         safetensors(header: #"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}}", data: 4),
         "nested"),
    ]

    @Test(arguments: cases.indices)
    func hostileInputIsRefusedWithADescribedError(_ index: Int) throws {
        let (name, bytes, message) = Self.cases[index]
        let dir = try Fixtures.scratchDirectory("porter-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(name)
        try bytes.write(to: url)
        do {
            let (_, model) = try Pipeline().read(url)
            for entry in model.tensors { _ = try tensorDigest(entry.tensor) }
            #expect(message == nil, "\(name) was accepted; expected an error mentioning '\(message ?? "")'")
        } catch {
            let text = (error as? LocalizedError)?.errorDescription ?? ""
            #expect(text.contains(name), "\(name): \(text)")
            if let message { #expect(text.contains(message), "\(name): \(text)") }
        }
    }

    /// A zero-element tensor with huge other dimensions holds no bytes; it must convert and re-read
    /// without any stride or byte-count arithmetic overflowing.
    @Test(arguments: ["safetensors", "pytorch", "porter"])
    func zeroElementTensorWithHugeDimensionsRoundTrips(_ format: String) throws {
        let dir = try Fixtures.scratchDirectory("porter-hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("zero.safetensors")
        try Self.safetensors(header: #"{"t":{"dtype":"F32","shape":[0,4611686018427387904,4611686018427387904],"data_offsets":[0,0]}}"#).write(to: source)
        let output = dir.appendingPathComponent("out.\(format)")
        _ = try Pipeline().convert(ConvertRequest(source: source, output: output, to: format))
        let report = try Pipeline().inspect(output)
        #expect(report.tensors.map(\.shape) == [[0, 4_611_686_018_427_387_904, 4_611_686_018_427_387_904]])
        #expect(report.totalBytes == 0)
    }
}
