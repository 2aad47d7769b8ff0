import Foundation
import PorterCore
import PorterRuntime
import PorterArchitectures

/// Outputs recorded by the original framework, with transformers' names: inputs
/// `input_ids`, `attention_mask`, `token_type_ids`, `decoder_input_ids`; outputs such as
/// `last_hidden_state`, `logits`, `encoder_last_hidden_state`. The caller reads the file
/// (a safetensors file, with the format registry) and passes its tensors.
public struct ReferenceOutputs: Sendable {
    /// The file, as shown in the report.
    public var path: String
    public var tensors: TensorStore

    public init(path: String, tensors: TensorStore) {
        self.path = path
        self.tensors = tensors
    }

    /// The tensors of a model read from the reference file.
    public init(path: String, model: NeutralModel) {
        self.init(path: path, tensors: model.tensors)
    }

    /// Names treated as inputs even when the graph does not read them.
    public static let inputNames: Set<String> = [
        "input_ids", "attention_mask", "token_type_ids", "position_ids",
        "decoder_input_ids", "decoder_attention_mask",
    ]
}

/// Verifies a conversion at three levels (weights, forward, reference) and returns a
/// report that fails closed: any failed check makes `passed` false.
public struct Verifier: Sendable {
    /// Knobs of a verification run.
    public struct Options: Sendable {
        /// Replace the default absolute / relative tolerance (`--atol`, `--rtol`).
        public var atol: Double?
        public var rtol: Double?
        /// Seed of the forward level's inputs.
        public var seed: UInt64
        public var batch: Int
        public var sequence: Int
        /// Trace intermediates and fill the per-layer series even when outputs agree.
        public var alwaysTraceLayers: Bool
        /// Graph builders for models without a stored graph.
        public var architectures: ArchitectureRegistry
        /// Time stamp put in the report (nil leaves it out, for goldens).
        public var createdAt: String?
        /// Progress of the weights level (bytes compared) and of the forward runs.
        public var progress: any ProgressSink = SilentProgress()

        public init(atol: Double? = nil, rtol: Double? = nil, seed: UInt64 = 20_240_601, batch: Int = 2, sequence: Int = 8,
                    alwaysTraceLayers: Bool = false, architectures: ArchitectureRegistry = .standard, createdAt: String? = nil) {
            self.atol = atol
            self.rtol = rtol
            self.seed = seed
            self.batch = batch
            self.sequence = sequence
            self.alwaysTraceLayers = alwaysTraceLayers
            self.architectures = architectures
            self.createdAt = createdAt
        }
    }

    public var options: Options

    public init(options: Options = Options()) { self.options = options }

    /// The current time as ISO 8601 (UTC), for `Options.createdAt`.
    public static func timestamp(_ date: Date = Date()) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }

    /// Runs every level. `converted` should be re-read from disk; `summary` carries the
    /// mapping's provenance (without it, tensors are matched by name); `reference`
    /// enables the reference level. Never throws: problems become failures in the report.
    public func verify(source: NeutralModel, converted: NeutralModel, reference: ReferenceOutputs? = nil,
                       summary: ConversionSummary? = nil) -> VerificationReport {
        var failures: [String] = []
        var notes: [String] = []
        let tolerance = toleranceUsed(source: source, converted: converted)
        let tol = Tolerance(atol: tolerance.atol, rtol: tolerance.rtol)

        let (weights, identical) = WeightsCheck.check(source: source, converted: converted, summary: summary, progress: options.progress)
        for m in weights.mismatches { failures.append("weights: \(m.name): \(m.problem)") }
        if !weights.missing.isEmpty {
            failures.append("weights: \(weights.missing.count) source tensor(s) are neither converted nor dropped: \(Self.list(weights.missing))")
        }
        if !weights.unexpected.isEmpty {
            failures.append("weights: \(weights.unexpected.count) converted tensor(s) come from no source tensor: \(Self.list(weights.unexpected))")
        }
        // Fail closed: a verification that compared no tensor proved nothing.
        if weights.checked == 0 {
            failures.append("weights: no tensor was checked (the source has \(source.tensors.names.count), the converted model \(converted.tensors.names.count)); nothing was proven")
        }

        let sourceGraph = PreparedGraph.prepare(source, registry: options.architectures)
        // Weights proven identical are loaded once: the converted side takes the source's.
        let convertedGraph = PreparedGraph.prepare(converted, registry: options.architectures,
                                                   shared: Self.sharedWeights(identical, from: sourceGraph))
        let forward: ForwardLevel
        if let why = summary?.graphDropped, !convertedGraph.isReady {
            // The mapping could not keep the source's graph consistent and dropped it (never
            // writing an inconsistent one): nothing can run the converted model.
            forward = ForwardLevel(status: .skipped, reason: "the mapping did not carry the source's graph over: \(why)", seed: options.seed)
        } else {
            // A phase of no known size: the label while the passes run, then the time they took.
            options.progress.begin("verifying forward pass", totalUnits: 0)
            forward = runForward(source: source, converted: converted, sourceGraph: sourceGraph, convertedGraph: convertedGraph,
                                 tolerance: tol, failures: &failures)
            options.progress.end()
        }
        if forward.status == .skipped, let reason = forward.reason {
            // The reason may already end by saying the weights level is what is left; say it once.
            let why = reason.replacingOccurrences(of: "; the model can be verified at the weights level only", with: "")
            notes.append("forward level skipped: \(why); the model was verified at the weights level\(reference == nil ? "" : " and against the reference") only")
        }
        var referenceLevel: ReferenceLevel?
        if let reference {
            referenceLevel = runReference(reference, converted: converted, graph: convertedGraph, tolerance: tol, failures: &failures)
        }
        if let overflows = summary?.overflows, !overflows.isEmpty {
            notes.append("\(overflows.count) tensor(s) had values overflow to infinity in the cast")
        }
        let passed = failures.isEmpty && weights.status == .passed && forward.status != .failed && referenceLevel?.status != .failed
        return VerificationReport(createdAt: options.createdAt, passed: passed, failures: failures,
                                  source: Self.describe(source, graph: sourceGraph), converted: Self.describe(converted, graph: convertedGraph),
                                  conversion: summary, tolerance: tolerance, weights: weights, forward: forward,
                                  reference: referenceLevel, notes: notes)
    }

    /// The source executor's loaded weights for the converted tensors the weights level
    /// proved identical to them, under the converted names. `PORTER_VERIFY_SHARE_WEIGHTS=0`
    /// turns sharing off (each side loads its own copy), for before/after measurements
    /// (`bench/verify_bert_base.sh`).
    static func sharedWeights(_ identical: [String: String], from graph: PreparedGraph) -> [String: LoadedWeight] {
        guard case let .ready(executor) = graph, ProcessInfo.processInfo.environment["PORTER_VERIFY_SHARE_WEIGHTS"] != "0" else { return [:] }
        var out: [String: LoadedWeight] = [:]
        for (convertedName, sourceName) in identical {
            if let w = executor.loadedWeight(sourceName) { out[convertedName] = w }
        }
        return out
    }

    /// A reference recorded as plain `input` / `output` (Keras and SavedModel fixtures)
    /// binds to a graph with exactly one input / one output of another name.
    public static func bindingGenericNames(_ reference: ReferenceOutputs, to graph: Graph) -> ReferenceOutputs {
        var store = TensorStore()
        for var entry in reference.tensors {
            if entry.name == "input", graph.inputs.count == 1, reference.tensors[graph.inputs[0].name] == nil {
                entry.name = graph.inputs[0].name
            } else if entry.name == "output", graph.outputs.count == 1, reference.tensors[graph.outputs[0].name] == nil {
                entry.name = graph.outputs[0].name
            }
            store.set(entry)
        }
        return ReferenceOutputs(path: reference.path, tensors: store)
    }

    /// Input roles the model's architecture descriptor declares (empty without one).
    func inputRoles(_ config: JSONValue) -> [String: InputRole] {
        guard let d = options.architectures.descriptor(for: config), let specs = try? d.inputSpecs(config: config) else { return [:] }
        return Dictionary(specs.map { ($0.name, $0.role) }, uniquingKeysWith: { a, _ in a })
    }

    /// The least precise float dtype of the two models decides the default: the
    /// architecture descriptor's for that dtype when it declares one, else Porter's
    /// per-dtype default; options override.
    func toleranceUsed(source: NeutralModel, converted: NeutralModel) -> ToleranceUsed {
        let order: [DType] = [.f8e5m2, .f8e4m3, .bf16, .f16, .f32, .f64]
        let present = Set((source.tensors.entries + converted.tensors.entries).map(\.tensor.dtype))
        let basis = order.first(where: present.contains) ?? .f32
        var d = Tolerance.default(for: basis)
        var from: String?
        if let descriptor = options.architectures.descriptor(for: converted.config) ?? options.architectures.descriptor(for: source.config),
           let t = descriptor.tolerance(for: basis) {
            d = Tolerance(atol: t.atol, rtol: t.rtol)
            from = "descriptor:\(descriptor.family)"
        }
        return ToleranceUsed(atol: options.atol ?? d.atol, rtol: options.rtol ?? d.rtol, basis: basis.rawValue,
                             overridden: options.atol != nil || options.rtol != nil, from: from)
    }

    func runForward(source: NeutralModel, converted: NeutralModel, sourceGraph: PreparedGraph, convertedGraph: PreparedGraph,
                    tolerance: Tolerance, failures: inout [String]) -> ForwardLevel {
        let seed = options.seed
        let (src, dst): (GraphExecutor, GraphExecutor)
        switch (sourceGraph, convertedGraph) {
        case let (.ready(a), .ready(b)): (src, dst) = (a, b)
        case let (.unavailable(why), _): return ForwardLevel(status: .skipped, reason: "source model: \(why)", seed: seed)
        case let (.broken(why), _): return ForwardLevel(status: .skipped, reason: "the source model's graph cannot run: \(why)", seed: seed)
        case let (.ready, .unavailable(why)):
            failures.append("forward: the source model runs but the converted one has no graph: \(why)")
            return ForwardLevel(status: .failed, reason: "converted model: \(why)", seed: seed)
        case let (.ready, .broken(why)):
            failures.append("forward: the converted model's graph cannot run: \(why)")
            return ForwardLevel(status: .failed, reason: "converted model: \(why)", seed: seed)
        }
        let descriptor = options.architectures.descriptor(for: converted.config)
        let (inputs, described) = ForwardInputs.make(graphs: [dst.graph, src.graph], weights: [converted.tensors, source.tensors],
                                                     config: converted.config, batch: options.batch, sequence: options.sequence, seed: seed,
                                                     roles: inputRoles(converted.config))
        let names = dst.graph.outputs.map(\.name).filter { n in src.graph.outputs.contains { $0.name == n } }
        guard !names.isEmpty else {
            failures.append("forward: the two graphs share no output name")
            return ForwardLevel(status: .failed, reason: "no common outputs", seed: seed, inputs: described)
        }
        var local: [String] = []
        do {
            let expected = try src.run(inputs)
            let actual = try dst.run(inputs)
            let outputs = OutputCompare.outputs(actual: actual.outputs, expected: expected.outputs, names: names, tolerance: tolerance,
                                                failures: &local, label: "forward")
            var level = ForwardLevel(status: local.isEmpty ? .passed : .failed, seed: seed, inputs: described, outputs: outputs)
            if !local.isEmpty || options.alwaysTraceLayers {
                let e = try src.run(inputs, captureIntermediates: true)
                let a = try dst.run(inputs, captureIntermediates: true)
                let (first, layers) = DivergenceSearch.search(converted: a.intermediates, source: e.intermediates, graph: dst.graph,
                                                              weights: Set(converted.tensors.names), tolerance: tolerance,
                                                              descriptor: descriptor)
                level.firstDivergence = local.isEmpty ? nil : first
                level.layers = layers
                if first == nil, !local.isEmpty {
                    let names = Set(e.intermediates.map(\.output))
                    let aligned = a.intermediates.contains { names.contains($0.output) }
                    local.append(aligned
                        ? "forward: run node by node, no node output differs beyond tolerance, so the first divergence cannot be located"
                        : "forward: the first diverging node could not be located: the two graphs share no node output names")
                }
                if let first, !local.isEmpty {
                    local.append("forward: first diverging node \(first.node) (\(first.op))" + (first.weights.isEmpty ? "" : ", reading \(first.weights.joined(separator: ", "))"))
                }
            }
            failures += local
            return level
        } catch {
            failures.append("forward: running the models failed: \(error.localizedDescription)")
            return ForwardLevel(status: .failed, reason: error.localizedDescription, seed: seed, inputs: described)
        }
    }

    func runReference(_ reference: ReferenceOutputs, converted: NeutralModel, graph: PreparedGraph, tolerance: Tolerance,
                      failures: inout [String]) -> ReferenceLevel {
        var reference = reference
        if case let .ready(executor) = graph { reference = Self.bindingGenericNames(reference, to: executor.graph) }
        guard case let .ready(executor) = graph else {
            let why: String
            switch graph {
            case let .unavailable(w), let .broken(w): why = w
            case .ready: why = ""
            }
            failures.append("reference: the converted model cannot be run: \(why)")
            return ReferenceLevel(status: .failed, reason: why, path: reference.path)
        }
        var inputs: [String: HostTensor] = [:]
        var described: [InputDescription] = []
        var local: [String] = []
        let inputNames = Set(executor.graph.inputs.map(\.name)).union(ReferenceOutputs.inputNames)
        // A missing mask or token-type input takes the shape of the token ids it goes with:
        // `<prefix>attention_mask` / `<prefix>token_type_ids` that of `<prefix>input_ids`
        // (`decoder_attention_mask` → `decoder_input_ids`), else of the first token-id input.
        let roles = inputRoles(converted.config)
        let tokenInputs = Set(roles.filter { $0.value == .tokens }.map(\.key)).union(roles.isEmpty ? ["input_ids"] : [])
        var firstTokens: [Int]?
        for entry in reference.tensors where inputNames.contains(entry.name) {
            if tokenInputs.contains(entry.name) && firstTokens == nil { firstTokens = entry.tensor.shape.dims }
        }
        func defaultShape(for name: String) -> [Int]? {
            for suffix in ["attention_mask", "token_type_ids"] where name.hasSuffix(suffix) {
                let ids = String(name.dropLast(suffix.count)) + "input_ids"
                if let entry = reference.tensors[ids] { return entry.tensor.shape.dims }
                return name == suffix ? firstTokens : nil
            }
            return nil
        }
        for value in executor.graph.inputs {
            if let entry = reference.tensors[value.name] {
                do {
                    inputs[value.name] = try HostTensor(entry.tensor, name: value.name)
                    described.append(InputDescription(name: value.name, dtype: entry.tensor.dtype.rawValue, shape: entry.tensor.shape.dims, origin: "from the reference"))
                } catch {
                    local.append("reference: input \(value.name) cannot be read: \(error.localizedDescription)")
                }
            } else if let shape = defaultShape(for: value.name) {
                // transformers' own defaults when the caller passes none.
                let fill: Int64 = value.name.hasSuffix("attention_mask") ? 1 : 0
                inputs[value.name] = HostTensor(shape: shape, int64s: [Int64](repeating: fill, count: shape.reduce(1, *)))
                described.append(InputDescription(name: value.name, dtype: "i64", shape: shape, origin: fill == 1 ? "ones (not in the reference)" : "zeros (not in the reference)"))
            } else {
                local.append("reference: the reference has no input \(value.name), which the converted graph needs")
            }
        }
        let expectedNames = reference.tensors.names.filter { !inputNames.contains($0) }
        let produced = Set(executor.graph.outputs.map(\.name))
        let compared = expectedNames.filter(produced.contains)
        let notCompared = expectedNames.filter { !produced.contains($0) }
        if compared.isEmpty {
            local.append("reference: none of the reference's outputs (\(Self.list(expectedNames))) is produced by the converted graph (\(Self.list(produced.sorted())))")
        }
        guard local.isEmpty else {
            failures += local
            return ReferenceLevel(status: .failed, reason: local.first, path: reference.path, inputs: described, notCompared: notCompared)
        }
        do {
            let result = try executor.run(inputs)
            var expected: [String: HostTensor] = [:]
            for name in compared {
                guard let t = reference.tensors[name]?.tensor else { continue }
                expected[name] = try HostTensor(t, name: name)
            }
            let outputs = OutputCompare.outputs(actual: result.outputs, expected: expected, names: compared, tolerance: tolerance,
                                                failures: &local, label: "reference")
            failures += local
            return ReferenceLevel(status: local.isEmpty ? .passed : .failed, path: reference.path, inputs: described, outputs: outputs,
                                  notCompared: notCompared)
        } catch {
            failures.append("reference: running the converted model failed: \(error.localizedDescription)")
            return ReferenceLevel(status: .failed, reason: error.localizedDescription, path: reference.path, inputs: described, notCompared: notCompared)
        }
    }

    static func describe(_ model: NeutralModel, graph: PreparedGraph) -> ModelDescription {
        let dtypes = Set(model.tensors.map(\.tensor.dtype.rawValue)).sorted()
        var origin: String?
        if case let .ready(e) = graph { origin = e.graph.origin } else { origin = model.graph?.origin }
        return ModelDescription(path: model.sourceFiles.first ?? "(in memory)", format: model.sourceFormat, tensorCount: model.tensors.count,
                                parameterCount: model.tensors.parameterCount, dtypes: dtypes, graph: origin)
    }

    static func list(_ names: [String]) -> String {
        names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", … (\(names.count) in all)" : "")
    }
}
