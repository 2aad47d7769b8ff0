import Foundation
import PorterCore

/// `porter reference-script` for an ONNX file: ONNX Runtime's CPU provider runs it, fed the
/// inputs the model declares, asked for the outputs Porter's graph produces.
extension ONNXReader: ReferenceScripting {
    public var referenceFrameworks: [String] { ["onnxruntime"] }

    public func referenceScript(for model: NeutralModel, request: ReferenceScriptRequest) throws -> ReferenceScriptPart {
        guard request.framework == "onnxruntime" else {
            throw ReferenceScriptError.frameworkNotAvailable(path: request.modelPath, format: info.id, framework: request.framework,
                                                             available: referenceFrameworks)
        }
        let body = """
            session = onnxruntime.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
            declared = {i.name for i in session.get_inputs()}
            names = \(request.pythonOutputNames)
            result = session.run(names, {name: value for name, value in inputs.items() if name in declared})
            outputs = dict(zip(names, result))
            recorded_by = f"onnxruntime {onnxruntime.__version__}"
            """
        return ReferenceScriptPart(requirements: ["onnxruntime==1.31.1"], imports: ["import onnxruntime"],
                                   body: body, recordedBy: "onnxruntime 1.31.1")
    }
}
