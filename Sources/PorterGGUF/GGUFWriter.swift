import Foundation
import PorterArchitectures
import PorterCore

/// Writes a `NeutralModel` as one GGUF v3 file with 32-byte alignment.
///
/// Tensor names must already be llama.cpp's (convert with a mapping such as
/// `hf-gpt2-to-gguf`); metadata comes from the architecture descriptor's `ggufKeyValues`
/// hook for the model's config, or, for a model read from GGUF, from its own metadata.
/// A tensor whose provenance ends with `.quantize(to:)` (`--dtype q8_0|q4_0|q4_1`) is
/// quantized while it streams, bit-equal to gguf-py's `gguf.quants.quantize`; other
/// tensors are written as they are (F32, F16, BF16, F64, I8…I64). Tensors stream one at a
/// time: plain ones by kernel copy when they sit in a file, quantized ones row chunk by row
/// chunk, so memory stays bounded by one tensor.
public struct GGUFWriter: ModelWriter, BlockQuantizedWriting, DefaultMappingChoosing, Float32Keeping {
    public init() {}

    public var info: FormatInfo {
        FormatInfo(id: "gguf", name: "GGUF", extensions: [".gguf"],
                   summary: "one GGUF v3 file for llama.cpp; --dtype q8_0|q4_0|q4_1 quantizes weight matrices")
    }

    public var writableBlockTypes: [BlockQuantization] { BlockCodec.writable }

    /// A transformers checkpoint of a family whose descriptor names a GGUF mapping
    /// (`ggufMapping`) gets that mapping; a model read from GGUF, or already in llama.cpp's
    /// names, needs none. The family comes from the architecture registry, never a table here.
    public func defaultMapping(for model: NeutralModel) -> String? {
        if model.config["general.architecture"] != nil { return nil }
        guard let d = ArchitectureRegistry.standard.descriptor(for: model.config), let name = d.ggufMapping else { return nil }
        return (try? Self.unnamed(model, descriptor: d))?.isEmpty == false ? name : nil
    }

    public static let alignment = 32

    public var options: [FormatOption] { [.maxShardSize] }

    /// Shard file names: `model-0000i-of-0000N.gguf`, as llama.cpp's gguf-split names them.
    public static let shardBase = "model"

    /// True when the tensors (stored bytes) exceed `--max-shard-size`.
    public func producesDirectory(for model: NeutralModel, options: WriteOptions) -> Bool {
        guard let max = options.maxShardSize, let plan = try? Self.plan(model) else { return false }
        return plan.dataBytes > max && plan.tensors.count > 1
    }

    public func outputLayout(for model: NeutralModel, options: WriteOptions) -> OutputLayout {
        guard producesDirectory(for: model, options: options) else { return .file(producer: "the GGUF writer") }
        return .folder([.shards(base: Self.shardBase, suffix: ".gguf")], producer: "the GGUF writer")
    }

    public func check(_ model: NeutralModel, options: WriteOptions) throws {
        _ = try Self.plan(model)
    }

    /// When the metadata is made from a transformers folder: the architecture's caveats
    /// (`ggufNotes`, e.g. a sliding window llama.cpp ignores) and the tokenizer's (`GGUFTokenizer.notes`).
    public func notes(for model: NeutralModel, options: WriteOptions) throws -> [String] {
        guard model.config["general.architecture"] == nil, let d = ArchitectureRegistry.standard.descriptor(for: model.config) else { return [] }
        return try d.ggufNotes(config: model.config).map { "GGUF: \($0)" } + GGUFTokenizer.notes(for: model)
    }

    public func write(_ model: NeutralModel, to url: URL, options: WriteOptions) throws {
        let plan = try Self.plan(model)
        options.progress.begin("writing \(url.lastPathComponent)", totalUnits: Int64(plan.dataBytes))
        defer { options.progress.end() }
        guard producesDirectory(for: model, options: options), let max = options.maxShardSize else {
            try Self.writeFile(metadata: plan.metadata, tensors: plan.tensors, to: url, progress: options.progress)
            return
        }
        // Greedy, in model order: a new split starts when the next tensor would overflow this one.
        var shards: [[PlannedTensor]] = [[]]
        var size = 0
        for t in plan.tensors {
            if !shards[shards.count - 1].isEmpty && size + t.paddedCount > max {
                shards.append([])
                size = 0
            }
            shards[shards.count - 1].append(t)
            size += t.paddedCount
        }
        guard shards.count <= Int(UInt16.max) else { throw GGUFError.unwritable(tensor: nil, reason: "\(shards.count) splits; GGUF counts splits in a uint16") }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (i, shard) in shards.enumerated() {
            // llama.cpp's gguf-split: the first split carries the metadata, every split the split keys.
            var keys: [(String, GGUFValue)] = i == 0 ? plan.metadata : []
            keys += [("split.no", .uint16(UInt16(i))), ("split.count", .uint16(UInt16(shards.count))),
                     ("split.tensors.count", .int32(Int32(clamping: plan.tensors.count)))]
            var offset = 0
            let placed = shard.map { t -> PlannedTensor in
                var t = t
                t.offset = offset
                offset += t.paddedCount
                return t
            }
            let name = "\(Self.shardBase)-\(Self.padded(i + 1))-of-\(Self.padded(shards.count)).gguf"
            try Self.writeFile(metadata: keys, tensors: placed, to: url.appendingPathComponent(name), progress: options.progress)
        }
    }

    static func padded(_ n: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// One GGUF file: header, tensor infos, then each tensor's data padded to the alignment.
    static func writeFile(metadata: [(String, GGUFValue)], tensors: [PlannedTensor], to url: URL, progress: any ProgressSink) throws {
        let out = try OutputFile(path: url.path)
        var header = GGUFBytesWriter()
        header.bytes += GGUFFormat.magic
        header.u32(3)
        header.u64(UInt64(tensors.count))
        header.u64(UInt64(metadata.count))
        for (key, value) in metadata {
            header.string(key)
            header.value(value, withType: true)
        }
        for t in tensors {
            header.string(t.name)
            header.u32(UInt32(t.dims.count))
            for d in t.dims { header.u64(UInt64(d)) }
            header.u32(t.type.rawValue)
            header.u64(UInt64(t.offset))
        }
        header.pad(to: alignment)
        try out.write(header.bytes)
        for t in tensors {
            let before = out.bytesWritten
            if let q = t.blocks {
                try streamQuantized(t.entry.tensor, q, to: out)
            } else {
                try out.write(tensor: t.entry.tensor)
            }
            guard out.bytesWritten - before == t.byteCount else {
                throw GGUFError.unwritable(tensor: t.name, reason: "wrote \(out.bytesWritten - before) bytes, expected \(t.byteCount)")
            }
            if t.paddedCount > t.byteCount { try out.writeZeros(t.paddedCount - t.byteCount) }
            progress.advance(Int64(t.byteCount))
        }
        try out.close()
    }

    /// Quantizes `tensor` (f32) a chunk of rows at a time, so only one chunk's floats and
    /// blocks are in memory: a `--dtype` cast to f32 (`StreamedCast`) is widened chunk by
    /// chunk from its 16-bit source, and f32 in a file is read with `pread`, not mapped.
    /// Other tensors (deferred transforms such as permuted q/k rows) are made whole first.
    static func streamQuantized(_ tensor: TensorRef, _ q: BlockQuantization, to out: OutputFile) throws {
        let rowLength = tensor.shape.dims.last ?? 1
        let rowsPerChunk = max(1, (1 << 20) / max(rowLength, 1))
        let count = tensor.elementCount
        func quantize(_ floats: UnsafeBufferPointer<Float>) throws {
            guard let bytes = BlockCodec.quantize(q, floats) else {
                throw GGUFError.unwritable(tensor: nil, reason: "Porter does not quantize to \(q.ggmlName)")
            }
            try out.write(bytes)
        }
        let chunkSource: ((Range<Int>, UnsafeMutableRawBufferPointer) throws -> Void)?
        let scratch = CastScratch()
        var overflows = 0
        let cast = tensor.storage.chunked as? StreamedCast
        if tensor.isDirectlyReadable, let cast, cast.readsInChunks, cast.target == .f32 {
            chunkSource = { overflows += try cast.read(elements: $0, into: $1, scratch: scratch) }
        } else if tensor.isDirectlyReadable, tensor.dtype == .f32, case let .file(file, base) = tensor.storage.backing {
            let start = base + tensor.contiguousByteRange.lowerBound
            try file.checkRange(offset: start, count: tensor.byteCount)
            chunkSource = { try file.readFully(into: $1, offset: start + $0.lowerBound * 4) }
        } else {
            chunkSource = nil
        }
        guard let chunkSource else {
            try tensor.withContiguousBytes { raw in
                let floats = raw.bindMemory(to: Float.self)
                var start = 0
                while start < floats.count {
                    let end = min(floats.count, start + rowsPerChunk * rowLength)
                    try quantize(UnsafeBufferPointer(rebasing: floats[start..<end]))
                    start = end
                }
            }
            return
        }
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, min(count, rowsPerChunk * rowLength)))
        defer { buffer.deallocate() }
        var start = 0
        while start < count {
            let end = min(count, start + rowsPerChunk * rowLength)
            let part = UnsafeMutableBufferPointer(rebasing: buffer[0..<(end - start)])
            try chunkSource(start..<end, UnsafeMutableRawBufferPointer(part))
            try quantize(UnsafeBufferPointer(part))
            start = end
        }
        if let cast { cast.tally?.record(cast.name, overflows) }
    }

    struct PlannedTensor {
        var name: String
        var entry: TensorEntry
        var dims: [Int]
        var type: GGMLType
        var blocks: BlockQuantization?
        var offset: Int
        var byteCount: Int
        /// Bytes with the padding to the next multiple of the alignment.
        var paddedCount: Int { byteCount + (GGUFWriter.alignment - byteCount % GGUFWriter.alignment) % GGUFWriter.alignment }
    }

    struct Plan {
        var metadata: [(String, GGUFValue)]
        var tensors: [PlannedTensor]
        var dataBytes: Int
    }

    /// Metadata, tensor types, offsets: everything checked before a byte is written.
    static func plan(_ model: NeutralModel) throws -> Plan {
        var tensors: [PlannedTensor] = []
        var offset = 0
        var counts: [String: Int] = [:]
        for e in try model.tensors.entries + computedTensors(model) {
            try e.tensor.validate(name: e.name)
            let shape = e.tensor.shape.dims
            guard (1...GGUFFormat.maxDims).contains(shape.count) else {
                throw GGUFError.unwritable(tensor: e.name, reason: "rank \(shape.count); GGUF tensors have 1 to \(GGUFFormat.maxDims) dimensions")
            }
            let type: GGMLType, bytes: Int
            var blocks: BlockQuantization?
            if case let .quantize(name)? = e.provenance.transforms.last {
                guard let q = BlockQuantization(rawValue: name) else {
                    throw GGUFError.unwritable(tensor: e.name, reason: "'\(name)' is not a block type Porter writes")
                }
                guard e.tensor.dtype == .f32, let last = shape.last, last % q.blockSize == 0, let b = q.byteCount(elements: e.tensor.elementCount) else {
                    throw GGUFError.unwritable(tensor: e.name, reason: "\(q.ggmlName) needs f32 rows of whole \(q.blockSize)-element blocks; it is \(e.tensor.dtype.rawValue) \(e.tensor.shape)")
                }
                type = GGMLType(blocks: q); bytes = b; blocks = q
            } else {
                guard let t = GGMLType(plain: e.tensor.dtype) else {
                    throw GGUFError.unwritable(tensor: e.name, reason: "dtype \(e.tensor.dtype.rawValue) has no GGUF type; cast with --dtype f32|f16|bf16")
                }
                type = t; bytes = e.tensor.byteCount
            }
            counts[type.description, default: 0] += 1
            tensors.append(PlannedTensor(name: e.name, entry: e, dims: shape.reversed(), type: type, blocks: blocks, offset: offset, byteCount: bytes))
            let (end, o) = offset.addingReportingOverflow(bytes + (alignment - bytes % alignment) % alignment)
            guard !o else { throw GGUFError.unwritable(tensor: e.name, reason: "the file size overflows") }
            offset = end
        }
        var keys = try metadata(for: model)
        keys.append(("general.file_type", .uint32(fileType(counts))))
        if tensors.contains(where: { $0.blocks != nil }) { keys.append(("general.quantization_version", .uint32(2))) }
        return Plan(metadata: keys, tensors: tensors, dataBytes: offset)
    }

    /// Tensors llama.cpp's converter computes from a transformers config (the descriptor's
    /// `ggufComputedTensors`: Llama 3's `rope_freqs.weight`), after the model's own tensors;
    /// one the model already holds (a GGUF source's) is not computed again.
    static func computedTensors(_ model: NeutralModel) throws -> [TensorEntry] {
        guard model.config["general.architecture"] == nil, let d = ArchitectureRegistry.standard.descriptor(for: model.config) else { return [] }
        let computed: [GGUFComputedTensor]
        do { computed = try d.ggufComputedTensors(config: model.config) } catch {
            throw GGUFError.unwritable(tensor: nil, reason: "the \(d.family) config does not give GGUF metadata: \(error.localizedDescription)")
        }
        return computed.filter { model.tensors[$0.name] == nil }.map { t in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(t.values.count * 4)
            for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
            return TensorEntry(name: t.name, tensor: .memory(bytes, dtype: .f32, shape: Shape(t.shape), label: t.name),
                               provenance: Provenance(sourceFile: model.sourceFiles.first ?? "config.json", sourceName: "config: \(t.origin)"))
        }
    }

    /// llama.cpp's `llama_ftype` for the dominant tensor type (ALL_F32 0, MOSTLY_F16 1,
    /// MOSTLY_Q4_0 2, MOSTLY_Q4_1 3, MOSTLY_Q8_0 7, MOSTLY_BF16 32).
    static func fileType(_ counts: [String: Int]) -> UInt32 {
        for (name, code) in [("Q8_0", 7), ("Q4_0", 2), ("Q4_1", 3), ("BF16", 32), ("F16", 1)] as [(String, UInt32)] where counts[name] != nil {
            return code
        }
        return 0
    }

    /// Keys Porter computes itself, never carried from a source.
    static let computedKeys: Set<String> = ["general.alignment", "general.file_type", "general.quantization_version"]

    /// The metadata: a GGUF source's own keys, or the descriptor hook's for the config.
    static func metadata(for model: NeutralModel) throws -> [(String, GGUFValue)] {
        let config = model.config.objectValue ?? [:]
        var pairs: [String: JSONValue]
        if config["general.architecture"] != nil {
            pairs = config.filter { !$0.key.hasPrefix("split.") && !computedKeys.contains($0.key) }
        } else if let d = ArchitectureRegistry.standard.descriptor(for: model.config) {
            do { pairs = try d.ggufKeyValues(config: model.config) } catch let refusal as GGUFLayoutRefusal {
                throw GGUFError.unwritable(tensor: refusal.tensor, reason: "llama.cpp cannot hold this \(d.family) model: \(refusal.key.map { "config key '\($0)' " } ?? "")\(refusal.reason)")
            } catch {
                throw GGUFError.unwritable(tensor: nil, reason: "the \(d.family) config does not give GGUF metadata: \(error.localizedDescription)")
            }
            guard pairs["general.architecture"] != nil else {
                throw GGUFError.unwritable(tensor: nil, reason: "the \(d.family) architecture has no GGUF metadata (no ggufKeyValues); Porter cannot write it for llama.cpp yet")
            }
            try checkNames(model, descriptor: d)
            // Tokenizer keys carried in the config (tokenizer.ggml.*, tokenizer.chat_template) go along.
            for (k, v) in config where k.hasPrefix("tokenizer.") { pairs[k] = v }
            for (k, v) in try GGUFTokenizer.keyValues(for: model) { pairs[k] = v }
        } else {
            let type = config["model_type"]?.stringValue.map { "model_type '\($0)'" } ?? "no model_type"
            throw GGUFError.unwritable(tensor: nil, reason: "the config has \(type) and no general.architecture, so Porter knows no GGUF metadata for it; see docs/formats/gguf.md")
        }
        var out: [(String, GGUFValue)] = []
        // general.* first, then the rest, each sorted: a stable order for byte-identical reruns.
        for key in pairs.keys.sorted(by: { ($0.hasPrefix("general.") ? 0 : 1, $0) < ($1.hasPrefix("general.") ? 0 : 1, $1) }) {
            guard let v = pairs[key] else { continue }
            guard let value = ggufValue(v) else {
                throw GGUFError.unwritable(tensor: nil, reason: "metadata key '\(key)' holds \(v), which GGUF cannot type (null, object or mixed array)")
            }
            out.append((key, value))
        }
        return out
    }

    /// Every tensor must carry a llama.cpp name of the descriptor's templates.
    static func checkNames(_ model: NeutralModel, descriptor d: any ArchitectureDescriptor) throws {
        if let name = try unnamed(model, descriptor: d).first {
            let hint = d.ggufMapping.map { "convert with --mapping \($0)" }
                ?? "Porter has no mapping to llama.cpp's names for \(d.family) yet (see docs/formats/gguf.md)"
            throw GGUFError.unwritable(tensor: name, reason: "not a llama.cpp tensor name of \(d.family); \(hint)")
        }
    }

    /// The tensor names that match none of the descriptor's GGUF templates, in model order.
    static func unnamed(_ model: NeutralModel, descriptor d: any ArchitectureDescriptor) throws -> [String] {
        let patterns = d.tensorTemplates.compactMap(\.gguf).map { g in
            "^" + g.components(separatedBy: "{bid}").map { NSRegularExpression.escapedPattern(for: $0) }.joined(separator: "\\d+") + "$"
        }
        let regexes = try patterns.map { try NSRegularExpression(pattern: $0) }
        return model.tensors.names.filter { name in
            let range = NSRange(name.startIndex..., in: name)
            return !regexes.contains(where: { $0.firstMatch(in: name, range: range) != nil })
        }
    }

    /// A JSON value as the GGUF type llama.cpp uses for it: integers uint32 (int32 when
    /// negative, 64-bit when wider), floats float32, arrays of integers int32 (int64 when wider).
    static func ggufValue(_ v: JSONValue, inArray: Bool = false) -> GGUFValue? {
        switch v {
        case let .bool(b): return .bool(b)
        case let .string(s): return .string(s)
        case let .double(d): return .float32(Float(d))
        case let .int(i):
            if inArray { return Int32(exactly: i).map { .int32($0) } ?? .int64(i) }
            if i >= 0 { return UInt32(exactly: i).map { .uint32($0) } ?? .uint64(UInt64(i)) }
            return Int32(exactly: i).map { .int32($0) } ?? .int64(i)
        case let .array(items):
            var values = items.compactMap { ggufValue($0, inArray: true) }
            guard values.count == items.count else { return nil }
            if values.isEmpty { return .array(.uint8, []) }
            // Integers widen to int64 together; a mix of other types is refused.
            if values.contains(where: { $0.type == .int64 }) {
                values = values.map { if case let .int32(x) = $0 { return .int64(Int64(x)) }; return $0 }
            }
            let type = values[0].type
            guard values.allSatisfy({ $0.type == type }) else { return nil }
            return .array(type, values)
        case .null, .object: return nil
        }
    }
}

/// Little-endian GGUF encoding of header fields.
struct GGUFBytesWriter {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
    mutating func pad(to alignment: Int) { while bytes.count % alignment != 0 { bytes.append(0) } }

    mutating func value(_ v: GGUFValue, withType: Bool) {
        if withType { u32(v.type.rawValue) }
        switch v {
        case let .uint8(x): bytes.append(x)
        case let .int8(x): bytes.append(UInt8(bitPattern: x))
        case let .uint16(x): withUnsafeBytes(of: x.littleEndian) { bytes += $0 }
        case let .int16(x): withUnsafeBytes(of: x.littleEndian) { bytes += $0 }
        case let .uint32(x): u32(x)
        case let .int32(x): u32(UInt32(bitPattern: x))
        case let .float32(x): u32(x.bitPattern)
        case let .bool(b): bytes.append(b ? 1 : 0)
        case let .string(s): string(s)
        case let .uint64(x): u64(x)
        case let .int64(x): u64(UInt64(bitPattern: x))
        case let .float64(x): u64(x.bitPattern)
        case let .array(type, items):
            u32(type.rawValue)
            u64(UInt64(items.count))
            for item in items { value(item, withType: false) }
        }
    }
}

extension GGUFWriter {
    /// Vectors (norm weights, biases) stay F32 under `--dtype f16|bf16`, as llama.cpp's
    /// `convert_hf_to_gguf.py` writes them: ggml's multiply takes them only as F32, and
    /// llama.cpp aborts on an F16 norm weight.
    public func keepsFloat32(name: String, shape: Shape) -> Bool { shape.rank <= 1 }
}
