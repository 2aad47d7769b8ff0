import Foundation
import PorterCore

/// Outcome of one verification level.
public enum LevelStatus: String, Sendable, Codable, Equatable {
    case passed, failed, skipped
}

/// A model as the report describes it.
public struct ModelDescription: Sendable, Codable, Equatable {
    public var path: String
    /// Reader format id (`safetensors`, `hf`, ...).
    public var format: String
    public var tensorCount: Int
    public var parameterCount: Int
    /// Float dtypes of the weights, sorted (`["f16"]`, `["f32"]`).
    public var dtypes: [String]
    /// Where its graph came from (`builder:bert`, `keras model_config`), nil when none.
    public var graph: String?

    public init(path: String, format: String, tensorCount: Int, parameterCount: Int, dtypes: [String], graph: String?) {
        self.path = path
        self.format = format
        self.tensorCount = tensorCount
        self.parameterCount = parameterCount
        self.dtypes = dtypes
        self.graph = graph
    }
}

/// A converted tensor that does not equal its replayed source.
public struct WeightMismatch: Sendable, Codable, Equatable {
    public var name: String
    public var sources: [String]
    public var transforms: [TransformStep]
    /// Why it failed, in a sentence.
    public var problem: String
    /// Elements that differ (bitwise), when both sides could be read with equal shapes.
    public var differingElements: Int?
    /// Largest absolute difference of the float values, when comparable.
    public var maxAbs: Double?

    public init(name: String, sources: [String], transforms: [TransformStep], problem: String, differingElements: Int? = nil, maxAbs: Double? = nil) {
        self.name = name
        self.sources = sources
        self.transforms = transforms
        self.problem = problem
        self.differingElements = differingElements
        self.maxAbs = maxAbs
    }
}

/// Level 1: every converted tensor equals its source after the mapping.
public struct WeightsLevel: Sendable, Codable, Equatable {
    public var status: LevelStatus
    /// Converted tensors checked.
    public var checked: Int
    /// Equal byte for byte with no cast on the way.
    public var bitExact: Int
    /// Equal byte for byte with the source re-cast the same way (within the cast's rounding).
    public var castExact: Int
    public var mismatches: [WeightMismatch]
    /// Source tensors neither converted nor dropped.
    public var missing: [String]
    /// Converted tensors that come from no source tensor.
    public var unexpected: [String]

    public init(status: LevelStatus, checked: Int, bitExact: Int, castExact: Int, mismatches: [WeightMismatch], missing: [String], unexpected: [String]) {
        self.status = status
        self.checked = checked
        self.bitExact = bitExact
        self.castExact = castExact
        self.mismatches = mismatches
        self.missing = missing
        self.unexpected = unexpected
    }
}

/// A graph input as fed to the models.
public struct InputDescription: Sendable, Codable, Equatable {
    public var name: String
    public var dtype: String
    public var shape: [Int]
    /// How the values were made (`seeded ids in [0, 99)`, `from reference`).
    public var origin: String

    public init(name: String, dtype: String, shape: [Int], origin: String) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.origin = origin
    }
}

/// One output compared index by index.
public struct OutputComparison: Sendable, Codable, Equatable {
    public var name: String
    public var shape: [Int]
    public var metrics: ComparisonMetrics
    public var withinTolerance: Bool

    public init(name: String, shape: [Int], metrics: ComparisonMetrics) {
        self.name = name
        self.shape = shape
        self.metrics = metrics
        self.withinTolerance = metrics.withinTolerance
    }
}

/// The first node (in execution order) whose output differs beyond tolerance.
public struct Divergence: Sendable, Codable, Equatable {
    public var node: String
    public var op: String
    public var output: String
    /// Position of the node among the compared node outputs (0-based).
    public var position: Int
    /// The node's inputs that are weights (the likely culprits).
    public var weights: [String]
    public var metrics: ComparisonMetrics

    public init(node: String, op: String, output: String, position: Int, weights: [String], metrics: ComparisonMetrics) {
        self.node = node
        self.op = op
        self.output = output
        self.position = position
        self.weights = weights
        self.metrics = metrics
    }
}

/// Error of one layer (a group of nodes: embeddings, each encoder/decoder layer, head),
/// measured at the group's last node output.
public struct LayerError: Sendable, Codable, Equatable {
    public var layer: String
    public var node: String
    public var maxAbs: Double
    public var meanAbs: Double
    public var withinTolerance: Bool
    /// The node output's `ComparisonMetrics.toleranceFraction` (absent in older reports).
    public var toleranceFraction: Double? = nil

    public init(layer: String, node: String, maxAbs: Double, meanAbs: Double, withinTolerance: Bool, toleranceFraction: Double? = nil) {
        self.layer = layer
        self.node = node
        self.maxAbs = maxAbs
        self.meanAbs = meanAbs
        self.withinTolerance = withinTolerance
        self.toleranceFraction = toleranceFraction
    }
}

/// Level 2: both models run on the same seeded inputs.
public struct ForwardLevel: Sendable, Codable, Equatable {
    public var status: LevelStatus
    /// Why it was skipped or could not run.
    public var reason: String?
    public var seed: UInt64
    public var inputs: [InputDescription]
    public var outputs: [OutputComparison]
    public var firstDivergence: Divergence?
    /// Per-layer error series (filled when the outputs differ beyond tolerance, or always
    /// with `Verifier.Options.alwaysTraceLayers`).
    public var layers: [LayerError]

    public init(status: LevelStatus, reason: String? = nil, seed: UInt64, inputs: [InputDescription] = [], outputs: [OutputComparison] = [],
                firstDivergence: Divergence? = nil, layers: [LayerError] = []) {
        self.status = status
        self.reason = reason
        self.seed = seed
        self.inputs = inputs
        self.outputs = outputs
        self.firstDivergence = firstDivergence
        self.layers = layers
    }
}

/// Level 3: the converted model against outputs recorded by the original framework.
public struct ReferenceLevel: Sendable, Codable, Equatable {
    public var status: LevelStatus
    public var reason: String?
    public var path: String
    public var inputs: [InputDescription]
    public var outputs: [OutputComparison]
    /// Reference outputs the converted graph does not produce.
    public var notCompared: [String]

    public init(status: LevelStatus, reason: String? = nil, path: String, inputs: [InputDescription] = [], outputs: [OutputComparison] = [], notCompared: [String] = []) {
        self.status = status
        self.reason = reason
        self.path = path
        self.inputs = inputs
        self.outputs = outputs
        self.notCompared = notCompared
    }
}

/// The tolerance used for outputs and why.
public struct ToleranceUsed: Sendable, Codable, Equatable {
    public var atol: Double
    public var rtol: Double
    /// The dtype whose default applied (the least precise float dtype of the two models).
    public var basis: String
    /// True when `--atol`/`--rtol` replaced a default.
    public var overridden: Bool
    /// Whose default it is: `descriptor:<family>` when the model's architecture descriptor
    /// declares one for `basis`; absent for Porter's per-dtype default.
    public var from: String?

    public init(atol: Double, rtol: Double, basis: String, overridden: Bool, from: String? = nil) {
        self.atol = atol
        self.rtol = rtol
        self.basis = basis
        self.overridden = overridden
        self.from = from
    }
}

/// Everything a verification found. `passed` is false when any level failed; skipped
/// levels say why. Schema: `docs/report-schema.md` (`porter-report/2`).
public struct VerificationReport: Sendable, Codable, Equatable {
    public static let schemaVersion = "porter-report/2"

    public var schema: String
    public var porterVersion: String
    /// ISO 8601 time of the run; nil leaves it out (goldens).
    public var createdAt: String?
    public var passed: Bool
    /// One sentence per failed check.
    public var failures: [String]
    public var source: ModelDescription
    public var converted: ModelDescription
    public var conversion: ConversionSummary?
    public var tolerance: ToleranceUsed
    public var weights: WeightsLevel
    public var forward: ForwardLevel
    public var reference: ReferenceLevel?
    /// The tokenizer level (absent when it was not run, e.g. reports of older Porter versions).
    public var tokenizer: TokenizerLevel? = nil
    /// Things worth knowing that are not failures.
    public var notes: [String]

    public init(porterVersion: String = PorterVersion.current, createdAt: String? = nil, passed: Bool, failures: [String],
                source: ModelDescription, converted: ModelDescription, conversion: ConversionSummary?, tolerance: ToleranceUsed,
                weights: WeightsLevel, forward: ForwardLevel, reference: ReferenceLevel?, notes: [String] = []) {
        self.schema = Self.schemaVersion
        self.porterVersion = porterVersion
        self.createdAt = createdAt
        self.passed = passed
        self.failures = failures
        self.source = source
        self.converted = converted
        self.conversion = conversion
        self.tolerance = tolerance
        self.weights = weights
        self.forward = forward
        self.reference = reference
        self.notes = notes
    }
}
