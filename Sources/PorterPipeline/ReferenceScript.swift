import Foundation
import PorterArchitectures
import PorterCore
import PorterRuntime
import PorterVerifier

/// What `porter reference-script` asks for.
public struct ReferenceScriptSettings: Sendable {
    /// `--framework`; nil: the first framework the model's reader names.
    public var framework: String?
    /// `--from`: the reader, when detection should be skipped.
    public var from: String?
    public var readOptions: [String: String]
    public var batch: Int
    public var sequence: Int
    public var seed: UInt64
    /// The file the script writes by default (its first argument overrides it).
    public var outputName: String

    public init(framework: String? = nil, from: String? = nil, readOptions: [String: String] = [:], batch: Int = 2, sequence: Int = 8,
                seed: UInt64 = 20_240_601, outputName: String = "reference.safetensors") {
        self.framework = framework
        self.from = from
        self.readOptions = readOptions
        self.batch = batch
        self.sequence = sequence
        self.seed = seed
        self.outputName = outputName
    }
}

/// A reference script and the facts it was made from.
public struct ReferenceScript: Sendable {
    public var text: String
    public var framework: String
    public var inputs: [ReferenceInput]
    public var outputs: [String]
    public var recordedBy: String
}

extension Pipeline {
    /// Every `--framework` value some reader of this build writes scripts for.
    public var referenceFrameworks: [String] {
        var seen = Set<String>()
        return registry.readers.compactMap { $0 as? any ReferenceScripting }.flatMap(\.referenceFrameworks).filter { seen.insert($0).inserted }
    }

    /// A short Python script, pinned to the framework versions Porter's fixtures were made
    /// with, that loads `url` in its original framework, runs it on seeded inputs with the names
    /// and shapes of the graph Porter runs for it, and saves inputs and outputs as the
    /// safetensors file `verify --reference` reads. The framework part comes from the model's
    /// reader (`ReferenceScripting`); the graph's inputs and outputs from Porter's own graph.
    public func referenceScript(_ url: URL, settings: ReferenceScriptSettings) throws -> ReferenceScript {
        let reader = try registry.reader(for: url, format: settings.from)
        try FormatOption.check(settings.readOptions, against: reader.options, format: reader.info.id, direction: .read)
        guard let scripting = reader as? any ReferenceScripting, let first = scripting.referenceFrameworks.first else {
            throw ReferenceScriptError.noFramework(path: url.path, format: reader.info.id)
        }
        let framework = settings.framework ?? first
        guard scripting.referenceFrameworks.contains(framework) else {
            throw ReferenceScriptError.frameworkNotAvailable(path: url.path, format: reader.info.id, framework: framework,
                                                             available: scripting.referenceFrameworks)
        }
        let model = try reader.read(url, options: ReadOptions(extra: settings.readOptions))
        try scripting.checkRunnable(model, modelPath: url.relativePath, framework: framework, readOptions: settings.readOptions)
        let executor: GraphExecutor
        switch PreparedGraph.prepare(model, registry: .standard) {
        case let .ready(e): executor = e
        case let .unavailable(why), let .broken(why): throw ReferenceScriptError.noGraph(path: url.path, reason: why)
        }
        let inputs = Self.referenceInputs(graph: executor.graph, weights: model.tensors, config: model.config,
                                          batch: settings.batch, sequence: settings.sequence)
        let outputs = executor.graph.outputs.map(\.name)
        let request = ReferenceScriptRequest(modelPath: url.relativePath, framework: framework, inputs: inputs, outputs: outputs,
                                             readOptions: settings.readOptions)
        let part = try scripting.referenceScript(for: model, request: request)
        let text = Self.assemble(part, request: request, settings: settings)
        return ReferenceScript(text: text, framework: framework, inputs: inputs, outputs: outputs, recordedBy: part.recordedBy)
    }

    /// The graph's inputs with concrete shapes and how their values are drawn, by the rules of
    /// the forward level's seeded inputs (`ForwardInputs`): roles from the architecture
    /// descriptor, else masks are what `attention_mask` nodes read; ids below the rows of the
    /// table they index (else `vocab_size`); dynamic axes `batch` first, `sequence` elsewhere.
    static func referenceInputs(graph: Graph, weights: TensorStore, config: JSONValue, batch: Int, sequence: Int) -> [ReferenceInput] {
        let roles: [String: InputRole] = ArchitectureRegistry.standard.descriptor(for: config).flatMap { d in
            (try? d.inputSpecs(config: config)).map { specs in Dictionary(specs.map { ($0.name, $0.role) }, uniquingKeysWith: { a, _ in a }) }
        } ?? [:]
        let padded = batch > 1 ? max(1, sequence / 4) : 0
        return graph.inputs.map { value in
            let shape = value.shape.enumerated().map { i, d in d >= 0 ? d : (i == 0 ? batch : sequence) }
            if value.dtype.isFloatingPoint { return ReferenceInput(name: value.name, dtype: .f32, shape: shape, values: .uniform) }
            let dtype: DType = value.dtype == .i32 ? .i32 : .i64
            let role = roles[value.name]
            let masks = role.map { $0 == .mask } ?? graph.nodes.contains { $0.op == "attention_mask" && $0.inputs.first == value.name }
            if masks { return ReferenceInput(name: value.name, dtype: dtype, shape: shape, values: .mask(padded: min(padded, shape.last ?? 0))) }
            var rows: Int?
            for node in graph.nodes where node.op == "gather" && node.inputs.count == 2 && node.inputs[1] == value.name {
                if let r = weights[node.inputs[0]]?.tensor.shape.dims.first { rows = min(rows ?? r, r) }
            }
            if rows == nil, role == .tokens { rows = config["vocab_size"]?.intValue }
            guard let bound = rows, bound > 0 else { return ReferenceInput(name: value.name, dtype: dtype, shape: shape, values: .zeros) }
            return ReferenceInput(name: value.name, dtype: dtype, shape: shape, values: .ids(below: bound))
        }
    }

    static func assemble(_ part: ReferenceScriptPart, request: ReferenceScriptRequest, settings: ReferenceScriptSettings) -> String {
        let py = ReferenceScriptRequest.pythonString
        let common = ["numpy==2.4.6", "safetensors==0.8.0"]
        let requirements = part.requirements.filter { !part.buildFirst.contains($0) } + common.filter { !part.buildFirst.contains($0) }
        let index = (requirements + part.buildFirst).contains { $0.contains("+cpu") } ? " --extra-index-url https://download.pytorch.org/whl/cpu" : ""
        var install = ["#   .venv-reference/bin/pip install\(index) \(requirements.joined(separator: " "))"]
        if !part.buildFirst.isEmpty {
            install = ["#   .venv-reference/bin/pip install\(index) \(part.buildFirst.joined(separator: " "))",
                       "#   .venv-reference/bin/pip install --no-build-isolation\(index) \(requirements.joined(separator: " "))"]
        }
        let readOptions = request.readOptions.sorted { $0.key < $1.key }.map { " --read-option \($0.key)=\($0.value)".replacingOccurrences(of: "\n", with: " ") }.joined()
        var lines = [
            "# Reference outputs of \(request.modelPath), recorded by \(part.recordedBy).",
            "# Written by `porter reference-script` (Porter \(PorterVersion.current)); framework: \(request.framework).",
            "#",
        ]
        if !part.assumptions.isEmpty {
            lines += part.assumptions.enumerated().map { i, line in (i == 0 ? "# Assumes: " : "#   ") + line } + ["#"]
        }
        lines += [
            "# Run it in a fresh virtualenv with exactly these versions:",
            "#   python3 -m venv .venv-reference",
        ] + install + [
            "#   .venv-reference/bin/python THIS_FILE [OUTPUT [MODEL]]",
            "# It writes OUTPUT (default \(settings.outputName)): the seeded inputs below and the model's",
            "# outputs, under the names of the graph Porter runs, for",
            "#   porter verify \(request.modelPath) CONVERTED --reference \(settings.outputName)\(readOptions)",
            "import sys",
            "",
            "import numpy as np",
            "from safetensors.numpy import save_file",
        ]
        lines += part.imports
        lines += [
            "",
            "OUTPUT = sys.argv[1] if len(sys.argv) > 1 else \(py(settings.outputName))",
            "MODEL = sys.argv[2] if len(sys.argv) > 2 else \(py(request.modelPath))",
            "SEED = \(settings.seed)",
            "",
            "rng = np.random.default_rng(SEED)",
            "inputs = {}",
        ]
        for input in request.inputs {
            let shape = "(" + input.shape.map(String.init).joined(separator: ", ") + (input.shape.count == 1 ? ",)" : ")")
            let np = input.dtype == .i32 ? "np.int32" : input.dtype == .f32 ? "np.float32" : "np.int64"
            let name = py(input.name)
            switch input.values {
            case let .ids(below):
                lines.append("inputs[\(name)] = rng.integers(0, \(below), size=\(shape), dtype=\(np))  # ids in [0, \(below))")
            case let .mask(padded):
                lines.append("inputs[\(name)] = np.ones(\(shape), dtype=\(np))  # 1: token, 0: padding")
                if padded > 0, input.shape.count == 2, (input.shape.first ?? 0) > 1 {
                    lines.append("inputs[\(name)][-1, -\(padded):] = 0  # the last row padded over its last \(padded) position(s)")
                }
            case .zeros:
                lines.append("inputs[\(name)] = np.zeros(\(shape), dtype=\(np))")
            case .uniform:
                lines.append("inputs[\(name)] = rng.uniform(-1.0, 1.0, size=\(shape)).astype(np.float32)")
            }
        }
        lines.append("")
        lines += part.body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while lines.last == "" { lines.removeLast() }
        lines += [
            "",
            "tensors = {name: np.ascontiguousarray(value) for name, value in inputs.items()}",
            "for name, value in outputs.items():",
            "    tensors[name] = np.ascontiguousarray(np.asarray(value, dtype=np.float32))",
            "save_file(tensors, OUTPUT, metadata={\"porter.recorded_by\": recorded_by})",
            "print(f\"wrote {OUTPUT}: {len(inputs)} input(s), {len(outputs)} output(s), recorded by {recorded_by}\")",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
