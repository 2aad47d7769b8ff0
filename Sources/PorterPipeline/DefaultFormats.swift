import Foundation
import PorterCore
import PorterHDF5
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
                KerasH5Reader(),
                KerasArchiveReader(),
            ],
            writers: [
                SafetensorsWriter(),
                PorterModelWriter(),
                HuggingFaceWriter(),
                PyTorchWriter(),
                KerasH5Writer(),
            ])
    }
}
