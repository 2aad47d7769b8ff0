import Foundation
import PorterCore
import PorterOps

/// Builds the neutral graph of one architecture from its config and the names of the
/// checkpoint's tensors. Pure graph construction: no weights are read.
///
/// Node names follow the source framework's module paths
/// (`encoder.layer.0.attention.output.dense`), so a first-divergence report reads well.
public protocol GraphBuilder: Sendable {
    /// The config `model_type` values this builder handles (`bert`, `gpt2`, ...).
    var modelTypes: [String] { get }
    /// The graph for `config`; `tensorNames` tells the builder the checkpoint's naming
    /// (prefixes such as `bert.`, tied heads stored or not).
    func build(config: JSONValue, tensorNames: Set<String>) throws -> Graph
}

/// Why a graph could not be built, or a config not read.
public enum ArchitectureError: LocalizedError, Sendable, Equatable {
    /// No builder handles this `model_type` (nil when the config has none).
    case unknownModelType(String?)
    /// A required config key is missing or has the wrong type.
    case badConfig(model: String, key: String, detail: String)
    /// A tensor the graph needs is not in the checkpoint.
    case missingTensor(model: String, name: String)
    /// `porter tiny` sizes that cannot make a model.
    case badTinyRequest(String)

    public var errorDescription: String? {
        switch self {
        case let .unknownModelType(type?):
            return "no graph builder for model_type '\(type)' (known: \(ArchitectureRegistry.standard.modelTypes.joined(separator: ", "))); the model can be verified at the weights level only"
        case .unknownModelType(nil):
            return "the config has no model_type, so Porter cannot build a graph; the model can be verified at the weights level only"
        case let .badConfig(model, key, detail):
            return "\(model) config: key '\(key)' \(detail)"
        case let .missingTensor(model, name):
            return "\(model) graph needs tensor '\(name)', which the checkpoint does not have"
        case let .badTinyRequest(why):
            return "tiny: \(why)"
        }
    }
}

/// Architecture descriptors (and plain graph builders) keyed by config `model_type`, and
/// descriptors also by transformers class name (`architectures[0]`). `standard` holds
/// Porter's built-in families, one line each; other targets add theirs with `register(_:)`.
public struct ArchitectureRegistry: Sendable {
    private var byType: [String: any GraphBuilder] = [:]
    private var byArchitecture: [String: String] = [:]

    public init(_ builders: [any GraphBuilder] = []) {
        for b in builders { register(b) }
    }

    /// The built-in families: one descriptor per line.
    public static let standard = ArchitectureRegistry([
        BERTDescriptor(),
        GPT2Descriptor(),
        FSMTDescriptor(),
        LlamaDescriptor(),
        MistralDescriptor(),
        Qwen2Descriptor(),
        Qwen3Descriptor(),
        GemmaDescriptor(),
        Gemma2Descriptor(),
        Phi3Descriptor(),
    ])

    /// Adds (or replaces) the builder for each of its model types (and, for a descriptor,
    /// its transformers class names).
    public mutating func register(_ builder: any GraphBuilder) {
        for t in builder.modelTypes { byType[t] = builder }
        if let d = builder as? any ArchitectureDescriptor, let first = builder.modelTypes.first {
            for a in d.architectureNames { byArchitecture[a] = first }
        }
    }

    public var modelTypes: [String] { byType.keys.sorted() }

    /// Every registered descriptor once, by family name.
    public var descriptors: [any ArchitectureDescriptor] {
        var seen = Set<String>()
        return modelTypes.compactMap { byType[$0] as? any ArchitectureDescriptor }.filter { seen.insert($0.family).inserted }
    }

    public func builder(forModelType type: String) -> (any GraphBuilder)? { byType[type] }

    /// The model type `config` names: `model_type`, else the type registered for `architectures[0]`.
    public func modelType(of config: JSONValue) -> String? {
        if let t = config["model_type"]?.stringValue { return t }
        if let a = config["architectures"]?.arrayValue?.first?.stringValue { return byArchitecture[a] }
        return nil
    }

    /// The descriptor of `config`'s architecture, nil when none is registered.
    public func descriptor(for config: JSONValue) -> (any ArchitectureDescriptor)? {
        modelType(of: config).flatMap { byType[$0] } as? any ArchitectureDescriptor
    }

    /// The first descriptor (by model_type order) whose files have GGUF `general.architecture`
    /// `arch` and that can read them back (`hfConfig(fromGGUF:)`): `llama` is Llama's, not Mistral's.
    public func descriptor(ggufArchitecture arch: String) -> (any ArchitectureDescriptor)? {
        descriptors.first { $0.ggufArchitecture == arch && $0.ggufInverseMapping != nil }
    }

    /// The descriptor whose `family` is `name` (mapping templates name families).
    public func descriptor(family name: String) -> (any ArchitectureDescriptor)? {
        descriptors.first { $0.family == name } ?? (byType[name] as? any ArchitectureDescriptor)
    }

    /// Builds the graph for `config` by its `model_type` (or `architectures[0]`).
    public func buildGraph(config: JSONValue, tensorNames: Set<String>) throws -> Graph {
        let type = modelType(of: config)
        guard let type, let builder = byType[type] else { throw ArchitectureError.unknownModelType(config["model_type"]?.stringValue ?? type) }
        var config = config
        if config["model_type"] == nil, var o = config.objectValue { o["model_type"] = .string(type); config = .object(o) }
        let graph = try builder.build(config: config, tensorNames: tensorNames)
        // Every built graph fits the op specs (PorterOps.OpError naming the node otherwise).
        _ = try GraphValidator.validate(graph, weightNames: tensorNames)
        return graph
    }
}

/// The prefix in front of `suffix` in the checkpoint's names (`bert.` for
/// `bert.embeddings.word_embeddings.weight`), or nil when no name ends with it.
func namePrefix(of suffix: String, in names: Set<String>) -> String? {
    if names.contains(suffix) { return "" }
    let candidates = names.filter { $0.hasSuffix("." + suffix) }.map { String($0.dropLast(suffix.count)) }
    return candidates.min(by: { $0.count < $1.count })
}
