import Foundation
import PorterCore

/// Reads a GGUF file (versions 2 and 3, little-endian) into a `NeutralModel`.
///
/// F32, F16, BF16, F64 and the integer types stay in the file as lazy ranges of one shared
/// `OpenFile` (zero-copy). Block-quantized tensors (Q4_0 … Q8_0, Q2_K … Q6_K) are
/// dequantized to `f32` when a writer or the verifier asks, bit-equal to gguf-py's
/// `gguf.quants.dequantize`. Shapes are row-major (ggml's dimension order reversed).
/// The metadata becomes the model's config, one entry per key, typed.
public struct GGUFReader: ModelReader {
    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "gguf", name: "GGUF", extensions: [".gguf"],
                   summary: "llama.cpp / ggml GGUF v2 and v3: metadata + F32/F16/BF16 and Q4_0…Q8_0, Q2_K…Q6_K tensors (dequantized to f32)")
    }

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        guard !input.isDirectory else { return .no }
        if input.headStarts(with: GGUFFormat.magic) { return .certain }
        return input.url.pathExtension == "gguf" ? .likely : .no
    }

    public func read(_ url: URL, options: ReadOptions = ReadOptions()) throws -> NeutralModel {
        let file = try OpenFile(path: url.path)
        let gguf = try GGUFFile.parse(file)
        return try Self.model(of: gguf, file: file)
    }

    /// The neutral model of a parsed file whose bytes `file` holds.
    public static func model(of gguf: GGUFFile, file: OpenFile) throws -> NeutralModel {
        var store = TensorStore()
        var histogram: [String: Int] = [:]
        for t in gguf.tensors {
            let label = "\(gguf.path):\(t.name)"
            let ref: TensorRef
            switch t.type.storage {
            case let .plain(dtype)?:
                let storage = try TensorStorage.file(file, offset: t.start, count: t.byteCount, label: label)
                ref = TensorRef(dtype: dtype, shape: t.shape, storage: storage)
            case let .blocks(q)?:
                try file.checkRange(offset: t.start, count: t.byteCount)
                let (outBytes, o) = t.elementCount.multipliedReportingOverflow(by: 4)
                guard !o else { throw GGUFError.badShape(file: gguf.path, offset: t.infoOffset, tensor: t.name, dims: t.dims.map(UInt64.init), reason: "the f32 size overflows") }
                let start = t.start, count = t.byteCount, elements = t.elementCount
                let storage = TensorStorage(byteCount: outBytes, backing: .deferred({
                    try file.withMappedBytes(offset: start, count: count) { src in
                        var out = [UInt8](repeating: 0, count: elements * 4)
                        out.withUnsafeMutableBytes { raw in
                            BlockCodec.dequantize(q, src, into: raw.bindMemory(to: Float.self))
                        }
                        return out
                    }
                }), label: label)
                ref = TensorRef(dtype: .f32, shape: t.shape, storage: storage)
            case nil:
                throw GGUFError.unsupportedTensorType(file: gguf.path, tensor: t.name, type: t.type.rawValue, name: t.type.name)
            }
            histogram[t.type.description, default: 0] += 1
            try store.add(TensorEntry(name: t.name, tensor: ref, provenance: Provenance(sourceFile: gguf.path, sourceName: t.name)))
        }
        var config: [String: JSONValue] = [:]
        for (k, v) in gguf.metadata { config[k] = v.json }
        var notes = ["GGUF version \(gguf.version), alignment \(gguf.alignment), \(gguf.metadata.count) metadata keys"]
        notes.append("tensor types: " + histogram.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))
        let quantized = gguf.tensors.filter { if case .blocks? = $0.type.storage { return true }; return false }.count
        if quantized > 0 { notes.append("\(quantized) block-quantized tensor(s) dequantized to f32 on read (gguf-py's gguf.quants.dequantize)") }
        if let arch = gguf.value("general.architecture")?.stringValue { notes.append("architecture: \(arch)") }
        for key in ["tokenizer.ggml.model", "tokenizer.ggml.pre"] {
            if let v = gguf.value(key)?.stringValue { notes.append("\(key): \(v)") }
        }
        for (key, text) in chatTemplates(gguf) {
            notes.append("\(key): \(text.utf8.count)-byte Jinja chat template (executable; `porter scan` flags it for review)")
        }
        return NeutralModel(sourceFormat: "gguf", sourceFiles: [gguf.path], tensors: store, config: .object(config), notes: notes)
    }

    /// The chat templates (`tokenizer.chat_template` and `tokenizer.chat_template.<name>`) with their text.
    public static func chatTemplates(_ gguf: GGUFFile) -> [(key: String, text: String)] {
        gguf.metadata.compactMap { kv in
            guard kv.key == GGUFFormat.chatTemplateKey || kv.key.hasPrefix(GGUFFormat.chatTemplateKey + "."),
                  let text = kv.value.stringValue else { return nil }
            return (kv.key, text)
        }
    }
}

extension GGUFReader: HazardChecking, ReviewChecking {
    /// GGUF holds no pickle and names no other file: reading the header (every check of the
    /// reader) is the whole hazard check.
    public func hazards(of url: URL) throws -> [String] {
        _ = try GGUFFile.parse(try OpenFile(path: url.path))
        return []
    }

    /// A chat template is a Jinja program that chat front-ends run: worth reviewing.
    public func reviews(of url: URL) throws -> [String] {
        let gguf = try GGUFFile.parse(try OpenFile(path: url.path))
        return Self.chatTemplates(gguf).map {
            "key '\($0.key)' holds a \($0.text.utf8.count)-byte Jinja chat template: executable code that chat front-ends run; review it before use"
        }
    }
}
