import Foundation
import PorterCore

/// `porter reference-script` for a Hugging Face folder: transformers loads it with the class
/// its config names (`architectures[0]`, else `AutoModel`), in float32 as Porter computes,
/// and runs it without a cache (a cached decoder is not the graph Porter runs).
extension HuggingFaceReader: ReferenceScripting {
    public var referenceFrameworks: [String] { ["transformers"] }

    public func referenceScript(for model: NeutralModel, request: ReferenceScriptRequest) throws -> ReferenceScriptPart {
        guard request.framework == "transformers" else {
            throw ReferenceScriptError.frameworkNotAvailable(path: request.modelPath, format: info.id, framework: request.framework,
                                                             available: referenceFrameworks)
        }
        let body = """
            config = transformers.AutoConfig.from_pretrained(MODEL)
            architecture = (getattr(config, "architectures", None) or [None])[0]
            model_class = getattr(transformers, architecture, None) if architecture else None
            model = (model_class or transformers.AutoModel).from_pretrained(MODEL, dtype=torch.float32)
            model.eval()
            \(request.transformersForwardPython)
            recorded_by = f"transformers {transformers.__version__} (torch {torch.__version__})"
            """
        return ReferenceScriptPart(requirements: ["torch==2.13.0+cpu", "transformers==5.24.0"],
                                   imports: ["import inspect", "import torch", "import transformers"],
                                   body: body, recordedBy: "transformers 5.24.0 (torch 2.13.0)")
    }
}
