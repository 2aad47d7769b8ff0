import Foundation
import PorterCore

/// `porter reference-script MODEL --framework torch` for a bare state dict (`torch.save` of
/// `model.state_dict()`, a `.pt`/`.bin`): a state dict carries neither code nor config, so Porter
/// builds its graph from the architecture descriptor that `--read-option config=FILE` (a
/// transformers `config.json`) names, and the script builds the same architecture's
/// `torch.nn.Module` from that config (transformers' class: the only code of these
/// architectures), loads the state dict into it with `torch.load(…, weights_only=True)` —
/// every weight the module needs must be in the file, so nothing runs on random
/// initialisation — and runs it in float32 without a cache.
extension PyTorchReader: ReferenceScripting {
    public var referenceFrameworks: [String] { ["torch"] }

    public func checkRunnable(_ model: NeutralModel, modelPath: String, framework: String, readOptions: [String: String]) throws {
        if readOptions["config"] == nil { throw Self.needsConfig(modelPath, framework: framework) }
    }

    static func needsConfig(_ path: String, framework: String) -> ReferenceScriptError {
        .cannotRun(path: path, framework: framework, reason:
            "a state dict carries no code and no config, so neither torch nor Porter knows its architecture; give the transformers "
            + "config.json it was saved with (--read-option config=FILE), or record the Hugging Face folder with --framework transformers")
    }

    public func referenceScript(for model: NeutralModel, request: ReferenceScriptRequest) throws -> ReferenceScriptPart {
        guard request.framework == "torch" else {
            throw ReferenceScriptError.frameworkNotAvailable(path: request.modelPath, format: info.id, framework: request.framework,
                                                             available: referenceFrameworks)
        }
        guard let config = request.readOptions["config"] else { throw Self.needsConfig(request.modelPath, framework: request.framework) }
        let py = ReferenceScriptRequest.pythonString
        // `--read-option state-dict=a.b`: the same key path into the checkpoint.
        let keyPath = (request.readOptions["state-dict"] ?? "").split(separator: ".").map { py(String($0)) }
        let body = """
            CONFIG = \(py(config))
            config = transformers.AutoConfig.from_pretrained(CONFIG)
            architecture = (getattr(config, "architectures", None) or [None])[0]
            model_class = getattr(transformers, architecture, None) if architecture else None
            model = model_class(config) if model_class else transformers.AutoModel.from_config(config)
            model = model.to(torch.float32).eval()
            state = torch.load(MODEL, map_location="cpu", weights_only=True)
            for key in [\(keyPath.joined(separator: ", "))]:
                state = state[key]
            if not isinstance(state, dict):
                sys.exit(f"{MODEL}: holds a {type(state).__name__}, not a state dict")
            missing, unexpected = model.load_state_dict(state, strict=False)
            model.tie_weights()
            loaded = {p.data_ptr() for name, p in model.state_dict().items() if name in state}
            missing = [name for name in missing if model.state_dict()[name].data_ptr() not in loaded]
            # transformers < 4.31 saved position_ids as a buffer; later versions make it themselves.
            unexpected = [name for name in unexpected if not name.endswith("position_ids")]
            if missing or unexpected:
                sys.exit(f"{MODEL} is not a state dict of {type(model).__name__} ({CONFIG}): "
                         f"missing {missing[:8]}, unexpected {unexpected[:8]}")
            \(request.transformersForwardPython)
            recorded_by = f"torch {torch.__version__} (the module of transformers {transformers.__version__})"
            """
        let assumptions = [
            "MODEL is a torch.save'd state dict (read with weights_only=True) of the architecture",
            "\(config) names; the module that runs it is that architecture's transformers class,",
            "built from the config (a state dict carries no code), and every weight it needs is in MODEL.",
        ]
        return ReferenceScriptPart(requirements: ["torch==2.13.0+cpu", "transformers==5.24.0"],
                                   imports: ["import inspect", "import torch", "import transformers"],
                                   body: body, recordedBy: "torch 2.13.0 (the module of transformers 5.24.0)", assumptions: assumptions)
    }
}
