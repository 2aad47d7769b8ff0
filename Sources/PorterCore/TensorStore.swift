/// Where a tensor came from and what was done to it on the way.
public struct Provenance: Sendable, Codable, Hashable {
    /// File the bytes were read from (path as given by the user).
    public var sourceFile: String
    /// The tensor's name in that file.
    public var sourceName: String
    /// Transforms applied in order, as typed steps (replayed by the verifier).
    public var transforms: [TransformStep]

    public init(sourceFile: String, sourceName: String, transforms: [TransformStep] = []) {
        self.sourceFile = sourceFile
        self.sourceName = sourceName
        self.transforms = transforms
    }
}

/// A named tensor in a model.
public struct TensorEntry: Sendable {
    public var name: String
    public var tensor: TensorRef
    public var provenance: Provenance

    public init(name: String, tensor: TensorRef, provenance: Provenance) {
        self.name = name
        self.tensor = tensor
        self.provenance = provenance
    }
}

/// An ordered, name-unique collection of tensors. Aliases (two names viewing the same
/// elements of one storage) are kept as aliases: see `aliasTarget(of:)`.
public struct TensorStore: Sendable, Sequence {
    public private(set) var entries: [TensorEntry] = []
    private var index: [String: Int] = [:]

    public init() {}
    public init(_ entries: [TensorEntry]) throws {
        for e in entries { try add(e) }
    }

    public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
        case duplicateName(String)
        public var description: String {
            switch self { case let .duplicateName(n): return "two tensors are named \(n)" }
        }
    }

    public mutating func add(_ entry: TensorEntry) throws {
        guard index[entry.name] == nil else { throw StoreError.duplicateName(entry.name) }
        index[entry.name] = entries.count
        entries.append(entry)
    }

    /// Adds or replaces by name.
    public mutating func set(_ entry: TensorEntry) {
        if let i = index[entry.name] { entries[i] = entry } else {
            index[entry.name] = entries.count
            entries.append(entry)
        }
    }

    @discardableResult
    public mutating func remove(_ name: String) -> TensorEntry? {
        guard let i = index[name] else { return nil }
        let removed = entries.remove(at: i)
        index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($1.name, $0) })
        return removed
    }

    public subscript(name: String) -> TensorEntry? {
        index[name].map { entries[$0] }
    }

    public var names: [String] { entries.map(\.name) }
    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }

    public func makeIterator() -> IndexingIterator<[TensorEntry]> { entries.makeIterator() }

    /// For each name that views exactly the same elements as an earlier entry, that
    /// earlier entry's name. Writers that cannot express sharing write the target once.
    public func aliases() -> [String: String] {
        var result: [String: String] = [:]
        var seen: [ObjectIdentifier: [Int]] = [:]
        for (i, e) in entries.enumerated() {
            let key = ObjectIdentifier(e.tensor.storage)
            if let earlier = seen[key]?.first(where: { entries[$0].tensor.isSameView(as: e.tensor) }) {
                result[e.name] = entries[earlier].name
            } else {
                seen[key, default: []].append(i)
            }
        }
        return result
    }

    /// Total bytes of all tensors, counting aliases once.
    public var uniqueByteCount: Int {
        let a = aliases()
        return entries.filter { a[$0.name] == nil }.reduce(0) { $0 + $1.tensor.byteCount }
    }

    /// Total element count, counting aliases once.
    public var parameterCount: Int {
        let a = aliases()
        return entries.filter { a[$0.name] == nil }.reduce(0) { $0 + $1.tensor.elementCount }
    }
}
