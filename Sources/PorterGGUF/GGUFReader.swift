import Foundation
import PorterArchitectures
import PorterCore

/// Reads a GGUF file (versions 2 and 3, little-endian) into a `NeutralModel`.
///
/// F32, F16, BF16, F64 and the integer types stay in the file as lazy ranges of one shared
/// `OpenFile` (zero-copy). Block-quantized tensors (Q4_0 … Q8_0, Q2_K … Q6_K) are
/// dequantized to `f32` when a writer or the verifier asks, bit-equal to gguf-py's
/// `gguf.quants.dequantize`. Shapes are row-major (ggml's dimension order reversed).
/// The metadata becomes the model's config, one entry per key, typed.
public struct GGUFReader: ModelReader, ConversionPreparing {
    public init() {}

    /// `--to hf`: transformers' `config.json` from the metadata and the mapping back to
    /// transformers' names, both from the descriptor of `general.architecture` (the
    /// architecture registry decides; no family table here). Other writers get the model as
    /// read. A key config.json needs that the metadata lacks is a `badMetadata` naming it.
    public func prepared(_ model: NeutralModel, forWriter writer: String) throws -> (model: NeutralModel, mapping: String?)? {
        guard writer == "hf", let metadata = model.config.objectValue else { return nil }
        let file = model.sourceFiles.first ?? "the GGUF file"
        guard let arch = metadata["general.architecture"]?.stringValue else {
            throw GGUFError.badMetadata(file: file, key: "general.architecture", reason: "is missing, so Porter cannot tell which transformers architecture to write")
        }
        guard let d = ArchitectureRegistry.standard.descriptor(ggufArchitecture: arch), let mapping = d.ggufInverseMapping else {
            throw GGUFError.badMetadata(file: file, key: "general.architecture",
                                        reason: "'\(arch)' has no transformers config Porter can write (GGUF → hf covers llama, qwen2, qwen3, phi3; see docs/formats/gguf.md)")
        }
        let config: JSONValue?
        do {
            config = try d.hfConfig(fromGGUF: metadata, tensorNames: Set(model.tensors.names))
        } catch let ArchitectureError.badConfig(_, key, detail) {
            throw GGUFError.badMetadata(file: file, key: key, reason: detail)
        }
        guard var config else { return nil }
        // Tensors llama.cpp computed from the config (Llama 3's rope_freqs.weight) go back into it.
        var computed: [String: [Float]] = [:]
        for name in d.ggufComputedTensorNames {
            guard let e = model.tensors[name] else { continue }
            guard e.tensor.shape.rank == 1, e.tensor.elementCount <= 1 << 16 else {
                throw GGUFError.badMetadata(file: file, key: name, reason: "is \(e.tensor.shape), not a vector of rotary factors")
            }
            computed[name] = try e.tensor.floatValues()
        }
        if !computed.isEmpty {
            do {
                config = try d.hfConfig(config, fromGGUFComputedTensors: computed)
            } catch let ArchitectureError.badConfig(_, key, detail) {
                throw GGUFError.badMetadata(file: file, key: key, reason: detail)
            }
        }
        var out = model
        out.config = config
        let tokenizer = try GGUFTokenizer.assets(fromMetadata: metadata, file: file)
        out.assets.removeAll { a in tokenizer.contains { $0.fileName == a.fileName } }
        out.assets += tokenizer
        if !tokenizer.isEmpty {
            out.notes.append("tokenizer.ggml.* written as tokenizer.json + tokenizer_config.json")
            out.notes += GGUFTokenizer.notes(fromMetadata: metadata, file: file)
        }
        return (out, mapping)
    }

    public var info: FormatInfo {
        FormatInfo(id: "gguf", name: "GGUF", extensions: [".gguf"],
                   summary: "llama.cpp / ggml GGUF v2 and v3: metadata + F32/F16/BF16 and Q4_0…Q8_0, Q2_K…Q6_K tensors (dequantized to f32)")
    }

    public func probe(_ input: ProbeInput) -> ProbeConfidence {
        if input.isDirectory { return Self.firstSplit(in: input.entries) != nil ? .certain : .no }
        if input.headStarts(with: GGUFFormat.magic) { return .certain }
        return input.url.pathExtension == "gguf" ? .likely : .no
    }

    public func read(_ url: URL, options: ReadOptions = ReadOptions()) throws -> NeutralModel {
        let first = try Self.resolve(url)
        let file = try OpenFile(path: first.path)
        let gguf = try GGUFFile.parse(file)
        guard let count = gguf.value("split.count")?.unsignedValue, count > 1 else { return try Self.model(of: gguf, file: file) }
        return try Self.readSplits(first: gguf, file: file, count: Int(count))
    }

    /// `model-00001-of-00003.gguf` → ("model", 1, 3).
    static func splitName(_ name: String) -> (prefix: String, index: Int, count: Int)? {
        guard name.hasSuffix(".gguf") else { return nil }
        let stem = name.dropLast(5)
        let parts = stem.components(separatedBy: "-")
        guard parts.count >= 4, parts[parts.count - 2] == "of",
              let i = Int(parts[parts.count - 3]), let n = Int(parts[parts.count - 1]),
              parts[parts.count - 3].count == 5, parts[parts.count - 1].count == 5 else { return nil }
        return (parts.dropLast(3).joined(separator: "-"), i, n)
    }

    /// The first split file of a folder (`*-00001-of-0000N.gguf`), when there is exactly one set.
    static func firstSplit(in entries: Set<String>) -> String? {
        let firsts = entries.filter { splitName($0)?.index == 1 }
        return firsts.count == 1 ? firsts.first : nil
    }

    /// A folder holding a split set resolves to its first split; a file to itself.
    static func resolve(_ url: URL) throws -> URL {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw CoreError.cannotOpen(path: url.path, reason: "no such file or folder")
        }
        guard isDir.boolValue else { return url }
        let entries = Set((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [])
        guard let first = firstSplit(in: entries) else { throw CoreError.notAFile(path: url.path) }
        return url.appendingPathComponent(first)
    }

    /// Reads every split of a set whose first split is `first`: metadata from the first,
    /// tensors from all, with the `split.*` keys checked against each other.
    static func readSplits(first: GGUFFile, file: OpenFile, count: Int) throws -> NeutralModel {
        let url = URL(fileURLWithPath: first.path)
        guard let name = splitName(url.lastPathComponent), name.index == 1, name.count == count else {
            throw GGUFError.badSplit(file: first.path, reason: "split.count is \(count) but the file is not named <prefix>-00001-of-\(GGUFWriter.padded(count)).gguf")
        }
        guard first.value("split.no")?.unsignedValue == 0 else {
            throw GGUFError.badSplit(file: first.path, reason: "the first split's split.no is not 0")
        }
        var model = try model(of: first, file: file)
        var store = model.tensors
        var files = [first.path]
        for i in 2...count {
            let splitURL = url.deletingLastPathComponent().appendingPathComponent("\(name.prefix)-\(GGUFWriter.padded(i))-of-\(GGUFWriter.padded(count)).gguf")
            guard FileManager.default.fileExists(atPath: splitURL.path) else {
                throw GGUFError.missingSplit(file: first.path, split: splitURL.lastPathComponent)
            }
            let f = try OpenFile(path: splitURL.path)
            let g = try GGUFFile.parse(f)
            guard g.value("split.no")?.unsignedValue == UInt64(i - 1), g.value("split.count")?.unsignedValue == UInt64(count) else {
                throw GGUFError.badSplit(file: g.path, reason: "split.no / split.count do not say split \(i) of \(count)")
            }
            for e in try Self.model(of: g, file: f).tensors {
                do { try store.add(e) } catch { throw GGUFError.duplicateTensor(file: g.path, offset: 0, tensor: e.name) }
            }
            files.append(g.path)
        }
        if let total = first.value("split.tensors.count")?.unsignedValue, total != UInt64(store.count) {
            throw GGUFError.badSplit(file: first.path, reason: "split.tensors.count is \(total) but the splits hold \(store.count) tensors")
        }
        model.tensors = store
        model.sourceFiles = files
        if case var .object(config) = model.config {
            for k in config.keys where k.hasPrefix("split.") { config.removeValue(forKey: k) }
            model.config = .object(config)
        }
        model.notes.append("read \(count) splits")
        return model
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
        _ = try read(url)
        return []
    }

    /// A chat template is a Jinja program that chat front-ends run: worth reviewing.
    public func reviews(of url: URL) throws -> [String] {
        let gguf = try GGUFFile.parse(try OpenFile(path: Self.resolve(url).path))
        return Self.chatTemplates(gguf).map {
            "key '\($0.key)' holds a \($0.text.utf8.count)-byte Jinja chat template: executable code that chat front-ends run; review it before use"
        }
    }
}
