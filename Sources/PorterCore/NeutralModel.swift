/// A source tensor that was deliberately not carried over, and why.
public struct DroppedTensor: Sendable, Codable, Hashable {
    public var name: String
    public var reason: String
    public var byteCount: Int
    public var sourceFile: String

    public init(name: String, reason: String, byteCount: Int, sourceFile: String) {
        self.name = name
        self.reason = reason
        self.byteCount = byteCount
        self.sourceFile = sourceFile
    }
}

/// Porter's framework-neutral model: named weights, an optional graph over the
/// neutral op set, config, assets, and the accounting of everything left behind.
public struct NeutralModel: Sendable {
    /// Format id of the reader that produced it (`safetensors`, `pytorch-zip`, ...).
    public var sourceFormat: String
    /// Files that were read.
    public var sourceFiles: [String]
    public var tensors: TensorStore
    public var graph: Graph?
    /// Why the reader could not give the model a graph (the Keras layer or TF op it cannot
    /// express), nil when it has one or never could. The verifier reports it as the reason
    /// a forward level is skipped, rather than the config's lack of a `model_type`.
    public var graphUnavailable: String?
    /// Model configuration (e.g. transformers `config.json`, fairseq args).
    public var config: JSONValue
    /// Free-form string metadata carried by the source (safetensors `__metadata__`).
    public var metadata: [String: String]
    public var assets: [Asset]
    /// Source tensors not carried over, each with its reason.
    public var dropped: [DroppedTensor]
    /// Things a user should know (skipped non-tensor entries, fallbacks taken).
    public var notes: [String]

    public init(sourceFormat: String, sourceFiles: [String], tensors: TensorStore = TensorStore(), graph: Graph? = nil,
                config: JSONValue = .object([:]), metadata: [String: String] = [:], assets: [Asset] = [],
                dropped: [DroppedTensor] = [], notes: [String] = []) {
        self.sourceFormat = sourceFormat
        self.sourceFiles = sourceFiles
        self.tensors = tensors
        self.graph = graph
        self.config = config
        self.metadata = metadata
        self.assets = assets
        self.dropped = dropped
        self.notes = notes
    }
}
