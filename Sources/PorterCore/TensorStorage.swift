import Foundation

/// Where a storage's bytes are on the machine.
public enum StorageBacking: Sendable {
    /// A byte range of an open file; mapped only while someone reads it.
    case file(OpenFile, offset: Int)
    /// Bytes already in memory (small tensors, transform results).
    case memory([UInt8])
    /// Bytes produced on demand (deflated entries, computed transforms). Results up to
    /// `TensorStorage.deferredCacheLimit` bytes are cached while the process holds less
    /// than `TensorStorage.deferredCacheBudget` of them; others are remade on each read,
    /// so that streaming a big model keeps memory bounded.
    case deferred(@Sendable () throws -> [UInt8])
}

/// One contiguous run of bytes that one or more tensors view (PyTorch's "storage").
///
/// Identity matters: two tensors over the same `TensorStorage` object alias each
/// other, and writers that can express sharing keep it.
public final class TensorStorage: @unchecked Sendable {
    public let byteCount: Int
    public let backing: StorageBacking
    /// Names the storage in errors, e.g. `model.pt:archive/data/3`.
    public let label: String
    /// Set when the bytes can also be streamed in bounded chunks (a cast): writers use
    /// it through `OutputFile.write(tensor:)` instead of materialising `backing`.
    public let chunked: (any ChunkedByteSource)?
    private let lock = NSLock()
    private var cached: [UInt8]?

    public init(byteCount: Int, backing: StorageBacking, label: String, chunked: (any ChunkedByteSource)? = nil) {
        self.byteCount = byteCount
        self.backing = backing
        self.label = label
        self.chunked = chunked
    }

    /// A storage over `count` bytes at `offset` of `file`, checked against the file size.
    public static func file(_ file: OpenFile, offset: Int, count: Int, label: String) throws -> TensorStorage {
        try file.checkRange(offset: offset, count: count)
        return TensorStorage(byteCount: count, backing: .file(file, offset: offset), label: label)
    }

    public static func memory(_ bytes: [UInt8], label: String) -> TensorStorage {
        TensorStorage(byteCount: bytes.count, backing: .memory(bytes), label: label)
    }

    /// Calls `body` with the bytes in `range` (relative to the storage start).
    public func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        guard range.lowerBound >= 0, range.upperBound <= byteCount else {
            throw CoreError.truncated(source: label, offset: range.lowerBound, needed: range.count, available: max(0, byteCount - range.lowerBound))
        }
        switch backing {
        case let .file(file, offset):
            return try file.withMappedBytes(offset: offset + range.lowerBound, count: range.count, body)
        case let .memory(bytes):
            return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
        case let .deferred(make):
            let bytes = try materialized(make)
            return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
        }
    }

    /// Deferred results at most this large are kept after the first read.
    public static let deferredCacheLimit = 16 << 20
    /// At most this many bytes of deferred results are kept across all storages (a
    /// `--dtype f16` conversion of a large model would otherwise keep every cast tensor).
    public static let deferredCacheBudget = 128 << 20
    private static let budgetLock = NSLock()
    nonisolated(unsafe) private static var cachedTotal = 0

    /// Bytes of deferred results currently cached, process-wide.
    public static var cachedDeferredBytes: Int {
        budgetLock.lock()
        defer { budgetLock.unlock() }
        return cachedTotal
    }

    private static func reserve(_ count: Int) -> Bool {
        budgetLock.lock()
        defer { budgetLock.unlock() }
        guard cachedTotal + count <= deferredCacheBudget else { return false }
        cachedTotal += count
        return true
    }

    deinit {
        if let cached {
            Self.budgetLock.lock()
            Self.cachedTotal -= cached.count
            Self.budgetLock.unlock()
        }
    }

    private func materialized(_ make: @Sendable () throws -> [UInt8]) throws -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let bytes = try make()
        guard bytes.count == byteCount else {
            throw CoreError.storageFailed(source: label, reason: "produced \(bytes.count) bytes, expected \(byteCount)")
        }
        if byteCount <= TensorStorage.deferredCacheLimit, TensorStorage.reserve(byteCount) { cached = bytes }
        return bytes
    }
}
