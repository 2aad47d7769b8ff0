import Foundation
import PorterCore
import PorterHuggingFace
import PorterNeutralFormat
import PorterPyTorch
import PorterSafetensors

extension FormatRegistry {
    /// Every reader and writer this build of Porter has. Adding a format means adding
    /// it here, and nowhere else.
    public static var porterDefault: FormatRegistry {
        FormatRegistry(
            readers: [
                SafetensorsReader(),
                PorterModelReader(),
                HuggingFaceReader(),
                PyTorchReader(),
            ],
            writers: [
                SafetensorsWriter(),
                PorterModelWriter(),
                HuggingFaceWriter(),
                PyTorchWriter(),
            ])
    }
}
