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

/// Why a graph could not be built.
public enum ArchitectureError: LocalizedError, Sendable, Equatable {
    /// No builder handles this `model_type` (nil when the config has none).
    case unknownModelType(String?)
    /// A required config key is missing or has the wrong type.
    case badConfig(model: String, key: String, detail: String)
    /// A tensor the graph needs is not in the checkpoint.
    case missingTensor(model: String, name: String)

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
        }
    }
}

/// Graph builders keyed by config `model_type`. `standard` holds Porter's built-in
/// builders; other targets add theirs with `register(_:)`.
public struct ArchitectureRegistry: Sendable {
    private var byType: [String: any GraphBuilder] = [:]

    public init(_ builders: [any GraphBuilder] = []) {
        for b in builders { register(b) }
    }

    /// The built-in builders: BERT, RoBERTa, GPT-2, FSMT.
    public static let standard = ArchitectureRegistry([BERTBuilder(), GPT2Builder(), FSMTBuilder()])

    /// Adds (or replaces) the builder for each of its model types.
    public mutating func register(_ builder: any GraphBuilder) {
        for t in builder.modelTypes { byType[t] = builder }
    }

    public var modelTypes: [String] { byType.keys.sorted() }

    public func builder(forModelType type: String) -> (any GraphBuilder)? { byType[type] }

    /// Builds the graph for `config` by its `model_type`.
    public func buildGraph(config: JSONValue, tensorNames: Set<String>) throws -> Graph {
        let type = config["model_type"]?.stringValue
        guard let type, let builder = byType[type] else { throw ArchitectureError.unknownModelType(type) }
        let graph = try builder.build(config: config, tensorNames: tensorNames)
        // Every built graph fits the op specs (PorterOps.OpError naming the node otherwise).
        _ = try GraphValidator.validate(graph, weightNames: tensorNames)
        return graph
    }
}

/// Reads typed values from a config, reporting the key path on failure.
struct ConfigReader {
    let config: JSONValue
    let model: String

    func int(_ key: String) throws -> Int {
        guard let v = config[key]?.intValue else { throw ArchitectureError.badConfig(model: model, key: key, detail: "is missing or not an integer") }
        return v
    }
    func int(_ key: String, default value: Int) throws -> Int {
        guard let raw = config[key], !raw.isNull else { return value }
        guard let v = raw.intValue else { throw ArchitectureError.badConfig(model: model, key: key, detail: "is not an integer") }
        return v
    }
    func optionalInt(_ key: String) throws -> Int? {
        guard let raw = config[key], !raw.isNull else { return nil }
        guard let v = raw.intValue else { throw ArchitectureError.badConfig(model: model, key: key, detail: "is not an integer") }
        return v
    }
    func double(_ key: String, default value: Double) throws -> Double {
        guard let raw = config[key], !raw.isNull else { return value }
        guard let v = raw.doubleValue else { throw ArchitectureError.badConfig(model: model, key: key, detail: "is not a number") }
        return v
    }
    func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let raw = config[key], !raw.isNull else { return value }
        guard let v = raw.boolValue else { throw ArchitectureError.badConfig(model: model, key: key, detail: "is not true/false") }
        return v
    }
    func string(_ key: String, default value: String) throws -> String {
        guard let raw = config[key], !raw.isNull else { return value }
        guard let v = raw.stringValue else { throw ArchitectureError.badConfig(model: model, key: key, detail: "is not a string") }
        return v
    }
}

/// The prefix in front of `suffix` in the checkpoint's names (`bert.` for
/// `bert.embeddings.word_embeddings.weight`), or nil when no name ends with it.
func namePrefix(of suffix: String, in names: Set<String>) -> String? {
    if names.contains(suffix) { return "" }
    let candidates = names.filter { $0.hasSuffix("." + suffix) }.map { String($0.dropLast(suffix.count)) }
    return candidates.min(by: { $0.count < $1.count })
}
