import Foundation
import PorterCore

/// `porter reference-script` for a SavedModel: TensorFlow calls its `serving_default`
/// signature, whose input and output keys are the names of the graph Porter imports from it.
extension TensorFlowSavedModelReader: ReferenceScripting {
    public var referenceFrameworks: [String] { ["tf"] }

    public func referenceScript(for model: NeutralModel, request: ReferenceScriptRequest) throws -> ReferenceScriptPart {
        guard request.framework == "tf" else {
            throw ReferenceScriptError.frameworkNotAvailable(path: request.modelPath, format: info.id, framework: request.framework,
                                                             available: referenceFrameworks)
        }
        let body = """
            serve = tf.saved_model.load(MODEL).signatures["serving_default"]
            result = serve(**{name: tf.constant(value) for name, value in inputs.items()})
            outputs = {name: result[name].numpy() for name in \(request.pythonOutputNames)}
            recorded_by = f"TensorFlow {tf.__version__}"
            """
        return ReferenceScriptPart(requirements: ["tensorflow==2.21.0"], imports: ["import tensorflow as tf"],
                                   body: body, recordedBy: "TensorFlow 2.21.0")
    }
}
