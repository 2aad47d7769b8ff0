import Foundation

/// One input of the graph Porter runs for a model, as a reference script must make it:
/// the name and shape the verifier binds, and how its values are drawn (seeded in Python;
/// the script stores the values it drew, so Porter never needs to reproduce the draw).
public struct ReferenceInput: Sendable, Equatable {
    public enum Values: Sendable, Equatable {
        /// Integer ids uniform in `[0, below)`.
        case ids(below: Int)
        /// Ones, with the last row's last `padded` positions 0 (padding).
        case mask(padded: Int)
        /// Zeros (integer inputs that index no table).
        case zeros
        /// Floats uniform in [-1, 1).
        case uniform
    }

    public var name: String
    /// `.i64` or `.f32`.
    public var dtype: DType
    public var shape: [Int]
    public var values: Values

    public init(name: String, dtype: DType, shape: [Int], values: Values) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.values = values
    }
}

/// What a reader is asked to write: the framework part of a reference script.
public struct ReferenceScriptRequest: Sendable {
    /// The model as the user named it (the script loads it from there).
    public var modelPath: String
    /// The framework asked for, one of the reader's `referenceFrameworks`.
    public var framework: String
    /// The graph's inputs, in the graph's order; the script has them in a dict `inputs`.
    public var inputs: [ReferenceInput]
    /// The graph's outputs, in the graph's order: the names the verifier compares.
    public var outputs: [String]
    /// The reader settings the model was read with (`--read-option`), as the user gave them.
    public var readOptions: [String: String]

    public init(modelPath: String, framework: String, inputs: [ReferenceInput], outputs: [String], readOptions: [String: String] = [:]) {
        self.modelPath = modelPath
        self.framework = framework
        self.inputs = inputs
        self.outputs = outputs
        self.readOptions = readOptions
    }
}

/// The framework-specific part of a reference script. The pipeline wraps it: pinned
/// requirements in the header, seeded numpy inputs in a dict `inputs` (name → array) and a
/// string `MODEL` before `body`; after it, the dict `outputs` (name → array-like) is saved with
/// the inputs as `reference.safetensors`.
public struct ReferenceScriptPart: Sendable, Equatable {
    /// pip requirement lines with exact versions (`torch==2.13.0+cpu`).
    public var requirements: [String]
    /// Python import lines.
    public var imports: [String]
    /// Python code that loads `MODEL`, runs it on `inputs` and fills `outputs`.
    public var body: String
    /// Who recorded the outputs, as reports say it ("torch 2.13.0").
    public var recordedBy: String
    /// What the script assumes about the model, for its header (one sentence a line).
    public var assumptions: [String]
    /// Packages a requirement compiles against (fairseq against torch): installed by a first
    /// `pip install`, and the requirements then without build isolation.
    public var buildFirst: [String]

    public init(requirements: [String], imports: [String], body: String, recordedBy: String, assumptions: [String] = [],
                buildFirst: [String] = []) {
        self.requirements = requirements
        self.imports = imports
        self.body = body
        self.recordedBy = recordedBy
        self.assumptions = assumptions
        self.buildFirst = buildFirst
    }
}

/// A reader whose models can be loaded and run in their original framework: it writes the
/// part of `porter reference-script` that loads the model there and runs it.
public protocol ReferenceScripting {
    /// The `--framework` values this format's models load in; the first is the default.
    var referenceFrameworks: [String] { get }
    /// The framework part for `model` (as this reader read it). Throws a
    /// `ReferenceScriptError` when the model cannot be run in that framework.
    func referenceScript(for model: NeutralModel, request: ReferenceScriptRequest) throws -> ReferenceScriptPart
    /// Called on the model as read, before Porter builds its graph: throws a
    /// `ReferenceScriptError` when `framework` cannot run it whatever the graph (a state dict
    /// without the config that names its architecture). Default: nothing to check.
    func checkRunnable(_ model: NeutralModel, modelPath: String, framework: String, readOptions: [String: String]) throws
}

extension ReferenceScripting {
    public func checkRunnable(_ model: NeutralModel, modelPath: String, framework: String, readOptions: [String: String]) throws {}
}

/// Why a reference script cannot be written.
public enum ReferenceScriptError: Error, LocalizedError, Equatable {
    /// The model's format has no framework Porter writes scripts for.
    case noFramework(path: String, format: String)
    /// `--framework` names a framework the model's format does not load in.
    case frameworkNotAvailable(path: String, format: String, framework: String, available: [String])
    /// The model cannot be run in the framework (`reason` says what is missing).
    case cannotRun(path: String, framework: String, reason: String)
    /// Porter builds no graph for the model, so it knows no input names to record.
    case noGraph(path: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .noFramework(path, format):
            return "\(path): Porter writes no reference script for \(format) models (see docs/cli.md, reference-script, for the formats it does)"
        case let .frameworkNotAvailable(path, format, framework, available):
            return "\(path): a \(format) model does not load in \(framework); --framework takes \(available.joined(separator: ", ")) for it"
        case let .cannotRun(path, framework, reason):
            return "\(path): cannot be run in \(framework): \(reason)"
        case let .noGraph(path, reason):
            return "\(path): Porter builds no graph for this model, so it knows no inputs or outputs to record: \(reason)"
        }
    }
}

extension ReferenceScriptRequest {
    /// `s` as a Python string literal (double-quoted, escaped).
    public static func pythonString(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 || c.value == 0x7F { out += String(format: "\\x%02x", c.value) } else { out.unicodeScalars.append(c) }
            }
        }
        return out + "\""
    }

    /// The output names as a Python list literal.
    public var pythonOutputNames: String { "[" + outputs.map(Self.pythonString).joined(separator: ", ") + "]" }

    /// Python that runs a transformers `model` (torch) on `inputs` without its cache and puts
    /// each requested output into `outputs` (`last_hidden_state` from the hidden states when
    /// the class has no such field): shared by the transformers and torch scripts.
    public var transformersForwardPython: String {
        """
        arguments = {name: torch.from_numpy(value) for name, value in inputs.items()}
        if "use_cache" in inspect.signature(model.forward).parameters:
            arguments["use_cache"] = False
        with torch.no_grad():
            result = model(**arguments, output_hidden_states=True)
        outputs = {}
        for name in \(pythonOutputNames):
            value = getattr(result, name, None)
            if value is None and name == "last_hidden_state" and getattr(result, "hidden_states", None):
                value = result.hidden_states[-1]
            if value is None:
                sys.exit(f"{MODEL}: {type(model).__name__} returns no {name!r} (it returns {', '.join(result.keys())})")
            outputs[name] = value.numpy()
        """
    }
    /// The input names as a Python list literal.
    public var pythonInputNames: String { "[" + inputs.map { Self.pythonString($0.name) }.joined(separator: ", ") + "]" }
}
