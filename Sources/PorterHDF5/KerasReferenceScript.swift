import Foundation
import PorterCore

/// `porter reference-script` for Keras models: a legacy `.h5` full model loads in tf-keras 2
/// (the Keras that writes that layout), a `.keras` archive in Keras 3; both are called with
/// `training=False`, the inputs in the order of the model's input layers.
enum KerasReferenceScript {
    static func part(request: ReferenceScriptRequest, format: String, frameworks: [String], module: String,
                     requirements: [String], recordedBy: String, versionExpression: String) throws -> ReferenceScriptPart {
        guard frameworks.contains(request.framework) else {
            throw ReferenceScriptError.frameworkNotAvailable(path: request.modelPath, format: format, framework: request.framework,
                                                             available: frameworks)
        }
        let body = """
            model = keras.models.load_model(MODEL, compile=False)
            feed = [inputs[name] for name in \(request.pythonInputNames)]
            result = model(feed[0] if len(feed) == 1 else feed, training=False)
            if not isinstance(result, (list, tuple)):
                result = [result]
            outputs = {name: np.asarray(value) for name, value in zip(\(request.pythonOutputNames), result)}
            recorded_by = \(versionExpression)
            """
        return ReferenceScriptPart(requirements: requirements, imports: [module], body: body, recordedBy: recordedBy)
    }
}

extension KerasH5Reader: ReferenceScripting {
    public var referenceFrameworks: [String] { ["keras"] }

    public func referenceScript(for model: NeutralModel, request: ReferenceScriptRequest) throws -> ReferenceScriptPart {
        try KerasReferenceScript.part(request: request, format: info.id, frameworks: referenceFrameworks, module: "import tf_keras as keras",
                                      requirements: ["tensorflow==2.21.0", "tf_keras==2.21.0", "h5py==3.14.0"],
                                      recordedBy: "tf-keras 2.21.0 (TensorFlow 2.21.0)",
                                      versionExpression: #"f"tf-keras {keras.__version__}""#)
    }
}

extension KerasArchiveReader: ReferenceScripting {
    public var referenceFrameworks: [String] { ["keras"] }

    public func referenceScript(for model: NeutralModel, request: ReferenceScriptRequest) throws -> ReferenceScriptPart {
        try KerasReferenceScript.part(request: request, format: info.id, frameworks: referenceFrameworks, module: "import keras",
                                      requirements: ["tensorflow==2.21.0", "keras==3.15.1", "h5py==3.14.0"],
                                      recordedBy: "Keras 3.15.1 (TensorFlow 2.21.0)",
                                      versionExpression: #"f"Keras {keras.__version__} ({keras.backend.backend()})""#)
    }
}
