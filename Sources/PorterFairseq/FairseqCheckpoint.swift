import Foundation
import PorterCore

/// What Porter takes from a fairseq checkpoint (`torch.save` of a dict): the model's
/// state dict in file order, the settings (`args` or `cfg`) as JSON, and an account of
/// the training state (optimizer, extra state) that a port leaves behind.
public struct FairseqCheckpoint: Sendable {
    /// A top-level entry that is not carried over (`last_optimizer_state`, ...).
    public struct TrainingState: Sendable, Equatable, Codable {
        public var key: String
        /// Bytes of the tensors it holds.
        public var tensorBytes: Int
        public var tensorCount: Int
        public init(key: String, tensorBytes: Int, tensorCount: Int) {
            self.key = key
            self.tensorBytes = tensorBytes
            self.tensorCount = tensorCount
        }
    }

    /// The checkpoint file as the user named it.
    public var file: String
    /// `model`: name → tensor, in the file's order.
    public var model: [(name: String, tensor: TensorRef)]
    /// Every top-level entry except `model` as JSON (`args`/`cfg` flattened to objects;
    /// tensors inside are summarised).
    public var settings: [String: JSONValue]
    public var trainingState: [TrainingState]

    public init(file: String, model: [(name: String, tensor: TensorRef)], settings: [String: JSONValue], trainingState: [TrainingState]) {
        self.file = file
        self.model = model
        self.settings = settings
        self.trainingState = trainingState
    }

    /// Bytes of training state a port drops.
    public var trainingStateBytes: Int { trainingState.reduce(0) { $0 + $1.tensorBytes } }

    /// The model settings (`args`, else `cfg.model`).
    public func modelArgs() throws -> FairseqModelArgs {
        try FairseqModelArgs(checkpoint: settings, file: file)
    }

    /// The tensor named `name` of the state dict.
    public func tensor(_ name: String) -> TensorRef? {
        model.first(where: { $0.name == name })?.tensor
    }
}
