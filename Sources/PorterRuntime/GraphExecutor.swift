import Synchronization
import Foundation
import PorterCore
import PorterOps
import CBLAS
import CPorterRuntime

/// What one run of a graph produced.
public struct ExecutionResult: Sendable {
    /// The graph's outputs by name.
    public var outputs: [String: HostTensor]
    /// Every node output in execution order (only when `captureIntermediates` was set),
    /// for first-divergence search.
    public var intermediates: [(node: String, op: String, output: String, value: HostTensor)]

    public init(outputs: [String: HostTensor], intermediates: [(node: String, op: String, output: String, value: HostTensor)] = []) {
        self.outputs = outputs
        self.intermediates = intermediates
    }
}

/// Executes a neutral `Graph` on the CPU in float32 (int64 for ids, masks and positions).
///
/// Weights the graph reads are loaded (and widened to float32) once, in `init`. Matrix
/// products go through OpenBLAS; long elementwise loops are split across cores.
public final class GraphExecutor: @unchecked Sendable {
    public let graph: Graph
    let weights: [String: HostTensor]
    /// `linear` weights held packed for the AVX-512 GEMM instead of in `weights` (`PackedLinear.swift`).
    let packed: [String: PackedMatrix]
    /// For each node index, the values whose last reader is that node (freed after it).
    let releaseAfter: [[String]]
    /// Execution plan with adjacent nodes fused where the intermediate has one reader.
    let fusedSteps: [FusedStep]
    /// Each node's attributes, decoded once by its op's spec.
    let attributes: [OpAttributes]
    /// Each node's kernel.
    private let kernels: [Kernel]

    /// Set `PORTER_RUNTIME_PROFILE=1` to print wall time per op to stderr after each run.
    private static let profiling = ProcessInfo.processInfo.environment["PORTER_RUNTIME_PROFILE"] == "1"

    /// Ops this runtime implements: those with a kernel in the registry (every spec of
    /// `PorterOps.OpSet`, the op set of `docs/ops.md`; a test checks they agree).
    public static var supportedOps: Set<String> { KernelRegistry.standard.ops }

    /// Ops `graph` uses that the runtime lacks, sorted, each once.
    public static func missingOps(in graph: Graph) -> [String] {
        let supported = supportedOps
        return Array(Set(graph.nodes.map(\.op)).subtracting(supported)).sorted()
    }

    /// Checks every op is implemented, every node's inputs and attributes fit its op's spec
    /// (attributes are decoded here, once), and every value a node reads exists, and loads
    /// the weights the graph reads from `weights` (f16/bf16/f64 widened to float32).
    /// Weights named in `shared` are taken from it instead of loaded again (the verifier
    /// shares weights proven bit-identical between its two models; `SharedWeights.swift`).
    /// `linear` weights are packed for the AVX-512 GEMM where the CPU has it (`PackedMatrix`).
    public convenience init(graph: Graph, weights: TensorStore, shared: [String: LoadedWeight] = [:]) throws {
        try self.init(graph: graph, weights: weights, shared: shared, packing: PackedMatrix.enabled)
    }

    /// `packing` false keeps every weight a float32 tensor (oneDNN / OpenBLAS products).
    init(graph: Graph, weights: TensorStore, shared: [String: LoadedWeight], packing: Bool) throws {
        BLASThreads.configure()
        porter_malloc_keep_freed()
        self.graph = graph
        var attributes: [OpAttributes] = []
        var kernels: [Kernel] = []
        for node in graph.nodes {
            guard let entry = KernelRegistry.standard.entries[node.op] else { throw RuntimeError.unknownOp(node: node.name, op: node.op) }
            do {
                try entry.spec.checkInputs(of: node)
                attributes.append(try entry.spec.decodeAttributes(of: node))
            } catch let error as OpError {
                throw RuntimeError.invalidNode(error)
            }
            kernels.append(entry.kernel)
        }
        let packable = packing && porter_packed_gemm_available() != 0 ? Self.packableWeights(graph, attributes: attributes, weights: weights) : [:]
        var available = Set(graph.inputs.map(\.name))
        var loaded: [String: HostTensor] = [:]
        var packed: [String: PackedMatrix] = [:]
        var lastUse: [String: Int] = [:]
        for (index, node) in graph.nodes.enumerated() {
            for name in node.inputs where !name.isEmpty {
                lastUse[name] = index
                if available.contains(name) || loaded[name] != nil || packed[name] != nil { continue }
                guard let entry = weights[name] else { throw RuntimeError.missingValue(node: node.name, name: name) }
                if let outIn = packable[name] {
                    // Packed straight from the file's f32 bytes where it can (no float32 copy in between).
                    if let p = Self.sharedPacked(shared[name], for: entry.tensor, outIn: outIn) {
                        packed[name] = p
                    } else if let t = Self.sharedWeight(shared[name], for: entry.tensor) {
                        packed[name] = try PackedMatrix(t, outIn: outIn)
                    } else {
                        packed[name] = try PackedMatrix(entry.tensor, name: name, outIn: outIn)
                    }
                } else {
                    loaded[name] = try Self.sharedWeight(shared[name], for: entry.tensor) ?? HostTensor(entry.tensor, name: name)
                }
            }
            for name in node.outputs { available.insert(name) }
        }
        for output in graph.outputs where !available.contains(output.name) && loaded[output.name] == nil {
            throw RuntimeError.missingOutput(name: output.name)
        }
        let kept = Set(graph.outputs.map(\.name))
        var release = [[String]](repeating: [], count: graph.nodes.count)
        for (name, index) in lastUse where !kept.contains(name) && loaded[name] == nil && packed[name] == nil {
            release[index].append(name)
        }
        self.weights = loaded
        self.packed = packed
        self.releaseAfter = release
        self.attributes = attributes
        self.kernels = kernels
        self.fusedSteps = FusedStep.plan(graph, attributes: attributes)
    }

    /// Weights to hold packed (`PackedMatrix`), with their layout (`out_in`: true): 2-D float
    /// weights read by `linear` nodes as their weight, in one layout, and otherwise only as the
    /// table of a `gather` on axis 0 when that layout is `out_in` (a tied embedding: its rows
    /// are the packed matrix's columns, `packedGather`).
    static func packableWeights(_ graph: Graph, attributes: [OpAttributes], weights: TensorStore) -> [String: Bool] {
        var layout: [String: Bool] = [:]
        var gathered = Set<String>()
        var excluded = Set(graph.inputs.map(\.name)).union(graph.outputs.map(\.name)).union(graph.nodes.flatMap(\.outputs))
        for (index, node) in graph.nodes.enumerated() {
            for (slot, name) in node.inputs.enumerated() where !name.isEmpty {
                if node.op == "linear", slot == 1,
                   let outIn = (try? attributes[index].string("weight_layout")).flatMap({ $0 == "out_in" ? true : $0 == "in_out" ? false : nil }) {
                    if let known = layout[name], known != outIn { excluded.insert(name) } else { layout[name] = outIn }
                } else if node.op == "gather", slot == 0, let axis = try? attributes[index].int("axis"), axis == 0 || axis == -2 {
                    gathered.insert(name)
                } else {
                    excluded.insert(name)
                }
            }
        }
        return layout.filter { name, outIn in
            guard !excluded.contains(name), outIn || !gathered.contains(name), let t = weights[name]?.tensor else { return false }
            return t.dtype.isCastableFloat && t.shape.dims.count == 2
        }
    }

    /// Runs the graph on `inputs` (by graph input name). With `captureIntermediates`,
    /// every node output is returned in execution order.
    public func run(_ inputs: [String: HostTensor], captureIntermediates: Bool = false) throws -> ExecutionResult {
        var values: [String: HostTensor] = [:]
        for input in graph.inputs {
            guard let value = inputs[input.name] else { throw RuntimeError.missingInput(name: input.name) }
            guard value.storage.count == value.elementCount else {
                throw RuntimeError.shapeMismatch(node: "input \(input.name)", op: "input", detail: "element count does not match the shape", shapes: [value.shape])
            }
            values[input.name] = value
        }
        var intermediates: [(node: String, op: String, output: String, value: HostTensor)] = []
        var profile: [String: (seconds: Double, count: Int)] = [:]
        let profiling = Self.profiling
        // Fused steps skip storing values nobody else reads; capturing needs every value.
        let steps = captureIntermediates ? graph.nodes.indices.map { FusedStep.node($0) } : fusedSteps
        for step in steps {
            let started = profiling ? DispatchTime.now().uptimeNanoseconds : 0
            var done = false
            if case .node = step {} else {
                done = try runFused(step, values: &values)
            }
            for index in step.nodeIndices {
                if !done { try runNode(index, values: &values, capture: captureIntermediates ? { intermediates.append($0) } : nil) }
                for name in releaseAfter[index] { values.removeValue(forKey: name) }
            }
            if profiling {
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                let label = step.label(graph)
                profile[label, default: (0, 0)].seconds += seconds
                profile[label, default: (0, 0)].count += 1
            }
        }
        if profiling {
            let lines = profile.sorted { $0.value.seconds > $1.value.seconds }
                .map { "  \($0.key): \(String(format: "%.4f", $0.value.seconds)) s over \($0.value.count) nodes" }
            FileHandle.standardError.write(Data(("runtime profile (PORTER_RUNTIME_PROFILE=1):\n" + lines.joined(separator: "\n") + "\n").utf8))
        }
        var outputs: [String: HostTensor] = [:]
        for output in graph.outputs {
            guard let value = values[output.name] ?? weights[output.name] else { throw RuntimeError.missingOutput(name: output.name) }
            outputs[output.name] = value
        }
        return ExecutionResult(outputs: outputs, intermediates: intermediates)
    }

    /// The value `name` as node `node` reads it.
    func value(_ name: String, for node: GraphNode, in values: [String: HostTensor]) throws -> HostTensor? {
        if name.isEmpty { return nil }
        guard let value = values[name] ?? weights[name] else { throw RuntimeError.missingValue(node: node.name, name: name) }
        return value
    }

    private func runNode(_ index: Int, values: inout [String: HostTensor],
                         capture: (((node: String, op: String, output: String, value: HostTensor)) -> Void)?) throws {
        let node = graph.nodes[index]
        let held = packed.isEmpty ? [] : node.inputs.map { packed[$0] }
        let args = try node.inputs.enumerated().map { i, name in i < held.count && held[i] != nil ? nil : try value(name, for: node, in: values) }
        let results = try kernels[index](NodeContext(node: node, inputs: args, attrs: attributes[index], packed: held))
        guard results.count >= node.outputs.count else {
            throw RuntimeError.badAttribute(node: node.name, attribute: "outputs", detail: "names \(node.outputs.count) outputs but the op made \(results.count)")
        }
        for (name, value) in zip(node.outputs, results) {
            values[name] = value
            capture?((node: node.name, op: node.op, output: name, value: value))
        }
    }
}

extension HostTensor.Storage {
    var count: Int {
        switch self {
        case let .float(v): return v.count
        case let .int64(v): return v.count
        }
    }
}

/// OpenBLAS thread count: `PORTER_BLAS_THREADS` or the number of active cores, unless
/// `RuntimeThreads.set` chose one (`porter run --threads`).
/// With oneDNN as the GEMM (`GEMMBackend.active`), OpenBLAS keeps one thread, so its pool
/// never wakes to spin (`sched_yield`) beside oneDNN's and the runtime's threads.
enum BLASThreads {
    private static let once: Void = {
        let env = ProcessInfo.processInfo.environment["PORTER_BLAS_THREADS"].flatMap(Int.init)
        openblas_set_num_threads(GEMMBackend.active == .openblas ? Int32(env ?? ProcessInfo.processInfo.activeProcessorCount) : 1)
    }()
    static func configure() { _ = once }
}

/// How many threads the runtime uses: OpenBLAS's GEMM threads and the runtime's own
/// elementwise chunks. The default is every active core.
public enum RuntimeThreads {
    private static let chosen = Atomic<Int>(0)

    /// Uses `count` threads (at least 1) from now on, for OpenBLAS and the runtime's loops.
    public static func set(_ count: Int) {
        let n = max(1, count)
        BLASThreads.configure()
        chosen.store(n, ordering: .relaxed)
        if GEMMBackend.active == .openblas { openblas_set_num_threads(Int32(n)) }
    }

    /// The thread count in use: the one `set` chose, else the number of active cores.
    public static var current: Int {
        let n = chosen.load(ordering: .relaxed)
        return n > 0 ? n : ProcessInfo.processInfo.activeProcessorCount
    }

    /// The GEMM's thread count: OpenBLAS's own (what `openblas_get_num_threads` reports), or
    /// with oneDNN the count oneDNN is given (`current`).
    public static var blas: Int { GEMMBackend.active == .openblas ? Int(openblas_get_num_threads()) : current }
}
