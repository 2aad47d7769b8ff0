import Foundation
import PorterCore
import PorterArchitectures
import PorterRuntime
import PorterVerifier

/// Settings of `porter run`: a forward pass of a model on Porter's runtime.
public struct RunRequest: Sendable {
    /// The model: any file or folder Porter reads (a stored graph or an architecture Porter builds one for).
    public var model: URL
    /// A safetensors file of named inputs, matched by name to the graph's inputs.
    public var inputs: URL
    /// Where to write the outputs as safetensors (nil: not written).
    public var output: URL?
    /// How many times to run the forward pass (each one timed).
    public var repeats: Int
    /// Threads for OpenBLAS and the runtime's loops (nil: every active core).
    public var threads: Int?
    public var force: Bool
    /// fsync the output before it is moved into place (`--fsync`).
    public var syncToDisk: Bool
    /// Reader to use for the model instead of detecting its format.
    public var from: String?

    public init(model: URL, inputs: URL, output: URL? = nil, repeats: Int = 1, threads: Int? = nil, force: Bool = false,
                syncToDisk: Bool = false, from: String? = nil) {
        self.model = model
        self.inputs = inputs
        self.output = output
        self.repeats = repeats
        self.threads = threads
        self.force = force
        self.syncToDisk = syncToDisk
        self.from = from
    }
}

/// What `porter run` measured and produced.
public struct RunResult: Sendable {
    public struct Output: Sendable {
        public var name: String
        public var value: HostTensor
    }
    /// The graph's outputs, in the graph's order.
    public var outputs: [Output]
    /// Wall time of each forward pass, in milliseconds, in the order they ran.
    public var timesMs: [Double]
    /// Where the outputs were written, if anywhere.
    public var written: URL?
    /// Threads used (OpenBLAS's count).
    public var threads: Int

    public var medianMs: Double {
        let s = timesMs.sorted()
        guard !s.isEmpty else { return 0 }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    public var minMs: Double { timesMs.min() ?? 0 }
    public var maxMs: Double { timesMs.max() ?? 0 }

    /// `--json`: `{"median_ms", "min_ms", "max_ms", "runs", "outputs": [{name, dtype, shape}]}`.
    public func json() throws -> String {
        let outs: [JSONValue] = outputs.map { o in
            .object(["name": .string(o.name), "dtype": .string(o.value.dtype.rawValue),
                     "shape": .array(o.value.shape.map { .int(Int64($0)) })])
        }
        let doc: JSONValue = .object([
            "median_ms": .double(medianMs), "min_ms": .double(minMs), "max_ms": .double(maxMs),
            "runs": .int(Int64(timesMs.count)), "outputs": .array(outs),
        ])
        return String(decoding: try doc.encoded(pretty: true), as: UTF8.self) + "\n"
    }

    /// Human-readable summary: one line per output, then the timing.
    public func text() -> String {
        var lines = ""
        for o in outputs { lines += "\(o.name): \(o.value.dtype.rawValue) \(o.value.shape)\n" }
        let f = { (x: Double) in String(format: "%.3f", x) }
        if timesMs.count == 1 {
            lines += "forward: \(f(timesMs[0])) ms (threads: \(threads))\n"
        } else {
            lines += "forward: median \(f(medianMs)) ms, min \(f(minMs)), max \(f(maxMs)) over \(timesMs.count) runs (threads: \(threads))\n"
        }
        if let w = written { lines += "wrote \(w.path)\n" }
        return lines
    }
}

/// Why `porter run` could not run a model.
public enum RunError: Error, LocalizedError, Sendable, Equatable {
    /// Porter builds no graph for the model (the reader's or the architecture registry's reason).
    case noGraph(model: String, reason: String)
    /// A graph was built but cannot run on the model's weights.
    case graphCannotRun(model: String, reason: String)
    /// The inputs file has no tensor for one of the graph's inputs.
    case missingInput(file: String, name: String, expected: String)
    /// An input's shape does not fit the graph's declared shape (-1 is any size).
    case misshapenInput(file: String, name: String, shape: [Int], expected: String)
    /// An input's element type is not the kind the graph reads (ids vs floats).
    case wrongInputType(file: String, name: String, dtype: String, expected: String)
    /// The forward pass itself failed.
    case runFailed(model: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .noGraph(model, reason):
            return "\(model): no graph to run: \(reason)"
        case let .graphCannotRun(model, reason):
            return "\(model): the graph cannot run on this model's weights: \(reason)"
        case let .missingInput(file, name, expected):
            return "\(file): no input tensor named '\(name)'; the graph expects \(expected)"
        case let .misshapenInput(file, name, shape, expected):
            return "\(file): input '\(name)' has shape \(shape), which does not fit the graph's inputs: \(expected) (-1: any size)"
        case let .wrongInputType(file, name, dtype, expected):
            return "\(file): input '\(name)' is \(dtype), which does not fit the graph's inputs: \(expected)"
        case let .runFailed(model, reason):
            return "\(model): the forward pass failed: \(reason)"
        }
    }
}

extension Pipeline {
    /// Runs the forward pass of `request.model` on the inputs in `request.inputs`,
    /// `request.repeats` times (each timed), and writes the last run's outputs as
    /// safetensors when `request.output` is set (atomically: nothing is left on failure).
    public func run(_ request: RunRequest, architectures: ArchitectureRegistry = .standard) throws -> RunResult {
        if let t = request.threads { RuntimeThreads.set(t) }
        if let out = request.output, !request.force, AtomicOutputProbe.exists(out) {
            throw CoreError.outputExists(path: out.standardizedFileURL.path)
        }
        let (_, model) = try read(request.model, format: request.from)
        let executor: GraphExecutor
        switch PreparedGraph.prepare(model, registry: architectures) {
        case let .ready(e): executor = e
        case let .unavailable(why): throw RunError.noGraph(model: request.model.path, reason: why)
        case let .broken(why): throw RunError.graphCannotRun(model: request.model.path, reason: why)
        }
        let graph = executor.graph
        let (_, inputModel) = try read(request.inputs, format: "safetensors")
        let inputs = try Self.bindInputs(inputModel.tensors, to: graph, file: request.inputs.path)
        var times: [Double] = []
        var last: ExecutionResult?
        for _ in 0..<max(1, request.repeats) {
            last = nil  // the previous pass's outputs are not kept while the next one runs
            let start = DispatchTime.now().uptimeNanoseconds
            do { last = try executor.run(inputs) } catch {
                throw RunError.runFailed(model: request.model.path, reason: error.localizedDescription)
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        let produced = last?.outputs ?? [:]
        let outputs = graph.outputs.compactMap { v in produced[v.name].map { RunResult.Output(name: v.name, value: $0) } }
        if let out = request.output {
            let entries = outputs.map {
                TensorEntry(name: $0.name, tensor: $0.value.tensorRef(label: $0.name),
                            provenance: Provenance(sourceFile: request.model.path, sourceName: $0.name))
            }
            // The registry's safetensors writer (format targets are named only in DefaultFormats.swift).
            let writer = try registry.writer("safetensors")
            let written = NeutralModel(sourceFormat: "porter-run", sourceFiles: [request.model.path], tensors: try TensorStore(entries),
                                       metadata: ["producer": "porter run"])
            try AtomicOutput.write(to: out, force: request.force, syncToDisk: request.syncToDisk) { temp in
                try writer.write(written, to: temp, options: WriteOptions())
            }
        }
        return RunResult(outputs: outputs, timesMs: times, written: request.output, threads: RuntimeThreads.blas)
    }

    /// The graph's inputs from `tensors` by name (a lone `input` binds to a graph with one
    /// input of another name, as Keras reference files record it), each checked against the
    /// graph's declared kind and shape.
    static func bindInputs(_ tensors: TensorStore, to graph: Graph, file: String) throws -> [String: HostTensor] {
        let bound = Verifier.bindingGenericNames(ReferenceOutputs(path: file, tensors: tensors), to: graph).tensors
        let expected = graph.inputs.map { v in "\(v.name) (\(v.dtype.rawValue) \(v.shape))" }.joined(separator: ", ")
        var inputs: [String: HostTensor] = [:]
        for v in graph.inputs {
            guard let entry = bound[v.name] else { throw RunError.missingInput(file: file, name: v.name, expected: expected) }
            let dims = entry.tensor.shape.dims
            let fits = v.shape.isEmpty ? dims.isEmpty : dims.count == v.shape.count && zip(dims, v.shape).allSatisfy { $1 < 0 || $0 == $1 }
            guard fits else { throw RunError.misshapenInput(file: file, name: v.name, shape: dims, expected: expected) }
            let value: HostTensor
            do { value = try HostTensor(entry.tensor, name: v.name) } catch {
                throw RunError.wrongInputType(file: file, name: v.name, dtype: entry.tensor.dtype.rawValue, expected: expected)
            }
            let wantsFloat = v.dtype.isFloatingPoint
            guard (value.dtype == .f32) == wantsFloat else {
                throw RunError.wrongInputType(file: file, name: v.name, dtype: entry.tensor.dtype.rawValue, expected: expected)
            }
            inputs[v.name] = value
        }
        return inputs
    }
}

/// Whether an output path is taken (checked before the model is read, so a run that would
/// fail at the end fails first).
enum AtomicOutputProbe {
    static func exists(_ url: URL) -> Bool {
        var st = stat()
        return lstat(url.standardizedFileURL.path, &st) == 0
    }
}
