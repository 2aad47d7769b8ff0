import Foundation
import PorterCore

/// What a conversion did with every tensor, as plain data the pipeline fills in. The
/// verifier replays `produced` against the source model and puts the whole summary in
/// the report.
public struct ConversionSummary: Sendable, Codable, Equatable {
    /// A tensor of the converted model and how it was made.
    public struct ProducedTensor: Sendable, Codable, Equatable {
        /// Name in the converted model.
        public var name: String
        /// Names in the source model it was made from (several for a concat).
        public var sources: [String]
        /// Provenance steps in order, typed (`TransformStep`). Steps the source tensor
        /// already carried when read are skipped on replay.
        public var transforms: [TransformStep]

        public init(name: String, sources: [String], transforms: [TransformStep]) {
            self.name = name
            self.sources = sources
            self.transforms = transforms
        }
    }

    /// A source tensor deliberately not carried over.
    public struct Dropped: Sendable, Codable, Equatable {
        public var name: String
        public var reason: String
        public var byteCount: Int

        public init(name: String, reason: String, byteCount: Int) {
            self.name = name
            self.reason = reason
            self.byteCount = byteCount
        }
    }

    /// A source tensor no mapping rule matched.
    public struct Unmapped: Sendable, Codable, Equatable {
        public var name: String
        public var byteCount: Int
        /// True when it was carried over under its source name (`--allow-unmapped`).
        public var carriedOver: Bool

        public init(name: String, byteCount: Int, carriedOver: Bool) {
            self.name = name
            self.byteCount = byteCount
            self.carriedOver = carriedOver
        }
    }

    /// Mapping name, nil when none was applied.
    public var mapping: String?
    /// Requested `--dtype` (`keep`, `f16`, ...), nil when not stated.
    public var dtype: String?
    public var produced: [ProducedTensor]
    public var dropped: [Dropped]
    public var unmapped: [Unmapped]
    /// Tensor name → values that overflowed to infinity in a cast.
    public var overflows: [String: Int]
    /// Why the mapping did not carry the source's graph over (`MappingAccounting.graphDropped`);
    /// the forward level is then skipped with this reason.
    public var graphDropped: String?

    public init(mapping: String? = nil, dtype: String? = nil, produced: [ProducedTensor] = [], dropped: [Dropped] = [],
                unmapped: [Unmapped] = [], overflows: [String: Int] = [:], graphDropped: String? = nil) {
        self.graphDropped = graphDropped
        self.mapping = mapping
        self.dtype = dtype
        self.produced = produced
        self.dropped = dropped
        self.unmapped = unmapped
        self.overflows = overflows
    }

    /// Builds `produced` from the provenance of the converted model as it was in memory
    /// before writing (after mapping and casts). A concat's sources are the names its
    /// step lists; otherwise the provenance's source name is resolved to a name of
    /// `source`'s tensors. When a reader
    /// already split one file tensor into several (fairseq's `in_proj_weight` into q, k,
    /// v), they share a provenance name; the one whose steps the converted tensor
    /// continues is its source.
    public init(convertedInMemory converted: NeutralModel, source: NeutralModel, mapping: String? = nil, dtype: String? = nil,
                dropped: [DroppedTensor] = [], unmapped: [Unmapped] = [], overflows: [String: Int] = [:], graphDropped: String? = nil) {
        var byProvenanceName: [String: [TensorEntry]] = [:]
        for entry in source.tensors { byProvenanceName[entry.provenance.sourceName, default: []].append(entry) }
        let produced = converted.tensors.map { entry -> ProducedTensor in
            func resolve(_ name: String) -> String {
                let candidates = byProvenanceName[name] ?? []
                let continued = candidates.filter { entry.provenance.transforms.starts(with: $0.provenance.transforms) }
                if let best = continued.max(by: { $0.provenance.transforms.count < $1.provenance.transforms.count }) { return best.name }
                if source.tensors[name] != nil { return name }
                return candidates.first?.name ?? name
            }
            let concatSources = entry.provenance.transforms.lazy.compactMap { step -> [String]? in
                if case let .concat(_, sources, _) = step { return sources }
                return nil
            }.first
            let names = concatSources ?? [resolve(entry.provenance.sourceName)]
            return ProducedTensor(name: entry.name, sources: names, transforms: entry.provenance.transforms)
        }
        self.init(mapping: mapping, dtype: dtype, produced: produced,
                  dropped: dropped.map { Dropped(name: $0.name, reason: $0.reason, byteCount: $0.byteCount) },
                  unmapped: unmapped, overflows: overflows, graphDropped: graphDropped)
    }

    public var droppedBytes: Int { dropped.reduce(0) { $0 + $1.byteCount } }
    public var unmappedBytes: Int { unmapped.reduce(0) { $0 + $1.byteCount } }
}
