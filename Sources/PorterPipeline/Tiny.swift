import Foundation
import PorterArchitectures
import PorterCore
import PorterVerifier

/// The sizes `porter tiny` asks for (layers, hidden, heads, intermediate).
public typealias TinySizes = PorterArchitectures.TinyRequest

/// `porter tiny`: a small same-architecture copy of a Hugging Face model folder, for CI
/// fixtures. The config is rewritten through the architecture descriptor's typed config,
/// tokenizer files are copied unchanged, and every weight the source has (blocks past the
/// new layer count left out) is replaced by seeded random values in its own dtype, with
/// the shape the descriptor's tensor templates give for the new config.
public struct TinyJob: Sendable {
    public var source: URL
    public var output: URL
    public var sizes: TinySizes
    public var seed: UInt64
    public var force: Bool
    /// The command line, for the model card.
    public var command: String?

    public init(source: URL, output: URL, sizes: TinySizes = .init(), seed: UInt64 = 0, force: Bool = false,
                command: String? = nil) {
        self.source = source
        self.output = output
        self.sizes = sizes
        self.seed = seed
        self.force = force
        self.command = command
    }
}

/// What `porter tiny` wrote.
public struct TinyResult: Sendable {
    public var output: URL
    public var family: String
    public var config: JSONValue
    /// Written tensors: name, dtype, shape, in file order.
    public var tensors: [(name: String, dtype: DType, shape: [Int])]
    /// Source tensors left out (blocks past the new layer count).
    public var leftOut: [String]
    /// Asset files copied unchanged.
    public var copied: [String]

    /// `porter tiny --json`: `{"output", "family", "parameterCount", "tensors": [{name, dtype, shape}], "leftOut", "copied", "config"}`.
    public func json() throws -> String {
        let doc: JSONValue = .object([
            "output": .string(DisplayPath.relative(output.path)), "family": .string(family),
            "parameterCount": .int(Int64(tensors.reduce(0) { $0 + $1.shape.reduce(1, *) })),
            "tensors": .array(tensors.map { .object(["name": .string($0.name), "dtype": .string($0.dtype.rawValue), "shape": .array($0.shape.map { .int(Int64($0)) })]) }),
            "leftOut": .array(leftOut.map { .string($0) }), "copied": .array(copied.map { .string($0) }), "config": config,
        ])
        return String(decoding: try doc.encoded(pretty: true), as: UTF8.self) + "\n"
    }

    public func summary() -> String {
        let params = tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
        var s = "wrote \(output.path): tiny \(family), \(tensors.count) tensors (\(params) parameters, random)"
        if !leftOut.isEmpty { s += ", \(leftOut.count) source tensors of removed layers left out" }
        s += "\n"
        if !copied.isEmpty { s += "copied unchanged: \(copied.joined(separator: ", "))\n" }
        return s
    }
}

/// Why `porter tiny` could not make a copy.
public enum TinyError: LocalizedError, Sendable, Equatable {
    case notAModelFolder(path: String, reason: String)
    case unknownArchitecture(path: String, modelType: String?, architecture: String?, known: [String])
    case unknownTensors(path: String, family: String, names: [String])
    case shapeMismatch(path: String, name: String, found: [Int], expected: [Int])
    case tooLarge(path: String, elements: Int, limit: Int)
    case unsupportedDType(path: String, name: String, dtype: String)
    case inconsistent(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .notAModelFolder(path, reason):
            return "\(path): not a Hugging Face model folder Porter can shrink: \(reason)"
        case let .unknownArchitecture(path, type, arch, known):
            let what = type.map { "model_type '\($0)'" } ?? arch.map { "architecture '\($0)'" } ?? "no model_type or architectures"
            return "\(path)/config.json: \(what) has no architecture descriptor, so Porter cannot shrink it (known model types: \(known.joined(separator: ", ")))"
        case let .unknownTensors(path, family, names):
            let shown = names.prefix(5).joined(separator: ", ") + (names.count > 5 ? ", … (\(names.count) in all)" : "")
            return "\(path): tensor(s) the \(family) descriptor has no template for, so their tiny shape is unknown: \(shown)"
        case let .shapeMismatch(path, name, found, expected):
            return "\(path): tensor \(name) has shape \(found), but the descriptor's template gives \(expected) for this config; Porter cannot tell its tiny shape"
        case let .tooLarge(path, elements, limit):
            return "\(path): the requested sizes give \(elements == Int.max ? "more than Int.max" : String(elements)) weights; porter tiny makes at most \(limit) (ask for fewer layers or a smaller hidden size)"
        case let .unsupportedDType(path, name, dtype):
            return "\(path): tensor \(name) is \(dtype); porter tiny makes random weights of float dtypes only"
        case let .inconsistent(path, reason):
            return "\(path): the tiny model would not be consistent: \(reason)"
        }
    }
}

extension Pipeline {
    /// Most weights (elements) a tiny copy may have: 64 Mi, 256 MB of float32.
    public static let tinyElementLimit = 64 << 20

    /// fairseq's (and transformers FSMT's) sinusoidal table: `[sin | cos]` halves, an odd
    /// last column zero, the padding row zero.
    static func sinusoidalTable(rows: Int, dim: Int, padding: Int) -> [Float] {
        let half = dim / 2
        var out = [Float](repeating: 0, count: rows * dim)
        guard half > 1 else { return out }
        let step = log(10000.0) / Double(half - 1)
        for r in 0..<rows where r != padding {
            for i in 0..<half {
                let angle = Float(r) * Float(exp(Double(i) * -step))
                out[r * dim + i] = sin(angle)
                out[r * dim + half + i] = cos(angle)
            }
        }
        return out
    }

    public func tiny(_ job: TinyJob) throws -> TinyResult {
        let path = job.source.path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw TinyError.notAModelFolder(path: path, reason: "it is not a folder (give the folder with config.json)")
        }
        guard FileManager.default.fileExists(atPath: job.source.appendingPathComponent("config.json").path) else {
            throw TinyError.notAModelFolder(path: path, reason: "it has no config.json")
        }
        if !job.force && FileManager.default.fileExists(atPath: job.output.path) {
            throw CoreError.outputExists(path: job.output.standardizedFileURL.path)
        }
        let (_, source) = try read(job.source)
        let registry = ArchitectureRegistry.standard
        guard let descriptor = registry.descriptor(for: source.config) else {
            throw TinyError.unknownArchitecture(path: path, modelType: source.config["model_type"]?.stringValue,
                                                architecture: source.config["architectures"]?.arrayValue?.first?.stringValue,
                                                known: registry.modelTypes)
        }
        var sourceConfig = source.config
        if sourceConfig["model_type"] == nil, var o = sourceConfig.objectValue, let t = registry.modelType(of: sourceConfig) {
            o["model_type"] = .string(t)
            sourceConfig = .object(o)
        }
        let modelType = sourceConfig["model_type"]?.stringValue ?? descriptor.modelTypes[0]
        let config = try descriptor.shrunkConfig(sourceConfig, to: job.sizes)

        // The checkpoint's prefix: task models keep the base model under it.
        let base = descriptor.basePrefix(modelType: modelType) + "."
        let prefix = source.tensors.names.contains { $0.hasPrefix(base) } ? base : ""
        let before = try descriptor.expectedTensors(config: sourceConfig, prefix: prefix)
        let after = Dictionary(try descriptor.expectedTensors(config: config, prefix: prefix).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let known = Dictionary(before.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        let unknown = source.tensors.names.filter { known[$0] == nil }
        guard unknown.isEmpty else { throw TinyError.unknownTensors(path: path, family: descriptor.family, names: unknown) }
        // The templates must describe the source as it is, or the tiny shapes are guesses.
        for e in source.tensors where known[e.name] != e.tensor.shape.dims {
            throw TinyError.shapeMismatch(path: path, name: e.name, found: e.tensor.shape.dims, expected: known[e.name] ?? [])
        }

        // A tiny copy is tiny: refuse sizes that would not fit in memory before allocating anything.
        var total = 0
        for e in source.tensors {
            guard let spec = after[e.name] else { continue }
            var n = 1
            for d in spec.shape {
                let (m, o) = n.multipliedReportingOverflow(by: max(d, 0))
                guard !o else { throw TinyError.tooLarge(path: path, elements: Int.max, limit: Self.tinyElementLimit) }
                n = m
            }
            let (t, o) = total.addingReportingOverflow(n)
            total = o ? Int.max : t
        }
        guard total <= Self.tinyElementLimit else { throw TinyError.tooLarge(path: path, elements: total, limit: Self.tinyElementLimit) }

        var rng = SeededGenerator(seed: job.seed)
        var store = TensorStore()
        var leftOut: [String] = []
        var written: [(name: String, dtype: DType, shape: [Int])] = []
        // Tied tensors last, so they can take their partner's values.
        let ordered = source.tensors.entries.filter { after[$0.name]?.tiedTo == nil } + source.tensors.entries.filter { after[$0.name]?.tiedTo != nil }
        for entry in ordered {
            guard let spec = after[entry.name] else { leftOut.append(entry.name); continue }
            if let partner = spec.tiedTo, let p = store[partner], p.tensor.shape.dims == spec.shape, p.tensor.dtype == entry.tensor.dtype {
                try store.add(TensorEntry(name: entry.name, tensor: p.tensor, provenance: Provenance(sourceFile: "porter tiny", sourceName: entry.name)))
                written.append((entry.name, entry.tensor.dtype, spec.shape))
                continue
            }
            let dtype = entry.tensor.dtype
            let count = spec.shape.reduce(1, *)
            if spec.kind == .positionIds {
                guard dtype == .i64 else { throw TinyError.unsupportedDType(path: path, name: entry.name, dtype: dtype.rawValue) }
                let ids = (0..<count).map { Int64($0 % (spec.shape.last ?? 1)) }
                let tensor = TensorRef(dtype: .i64, shape: Shape(spec.shape), storage: .memory(ids.withUnsafeBytes { Array($0) }, label: "porter tiny"))
                try store.add(TensorEntry(name: entry.name, tensor: tensor, provenance: Provenance(sourceFile: "porter tiny", sourceName: entry.name)))
                written.append((entry.name, dtype, spec.shape))
                continue
            }
            let values: [Float]
            if spec.kind == .sinusoidal, spec.shape.count == 2 {
                values = Self.sinusoidalTable(rows: spec.shape[0], dim: spec.shape[1], padding: config["pad_token_id"]?.intValue ?? 1)
            } else {
                values = (0..<count).map { _ in
                    let u = rng.nextSignedUnit()
                    return spec.kind == .normScale ? 1 + 0.02 * u : 0.0346 * u  // uniform with standard deviation 0.02
                }
            }
            let bytes: [UInt8]
            switch dtype {
            case .f32: bytes = values.withUnsafeBytes { Array($0) }
            case .f64: bytes = values.map(Double.init).withUnsafeBytes { Array($0) }
            case .f16: bytes = values.map(FloatConversion.floatToF16).withUnsafeBytes { Array($0) }
            case .bf16: bytes = values.map(FloatConversion.floatToBF16).withUnsafeBytes { Array($0) }
            default: throw TinyError.unsupportedDType(path: path, name: entry.name, dtype: dtype.rawValue)
            }
            let tensor = TensorRef(dtype: dtype, shape: Shape(spec.shape), storage: .memory(bytes, label: "porter tiny"))
            try store.add(TensorEntry(name: entry.name, tensor: tensor,
                                      provenance: Provenance(sourceFile: "porter tiny (seed \(job.seed))", sourceName: entry.name)))
            written.append((entry.name, dtype, spec.shape))
        }
        // The descriptor's builder must accept what was made, or the copy is useless.
        do { _ = try registry.buildGraph(config: config, tensorNames: Set(store.names)) } catch {
            throw TinyError.inconsistent(path: path, reason: error.localizedDescription)
        }

        var assets = source.assets.filter { $0.fileName != "README.md" }
        let copied = assets.map(\.fileName).sorted()
        let facts = ModelCardFacts(source: job.source.lastPathComponent, seed: job.seed, command: job.command,
                                   lines: ["config: `config.json` (from the source's, with the sizes above)",
                                           "tokenizer files copied unchanged: \(copied.isEmpty ? "none" : copied.joined(separator: ", "))",
                                           "\(written.count) tensors in `model.safetensors`, each in the source's dtype"])
        if let card = try descriptor.modelCard(config: config, facts: facts) {
            assets.append(Asset(kind: "model-card", fileName: "README.md", bytes: Array(card.utf8)))
        }
        let model = NeutralModel(sourceFormat: "porter-tiny", sourceFiles: source.sourceFiles, tensors: store, config: config,
                                 assets: assets, notes: ["random weights, seed \(job.seed)"])
        let writer = try self.registry.writer("hf")
        let layout = writer.outputLayout(for: model, options: WriteOptions())
        try AtomicOutput.write(to: job.output, force: job.force, layout: layout) { temp in
            try writer.write(model, to: temp, options: WriteOptions())
        }
        return TinyResult(output: job.output, family: descriptor.family, config: config, tensors: written, leftOut: leftOut, copied: copied)
    }
}
