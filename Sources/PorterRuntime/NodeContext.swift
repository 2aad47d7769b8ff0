import Foundation
import CPorterRuntime
import PorterCore
import PorterOps

/// A kernel computes a node's outputs from its inputs and attributes.
typealias Kernel = @Sendable (NodeContext) throws -> [HostTensor]

/// The node being executed, its input values (nil for an omitted optional input, and for a
/// weight held packed), its attributes decoded once by the op's spec (`attrs.int("axis")`;
/// defaults come from the spec, and reading an attribute the spec does not declare is an
/// error), and the weights it reads that are held packed (`PackedMatrix`, by input slot).
struct NodeContext {
    let node: GraphNode
    let inputs: [HostTensor?]
    let attrs: OpAttributes
    var packed: [PackedMatrix?] = []

    /// Input `i` when it is a weight held packed (only `linear`'s weight and `gather`'s table are).
    func packedInput(_ i: Int) -> PackedMatrix? { i < packed.count ? packed[i] : nil }

    var name: String { node.name }

    func requireInputs(_ range: ClosedRange<Int>) throws {
        guard range.contains(inputs.count) else {
            let expected = range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)–\(range.upperBound)"
            throw RuntimeError.wrongInputCount(node: node.name, op: node.op, expected: expected, got: inputs.count)
        }
    }

    func input(_ i: Int) throws -> HostTensor {
        guard i < inputs.count, let t = inputs[i] else {
            throw RuntimeError.wrongInputCount(node: node.name, op: node.op, expected: "at least \(i + 1)", got: inputs.count)
        }
        return t
    }

    func optionalInput(_ i: Int) -> HostTensor? { i < inputs.count ? inputs[i] : nil }

    /// Input `i` as float32 elements; an int64 input is an error.
    func floats(_ i: Int) throws -> (shape: [Int], values: [Float]) {
        let t = try input(i)
        guard let v = t.floats else { throw RuntimeError.unsupportedDType(tensor: "\(node.name) input \(i) (\(node.inputs[i]))", dtype: "i64") }
        return (t.shape, v)
    }

    /// Input `i` as int64 elements; float32 inputs holding whole numbers are accepted.
    func ints(_ i: Int) throws -> (shape: [Int], values: [Int64]) {
        let t = try input(i)
        switch t.storage {
        case let .int64(v): return (t.shape, v)
        case let .float(v): return (t.shape, v.map(truncatedInt64))
        }
    }

    /// Normalises a possibly negative axis for a tensor of `rank`.
    func axis(_ a: Int, rank: Int, key: String = "axis") throws -> Int {
        let r = a < 0 ? a + rank : a
        guard r >= 0, r < max(rank, 1) else { throw bad(key, "\(a) is out of range for rank \(rank)") }
        return r
    }

    func bad(_ key: String, _ detail: String) -> RuntimeError {
        .badAttribute(node: node.name, attribute: key, detail: detail)
    }

    func shapeError(_ detail: String, _ shapes: [[Int]]) -> RuntimeError {
        .shapeMismatch(node: node.name, op: node.op, detail: detail, shapes: shapes)
    }
}

/// Splits `0..<count` into contiguous chunks run on the runtime's threads (`porter_pool_run`) when the work is large.
@inline(__always)
func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let cores = RuntimeThreads.current
    let chunks = min(cores, max(1, count / max(minimumPerChunk, 1)))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { escapable in
        var job = ChunkJob(count: count, chunks: chunks, body: escapable)
        withUnsafeMutablePointer(to: &job) { pointer in
            porter_pool_run(chunks, Int32(cores), { context, chunk in
                let job = context!.assumingMemoryBound(to: ChunkJob.self).pointee
                let start = job.count * chunk / job.chunks
                let end = job.count * (chunk + 1) / job.chunks
                if start < end { job.body(start..<end) }
            }, pointer)
        }
    }
}

/// What `parallelChunks` hands the pool's threads: chunk i of `chunks` covers
/// count·i/chunks ..< count·(i+1)/chunks.
private struct ChunkJob {
    var count: Int
    var chunks: Int
    var body: (Range<Int>) -> Void
}

/// An array of `count` elements whose contents the caller overwrites entirely (no zero fill).
@inline(__always)
func uninitialized<T: BitwiseCopyable>(_ count: Int, of type: T.Type = T.self) -> [T] {
    [T](unsafeUninitializedCapacity: count) { buffer, n in
        // A large block is a fresh mapping: huge pages before its first write (porter_advise_huge_pages).
        if count >= 1 << 20, let base = buffer.baseAddress { _ = porter_advise_huge_pages(base, count * MemoryLayout<T>.stride) }
        n = count
    }
}

/// Row-major strides of `shape`.
func stridesOf(_ shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        s[i] = acc
        acc *= shape[i]
    }
    return s
}

/// Kernels keyed by op spec: each kernel is registered against the spec of its op, at most
/// one per op. `GraphExecutor.supportedOps` is this registry's op list.
struct KernelRegistry: Sendable {
    /// Why a kernel could not be registered (a bug in Porter, caught by the tests).
    enum RegistrationError: Error, Equatable, CustomStringConvertible {
        /// The op set has no spec of this name.
        case noSpec(op: String)
        /// A kernel for this op is registered already.
        case duplicateKernel(op: String)

        var description: String {
            switch self {
            case let .noSpec(op): return "a kernel is registered for op '\(op)', which has no spec in PorterOps"
            case let .duplicateKernel(op): return "a second kernel is registered for op '\(op)'"
            }
        }
    }

    let specs: [String: OpSpec]
    private(set) var entries: [String: (spec: OpSpec, kernel: Kernel)] = [:]

    init(specs: [String: OpSpec] = OpSet.standard) { self.specs = specs }

    mutating func register(_ op: String, _ kernel: @escaping Kernel) throws {
        guard let spec = specs[op] else { throw RegistrationError.noSpec(op: op) }
        guard entries[op] == nil else { throw RegistrationError.duplicateKernel(op: op) }
        entries[op] = (spec, kernel)
    }

    mutating func register(_ kernels: KeyValuePairs<String, Kernel>) throws {
        for (op, kernel) in kernels { try register(op, kernel) }
    }

    var ops: Set<String> { Set(entries.keys) }

    /// Every kernel of the runtime, each against its op's spec.
    static func makeStandard() throws -> KernelRegistry {
        var registry = KernelRegistry()
        for part in [elementwiseKernels, shapeKernels, linearAlgebraKernels, embeddingKernels, convolutionKernels,
                     kerasKernels, recurrentKernels, decoderKernels, onnxKernels, onnxImportKernels] {
            try registry.register(part)
        }
        return registry
    }

    static let standard: KernelRegistry = {
        do { return try makeStandard() } catch { preconditionFailure("\(error)") }
    }()
}
