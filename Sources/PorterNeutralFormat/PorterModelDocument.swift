import Foundation
import PorterCore

/// The schema of `model.json`, the description file of Porter's on-disk form
/// (see `docs/neutral-format.md`).
public struct PorterModelDocument: Codable, Sendable, Equatable {
    /// Always `porter-model`.
    public var format: String
    /// Major version of the layout; readers refuse newer majors.
    public var version: Int
    public var sourceFormat: String
    public var sourceFiles: [String]
    public var config: JSONValue
    public var metadata: [String: String]
    public var graph: Graph?
    /// Why the source had no graph (`NeutralModel.graphUnavailable`); absent when it had one.
    public var graphUnavailable: String?
    /// Where the weights are, relative to the folder.
    public var weights: Weights
    /// Every tensor, in model order.
    public var tensors: [Tensor]
    public var dropped: [DroppedTensor]
    public var notes: [String]
    public var assets: [AssetRecord]

    public static let formatName = "porter-model"
    /// The version this build writes and the newest major it reads. Version 2 stores
    /// provenance steps as typed objects (`TransformStep`); version 1 stored them as prose,
    /// converted once at load (`LegacyProvenance`).
    public static let currentVersion = 2
    /// The oldest version this build reads.
    public static let oldestReadableVersion = 1

    public struct Weights: Codable, Sendable, Equatable {
        /// `weights.safetensors` when in one file.
        public var file: String?
        /// `weights.safetensors.index.json` when sharded.
        public var index: String?
        /// Bytes of tensor data (aliases once).
        public var totalSize: Int
    }

    public struct Tensor: Codable, Sendable, Equatable {
        public var name: String
        public var dtype: DType
        public var shape: Shape
        /// Set when this name views the same elements as an earlier tensor (tied weights).
        public var aliasOf: String?
        public var provenance: Provenance
    }

    public struct AssetRecord: Codable, Sendable, Equatable {
        public var kind: String
        /// Name under `assets/`.
        public var fileName: String
        public var sha256: String
        public var bytes: Int
    }
}
