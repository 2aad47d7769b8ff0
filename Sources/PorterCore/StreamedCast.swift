import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a cast is cut into bounded chunks: `elementsPerChunk` elements each (the last one
/// shorter), so a chunk's input and output stay within a few MiB whatever the tensor size.
public struct CastChunks: Sendable {
    /// 1 Mi elements: 2–4 MiB of input and of output for f16/bf16/f32 (8 MiB for f64).
    public static let defaultElementsPerChunk = 1 << 20

    public let count: Int
    public let elementsPerChunk: Int

    public init(count: Int, elementsPerChunk: Int = CastChunks.defaultElementsPerChunk) {
        self.count = count
        self.elementsPerChunk = max(1, elementsPerChunk)
    }

    public var chunkCount: Int { count == 0 ? 0 : (count - 1) / elementsPerChunk + 1 }

    /// Element range of chunk `index`.
    public func range(of index: Int) -> Range<Int> {
        let start = index * elementsPerChunk
        return start..<min(count, start + elementsPerChunk)
    }

    /// Worker threads a cast uses: the active cores (`PORTER_CAST_THREADS` overrides, for
    /// measurements), never more than there are chunks.
    public static func workers(for chunkCount: Int) -> Int {
        let env = ProcessInfo.processInfo.environment["PORTER_CAST_THREADS"].flatMap(Int.init)
        let cores = max(1, env ?? ProcessInfo.processInfo.activeProcessorCount)
        return max(1, min(cores, chunkCount))
    }

    /// Runs `body(worker, workers)` on each worker thread (inline when one suffices).
    /// Worker `w` takes chunks `w, w + workers, …`.
    static func forEachWorker(_ chunkCount: Int, _ body: (Int, Int) -> Void) {
        let workers = workers(for: chunkCount)
        if workers == 1 { body(0, 1); return }
        withoutActuallyEscaping(body) { escaping in
            // The workers touch disjoint chunks; shared state is behind `ParallelCount`'s lock.
            let work = UncheckedSendable(value: escaping)
            DispatchQueue.concurrentPerform(iterations: workers) { work.value($0, workers) }
        }
    }
}

/// A reusable f32 buffer for casts that widen through float (f16 → bf16); one per thread.
public final class CastScratch {
    private var buffer: UnsafeMutablePointer<Float>?
    private var capacity = 0

    public init() {}

    /// At least `count` floats, valid until the next call.
    func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity || buffer == nil {
            buffer?.deallocate()
            buffer = .allocate(capacity: max(count, 1))
            capacity = count
        }
        return buffer!
    }

    deinit { buffer?.deallocate() }
}

struct UncheckedSendable<T>: @unchecked Sendable { let value: T }

/// Raw pointers handed to worker threads that touch disjoint ranges of them.
struct UnsafeSendablePointers: @unchecked Sendable {
    let src: UnsafeRawPointer
    let dst: UnsafeMutableRawPointer
}

/// A sum and the first error across worker threads.
final class ParallelCount: @unchecked Sendable {
    private let lock = NSLock()
    private var sum = 0
    private var firstError: (any Error)?

    func add(_ n: Int) { lock.lock(); sum += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return sum }

    func fail(_ error: any Error) { lock.lock(); if firstError == nil { firstError = error }; lock.unlock() }
    var failed: Bool { lock.lock(); defer { lock.unlock() }; return firstError != nil }
    func rethrow() throws { lock.lock(); let e = firstError; lock.unlock(); if let e { throw e } }
}

/// A storage whose bytes a writer can stream in bounded chunks instead of materialising
/// them (`OutputFile.write(tensor:)` asks for it before falling back to the whole bytes).
public protocol ChunkedByteSource: Sendable {
    /// Writes bytes `range` of the storage to `out` at its current end.
    func write(_ range: Range<Int>, to out: OutputFile) throws
}

/// The bytes of `source` cast to `target`, produced chunk by chunk: each worker reads a
/// chunk of the source (`pread` into its own buffer when the source lies in a file, so
/// the source's pages are not mapped into Porter), casts it (`castChunk`) and writes it
/// at its place in the output (`pwrite`). Memory: per worker one input and one output
/// chunk, whatever the tensor size. Sources that are neither in a file nor in memory
/// as contiguous little-endian bytes (strided views, deferred transforms) are
/// materialised once, then cast in chunks.
public struct StreamedCast: ChunkedByteSource {
    public let source: TensorRef
    public let target: DType
    public let name: String
    public let tally: OverflowTally?
    public let elementsPerChunk: Int

    public init(source: TensorRef, target: DType, name: String, tally: OverflowTally?,
                elementsPerChunk: Int = CastChunks.defaultElementsPerChunk) {
        self.source = source
        self.target = target
        self.name = name
        self.tally = tally
        self.elementsPerChunk = elementsPerChunk
    }

    public func write(_ range: Range<Int>, to out: OutputFile) throws {
        let outSize = target.byteSize, inSize = source.dtype.byteSize
        guard range.lowerBound % outSize == 0, range.count % outSize == 0 else {
            throw CoreError.storageFailed(source: name, reason: "byte range \(range) of a \(target.rawValue) cast is not whole elements")
        }
        let first = range.lowerBound / outSize
        let chunks = CastChunks(count: range.count / outSize, elementsPerChunk: elementsPerChunk)
        let from = source.dtype, to = target
        let overflows: Int
        if source.isDirectlyReadable, case let .file(file, base) = source.storage.backing {
            let start = base + source.contiguousByteRange.lowerBound + first * inSize
            try file.checkRange(offset: start, count: chunks.count * inSize)
            overflows = try Self.run(chunks, out: out, outSize: outSize) { r, dst, scratch in
                let buf = scratch.input.bytes(r.count * inSize)
                try file.readFully(into: buf, offset: start + r.lowerBound * inSize)
                return FloatConversion.castChunk(buf.baseAddress!, from: from, into: dst, to: to, count: r.count, scratch: scratch.floats)
            }
        } else {
            let resident: TensorRef = source.isDirectlyReadable ? source
                : TensorRef.memory(try source.contiguousBytes(), dtype: from, shape: source.shape, label: name)
            overflows = try resident.withContiguousBytes { all -> Int in
                guard let base = all.baseAddress else { return 0 }
                let src = UnsafeSendablePointers(src: base + first * inSize, dst: UnsafeMutableRawPointer(mutating: base))
                return try Self.run(chunks, out: out, outSize: outSize) { r, dst, scratch in
                    FloatConversion.castChunk(src.src + r.lowerBound * inSize, from: from, into: dst, to: to, count: r.count, scratch: scratch.floats)
                }
            }
        }
        tally?.record(name, overflows)
    }

    /// Whether `read(elements:into:)` works a chunk at a time: the source lies contiguous
    /// in a file or in memory. Other sources (strided views, deferred transforms) would be
    /// remade on every call; readers take their whole bytes instead.
    public var readsInChunks: Bool {
        guard source.isDirectlyReadable else { return false }
        switch source.storage.backing {
        case .file, .memory: return true
        case .deferred: return false
        }
    }

    /// Casts source elements `elements` into `buffer` (`elements.count × target.byteSize`
    /// bytes), reading only that part of the source: for consumers that take the cast a
    /// chunk at a time, such as the GGUF block quantizer. Requires `readsInChunks`. Returns
    /// the chunk's overflow count; the caller records the tensor's sum in `tally`.
    public func read(elements: Range<Int>, into buffer: UnsafeMutableRawBufferPointer, scratch: CastScratch) throws -> Int {
        let inSize = source.dtype.byteSize, outSize = target.byteSize
        guard readsInChunks, elements.lowerBound >= 0, elements.upperBound <= source.elementCount,
              buffer.count == elements.count * outSize, let dst = buffer.baseAddress else {
            throw CoreError.storageFailed(source: name, reason: "cannot read elements \(elements) of a \(target.rawValue) cast in a chunk")
        }
        switch source.storage.backing {
        case let .file(file, base):
            let start = base + source.contiguousByteRange.lowerBound + elements.lowerBound * inSize
            let input = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, elements.count * inSize), alignment: 64)
            defer { input.deallocate() }
            let part = UnsafeMutableRawBufferPointer(rebasing: input[0..<(elements.count * inSize)])
            try file.readFully(into: part, offset: start)
            return FloatConversion.castChunk(input.baseAddress!, from: source.dtype, into: dst, to: target, count: elements.count, scratch: scratch)
        default:
            return try source.withContiguousBytes { all in
                FloatConversion.castChunk(all.baseAddress! + elements.lowerBound * inSize, from: source.dtype, into: dst, to: target,
                                          count: elements.count, scratch: scratch)
            }
        }
    }

    /// Per-worker buffers.
    final class Scratch {
        let input = ByteBuffer()
        let output = ByteBuffer()
        let floats = CastScratch()
    }

    /// Casts every chunk with `cast(range, destination, scratch)` on the workers and writes
    /// each at its offset past `out`'s current end; returns the overflow count.
    static func run(_ chunks: CastChunks, out: OutputFile, outSize: Int,
                    _ cast: (Range<Int>, UnsafeMutableRawPointer, Scratch) throws -> Int) throws -> Int {
        let start = out.bytesWritten
        let state = ParallelCount()
        let writer = out.positionalWriter()
        CastChunks.forEachWorker(chunks.chunkCount) { worker, workers in
            let scratch = Scratch()
            var sum = 0
            for c in stride(from: worker, to: chunks.chunkCount, by: workers) {
                if state.failed { break }
                let r = chunks.range(of: c)
                do {
                    let dst = scratch.output.bytes(r.count * outSize)
                    sum += try cast(r, dst.baseAddress!, scratch)
                    try writer.write(UnsafeRawBufferPointer(dst), at: start + r.lowerBound * outSize)
                } catch {
                    state.fail(error)
                }
            }
            state.add(sum)
        }
        try state.rethrow()
        try out.advance(by: chunks.count * outSize)
        return state.value
    }
}

/// A growable byte buffer reused across chunks; one per thread.
final class ByteBuffer {
    private var pointer: UnsafeMutableRawPointer?
    private var capacity = 0

    /// `count` bytes, valid until the next call.
    func bytes(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if count > capacity || pointer == nil {
            pointer?.deallocate()
            pointer = .allocate(byteCount: max(count, 1), alignment: 64)
            capacity = count
        }
        return UnsafeMutableRawBufferPointer(start: pointer, count: count)
    }

    deinit { pointer?.deallocate() }
}
