import Foundation
import PorterCore

/// Everything Porter knows about one architecture family, in one file per family
/// (`BERT.swift`, `GPT2.swift`, `FSMT.swift`) and one line in `ArchitectureRegistry.standard`:
///
/// - a typed `Config` (Codable, with the key spellings other ecosystems use, and defaults);
/// - the graph builder (`build(_:modelType:tensorNames:)`);
/// - the declared model inputs and their roles, from which the verifier's seeded input
///   generator makes values (`inputs(_:)`);
/// - default output tolerances per weight dtype (`tolerance(for:)`);
/// - layer naming for the first-divergence search (`blockPaths`);
/// - tensor templates: every tensor's name in each ecosystem (HF PyTorch, TF/Keras h5,
///   GGUF) with `{bid}` for the block index, and its shape in terms of the config
///   (`tensorTemplates`, `dims(_:)`); mappings expand them (`{"template": "bert", ...}`)
///   and `porter tiny` shapes its random weights from them;
/// - what `porter tiny` shrinks (`shrunk(_:to:)`);
/// - format metadata hooks (GGUF key-values, ONNX dynamic axes), empty by default.
public protocol ArchitectureDescriptor: GraphBuilder {
    associatedtype Config: ArchitectureConfig

    /// The family name used by mapping templates and messages (`bert`, `gpt2`, `fsmt`).
    var family: String { get }
    /// transformers class names (`architectures[0]` in a `config.json`) this family reads.
    var architectureNames: [String] { get }
    /// The HF PyTorch name prefix of the base model for `modelType` (`bert`, `roberta`,
    /// `transformer`, `model`): task heads store the base model's tensors under it.
    func basePrefix(modelType: String) -> String
    /// The TF/Keras main layer scope transformers' TF classes write (`tf_bert_model`),
    /// nil when the family has no TF port.
    func tfModelScope(modelType: String) -> String?

    /// The graph for a decoded config and the checkpoint's tensor names.
    func build(_ config: Config, modelType: String, tensorNames: Set<String>) throws -> Graph
    /// Inputs the graph declares, with their roles (what the seeded generator draws).
    func inputs(_ config: Config) -> [InputSpec]
    /// Default output tolerance for weights of `dtype`, nil to use the verifier's per-dtype default.
    func tolerance(for dtype: DType) -> ArchitectureTolerance?
    /// Module paths of the repeated blocks, with `{bid}` (`encoder.layer.{bid}`): the
    /// divergence search reports one row per block.
    var blockPaths: [String] { get }
    /// Every tensor of the family, unprefixed (relative to `basePrefix`) unless `head`.
    var tensorTemplates: [TensorTemplate] { get }
    /// Values of the dimension names used in `tensorTemplates` shapes and block counts.
    func dims(_ config: Config) -> [String: Int]
    /// The config of a smaller same-architecture model (`porter tiny`).
    func shrunk(_ config: Config, to request: TinyRequest) throws -> Config
    /// Model card text of a model of this family that Porter made (nil: no card).
    func modelCard(_ config: Config, facts: ModelCardFacts) -> String?

    /// GGUF key-values for a GGUF writer (empty: not used yet).
    /// Throws when llama.cpp could not hold the model as the config describes it.
    func ggufKeyValues(_ config: Config) throws -> [String: JSONValue]
    /// What llama.cpp will compute differently from transformers for a model it can hold (a
    /// sliding window its architecture ignores): notes for the conversion (empty: none).
    func ggufNotes(_ config: Config) throws -> [String]
    /// Tensors llama.cpp's converter computes from the config rather than copies from the
    /// checkpoint (Llama 3 rope scaling's `rope_freqs.weight`), which a GGUF writer adds.
    func ggufComputedTensors(_ config: Config) throws -> [GGUFComputedTensor]
    /// The names of those tensors, which a GGUF reader hands back to
    /// `hfConfig(_:fromGGUFComputedTensors:)` instead of mapping them.
    var ggufComputedTensorNames: Set<String> { get }
    /// transformers' config (from `hfConfig(fromGGUF:)`) completed from the computed tensors a
    /// GGUF file holds: their values must be exactly what `ggufComputedTensors` gives for the
    /// returned config, else the file is refused (a typed error naming the tensor), never
    /// read with the tensor dropped.
    func hfConfig(_ config: JSONValue, fromGGUFComputedTensors tensors: [String: [Float]]) throws -> JSONValue
    /// The shipped mapping (`mappings/<name>.json`) from transformers' names to llama.cpp's
    /// GGUF names for this family, which the GGUF writer applies when none is given (nil: none).
    var ggufMapping: String? { get }
    /// GGUF `general.architecture` of the family's files (nil: Porter writes none).
    var ggufArchitecture: String? { get }
    /// The shipped mapping from llama.cpp's names back to transformers' (nil: none).
    var ggufInverseMapping: String? { get }
    /// transformers' `config.json` from a GGUF file's metadata and tensor names (nil: the
    /// family cannot be read back from GGUF); a missing key is an error naming it.
    func hfConfig(fromGGUF metadata: [String: JSONValue], tensorNames: Set<String>) throws -> JSONValue?
    /// ONNX dynamic axes per input/output name (axis → symbolic name) for an ONNX exporter.
    func onnxDynamicAxes(_ config: Config) -> [String: [Int: String]]
}

/// What a tensor is for, so generated weights look like trained ones in scale.
public enum TensorKind: String, Sendable, Codable {
    case weight, bias, normScale, normBias, embedding
    /// A stored fairseq-style sinusoidal position table (`[positions + pad + 1, d]`, the pad row zero).
    case sinusoidal
    /// transformers' int64 `position_ids` buffer (`[1, positions]`, 0, 1, 2, …) that older checkpoints store.
    case positionIds
}

/// One tensor of a family in every ecosystem's naming. Names use `{bid}` for the block
/// index; shapes and block counts name entries of `ArchitectureDescriptor.dims(_:)`.
public struct TensorTemplate: Sendable, Equatable {
    /// HF PyTorch name relative to the base prefix (or to the root for `head`).
    public var hf: String
    /// Path under the TF main layer (`encoder/layer_._{bid}/attention/self/query/kernel:0`), nil when TF has none.
    public var tf: String?
    /// TF stores this tensor transposed (Dense kernels are `[in, out]`, Linear weights `[out, in]`).
    public var tfTranspose: Bool
    /// The llama.cpp GGUF name (`blk.{bid}.attn_qkv.weight`), data only for now.
    public var gguf: String?
    /// Shape as dimension names (`["hidden", "hidden"]`); an empty list is a scalar.
    public var shape: [String]
    /// The dimension giving the number of blocks `{bid}` runs over, nil when the name has no `{bid}`.
    public var blocks: String?
    public var kind: TensorKind
    /// A task-head tensor at the root, outside the base model prefix (`cls.predictions.bias`, `lm_head.weight`).
    public var head: Bool
    /// The tensor may be absent (biases of some variants, untied heads).
    public var optional: Bool
    /// The template (its `hf` name) this tensor is tied to: the same parameter in the
    /// framework, so a copy must hold the same values (`cls.predictions.decoder.weight` →
    /// `embeddings.word_embeddings.weight`).
    public var tiedTo: String?
    /// The tie holds only when the config's `tie_word_embeddings` is not false (weights);
    /// false for ties the framework always makes (decoder bias = prediction bias).
    public var tieFollowsConfig: Bool

    public init(_ hf: String, tf: String? = nil, tfTranspose: Bool = false, gguf: String? = nil, shape: [String],
                blocks: String? = nil, kind: TensorKind = .weight, head: Bool = false, optional: Bool = false,
                tiedTo: String? = nil, tieFollowsConfig: Bool = true) {
        self.hf = hf
        self.tf = tf
        self.tfTranspose = tfTranspose
        self.gguf = gguf
        self.shape = shape
        self.blocks = blocks
        self.kind = kind
        self.head = head
        self.optional = optional
        self.tiedTo = tiedTo
        self.tieFollowsConfig = tieFollowsConfig
    }
}

/// What a model input carries, which decides what the seeded generator draws.
public enum InputRole: String, Sendable, Codable {
    /// Token ids: drawn from `[0, rows)` of the table they index; the padded positions get `pad_token_id`.
    case tokens
    /// Category ids without padding (token types): drawn from `[0, rows)` of their table.
    case categories
    /// 1 for real tokens, 0 for padding (the last row's tail).
    case mask
}

/// One declared input of a family's graph.
public struct InputSpec: Sendable, Equatable {
    public var name: String
    public var dtype: DType
    public var role: InputRole
    /// Dimension names for the ONNX dynamic axes (`["batch", "sequence"]`).
    public var axes: [String]

    public init(_ name: String, dtype: DType = .i64, role: InputRole, axes: [String] = ["batch", "sequence"]) {
        self.name = name
        self.dtype = dtype
        self.role = role
        self.axes = axes
    }
}

/// An output tolerance a descriptor declares (the verifier turns it into its `Tolerance`).
public struct ArchitectureTolerance: Sendable, Equatable {
    public var atol: Double
    public var rtol: Double
    public init(atol: Double, rtol: Double) {
        self.atol = atol
        self.rtol = rtol
    }
}

/// The sizes `porter tiny` asks for; nil keeps a size as the descriptor's tiny default.
public struct TinyRequest: Sendable, Equatable {
    public var layers: Int?
    public var hidden: Int?
    public var heads: Int?
    public var intermediate: Int?

    public init(layers: Int? = nil, hidden: Int? = nil, heads: Int? = nil, intermediate: Int? = nil) {
        self.layers = layers
        self.hidden = hidden
        self.heads = heads
        self.intermediate = intermediate
    }

    /// Porter's tiny defaults: 2 layers, hidden 32, 4 heads, intermediate 4 × hidden.
    public func resolved() throws -> (layers: Int, hidden: Int, heads: Int, intermediate: Int) {
        let limit = 1 << 24
        for (flag, v) in [("--layers", layers), ("--hidden", hidden), ("--heads", heads), ("--intermediate", intermediate)] {
            if let v, v > limit { throw ArchitectureError.badTinyRequest("\(flag) \(v) is more than \(limit)") }
        }
        let layers = self.layers ?? 2, hidden = self.hidden ?? 32, heads = self.heads ?? 4
        let intermediate = self.intermediate ?? 4 * hidden
        for (flag, v, least) in [("--layers", layers, 0), ("--hidden", hidden, 1), ("--heads", heads, 1), ("--intermediate", intermediate, 1)] where v < least {
            throw ArchitectureError.badTinyRequest("\(flag) \(v) must be at least \(least)")
        }
        guard hidden % heads == 0 else {
            throw ArchitectureError.badTinyRequest("--heads \(heads) does not divide --hidden \(hidden)")
        }
        return (layers, hidden, heads, intermediate)
    }
}

/// Facts a model card states.
public struct ModelCardFacts: Sendable, Equatable {
    public var source: String
    public var seed: UInt64?
    public var command: String?
    public var porterVersion: String
    public var lines: [String]

    public init(source: String, seed: UInt64? = nil, command: String? = nil, porterVersion: String = PorterVersion.current, lines: [String] = []) {
        self.source = source
        self.seed = seed
        self.command = command
        self.porterVersion = porterVersion
        self.lines = lines
    }
}

// Defaults, so a new family writes only what it has.
extension ArchitectureDescriptor {
    public var architectureNames: [String] { [] }
    public func tfModelScope(modelType: String) -> String? { nil }
    public func tolerance(for dtype: DType) -> ArchitectureTolerance? { nil }
    public func modelCard(_ config: Config, facts: ModelCardFacts) -> String? { nil }
    public func ggufKeyValues(_ config: Config) -> [String: JSONValue] { [:] }
    public func ggufNotes(_ config: Config) -> [String] { [] }
    public func ggufComputedTensors(_ config: Config) -> [GGUFComputedTensor] { [] }
    public var ggufComputedTensorNames: Set<String> { [] }
    public func hfConfig(_ config: JSONValue, fromGGUFComputedTensors tensors: [String: [Float]]) throws -> JSONValue { config }
    public var ggufMapping: String? { nil }
    public var ggufArchitecture: String? { nil }
    public var ggufInverseMapping: String? { nil }
    public func hfConfig(fromGGUF metadata: [String: JSONValue], tensorNames: Set<String>) throws -> JSONValue? { nil }
    public func onnxDynamicAxes(_ config: Config) -> [String: [Int: String]] {
        var out: [String: [Int: String]] = [:]
        for spec in inputs(config) { out[spec.name] = Dictionary(uniqueKeysWithValues: spec.axes.enumerated().map { ($0, $1) }) }
        return out
    }
}

// The type-erased surface: these take the config as JSON, so callers holding an
// `any ArchitectureDescriptor` (the registry, the verifier, `porter tiny`) can use them.
extension ArchitectureDescriptor {
    /// The config decoded as this family's typed config; errors name the key.
    public func decode(_ config: JSONValue) throws -> Config {
        try Config.decode(config, model: config["model_type"]?.stringValue ?? family)
    }

    public func build(config: JSONValue, tensorNames: Set<String>) throws -> Graph {
        let c = try decode(config)
        return try build(c, modelType: config["model_type"]?.stringValue ?? modelTypes[0], tensorNames: tensorNames)
    }

    public func inputSpecs(config: JSONValue) throws -> [InputSpec] { inputs(try decode(config)) }

    /// The dimension values of `config` (`hidden`, `layers`, ...).
    public func dimensions(config: JSONValue) throws -> [String: Int] { dims(try decode(config)) }

    /// The module path's block (`encoder.layer.3` for `encoder.layer.3.attention.self.query`),
    /// nil when the node is in none of `blockPaths`.
    public func blockKey(_ node: String) -> String? {
        let parts = node.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        for pattern in blockPaths {
            let p = pattern.split(separator: ".").map(String.init)
            guard parts.count > p.count else { continue }
            var ok = true
            for (a, b) in zip(p, parts) where !(a == b || (a == "{bid}" && Int(b) != nil)) { ok = false; break }
            if ok { return parts.prefix(p.count).joined(separator: ".") }
        }
        return nil
    }

    /// Every HF PyTorch tensor of a model of this config and its shape: `{bid}` expanded,
    /// the base prefix applied as in `prefix` ("" for an unprefixed base model checkpoint).
    public func expectedTensors(config: JSONValue, prefix: String) throws -> [ExpectedTensor] {
        let c = try decode(config)
        let d = dims(c)
        var out: [ExpectedTensor] = []
        for t in tensorTemplates {
            let shape = try t.shape.map { name -> Int in
                guard let v = d[name] else { throw ArchitectureError.badConfig(model: family, key: name, detail: "is not a dimension of the \(family) descriptor") }
                return v
            }
            let count = try t.blocks.map { b -> Int in
                guard let v = d[b] else { throw ArchitectureError.badConfig(model: family, key: b, detail: "is not a dimension of the \(family) descriptor") }
                return v
            }
            let base = t.head ? "" : prefix
            var tied: String?
            if let target = t.tiedTo, let tt = tensorTemplates.first(where: { $0.hf == target }),
               !t.tieFollowsConfig || config["tie_word_embeddings"]?.boolValue != false {
                tied = (tt.head ? "" : prefix) + target
            }
            for i in 0..<(count ?? 1) {
                let name = base + (count == nil ? t.hf : t.hf.replacingOccurrences(of: "{bid}", with: String(i)))
                out.append(ExpectedTensor(name: name, shape: shape, kind: t.kind, optional: t.optional, tiedTo: tied))
            }
        }
        return out
    }

    /// The config `porter tiny` writes: the source config with the shrunk fields replaced
    /// (spelled as the source spells them) and everything else kept.
    public func shrunkConfig(_ config: JSONValue, to request: TinyRequest) throws -> JSONValue {
        let small = try shrunk(try decode(config), to: request)
        return try Config.merge(small, into: config)
    }

    public func modelCard(config: JSONValue, facts: ModelCardFacts) throws -> String? { modelCard(try decode(config), facts: facts) }
    public func ggufKeyValues(config: JSONValue) throws -> [String: JSONValue] { try ggufKeyValues(try decode(config)) }
    public func ggufNotes(config: JSONValue) throws -> [String] { try ggufNotes(try decode(config)) }
    public func ggufComputedTensors(config: JSONValue) throws -> [GGUFComputedTensor] { try ggufComputedTensors(try decode(config)) }
    public func onnxDynamicAxes(config: JSONValue) throws -> [String: [Int: String]] { onnxDynamicAxes(try decode(config)) }
}

/// An f32 tensor a GGUF file holds that the checkpoint does not: computed from the config
/// the way llama.cpp's `convert_hf_to_gguf.py` computes it (`origin` says from what).
public struct GGUFComputedTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
    public var origin: String

    public init(name: String, shape: [Int], values: [Float], origin: String) {
        self.name = name
        self.shape = shape
        self.values = values
        self.origin = origin
    }
}

/// One tensor a model of a given config has.
public struct ExpectedTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var kind: TensorKind
    public var optional: Bool
    /// The tensor this one must equal (a tied parameter), when the config ties them.
    public var tiedTo: String?
}
