import Foundation
import PorterCore

/// A kernel computes a node's outputs from its inputs and attributes.
typealias Kernel = @Sendable (NodeContext) throws -> [HostTensor]

/// The node being executed, its input values (nil for an omitted optional input), and
/// typed attribute access that reports errors naming the node.
struct NodeContext {
    let node: GraphNode
    let inputs: [HostTensor?]

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

    func attribute(_ key: String) -> JSONValue? {
        guard let v = node.attributes[key], !v.isNull else { return nil }
        return v
    }

    func int(_ key: String) throws -> Int? {
        guard let v = attribute(key) else { return nil }
        guard let i = v.intValue else { throw bad(key, "must be an integer") }
        return i
    }

    func int(_ key: String, default value: Int) throws -> Int { try int(key) ?? value }

    func requiredInt(_ key: String) throws -> Int {
        guard let i = try int(key) else { throw bad(key, "is required") }
        return i
    }

    func intList(_ key: String) throws -> [Int]? {
        guard let v = attribute(key) else { return nil }
        if let i = v.intValue { return [i] }
        guard let a = v.arrayValue else { throw bad(key, "must be a list of integers") }
        return try a.map { guard let i = $0.intValue else { throw bad(key, "must be a list of integers") }; return i }
    }

    func requiredIntList(_ key: String) throws -> [Int] {
        guard let l = try intList(key) else { throw bad(key, "is required") }
        return l
    }

    func double(_ key: String, default value: Double) throws -> Double {
        guard let v = attribute(key) else { return value }
        guard let d = v.doubleValue else { throw bad(key, "must be a number") }
        return d
    }

    func bool(_ key: String, default value: Bool) throws -> Bool {
        guard let v = attribute(key) else { return value }
        guard let b = v.boolValue else { throw bad(key, "must be true or false") }
        return b
    }

    func string(_ key: String, default value: String) throws -> String {
        guard let v = attribute(key) else { return value }
        guard let s = v.stringValue else { throw bad(key, "must be a string") }
        return s
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

/// Splits `0..<count` into contiguous chunks run on all cores when the work is large.
@inline(__always)
func parallelChunks(_ count: Int, minimumPerChunk: Int = 1, _ body: (Range<Int>) -> Void) {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let chunks = min(cores, max(1, count / max(minimumPerChunk, 1)))
    if chunks <= 1 {
        body(0..<count)
        return
    }
    withoutActuallyEscaping(body) { escapable in
        nonisolated(unsafe) let run = escapable
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let start = count * c / chunks
            let end = count * (c + 1) / chunks
            if start < end { run(start..<end) }
        }
    }
}

/// An array of `count` elements whose contents the caller overwrites entirely (no zero fill).
@inline(__always)
func uninitialized<T: BitwiseCopyable>(_ count: Int, of type: T.Type = T.self) -> [T] {
    [T](unsafeUninitializedCapacity: count) { _, n in n = count }
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

/// The op table: every op in docs/ops.md and its kernel.
enum Kernels {
    static let table: [String: Kernel] = {
        var t: [String: Kernel] = [:]
        for part in [elementwiseKernels, shapeKernels, linearAlgebraKernels, embeddingKernels, convolutionKernels] {
            t.merge(part) { a, _ in a }
        }
        return t
    }()
}
