import Foundation
import PorterCore
import PorterFairseq
import PorterGGUF
import PorterHDF5
import PorterHuggingFace
import PorterMapping
import PorterNeutralFormat
import PorterNumpy
import PorterONNX
import PorterPyTorch
import PorterSafetensors
import PorterTensorFlow

extension FormatRegistry {
    /// Every reader and writer this build of Porter has. Adding a format means adding
    /// it here, and nowhere else.
    public static var porterDefault: FormatRegistry {
        FormatRegistry(
            readers: [
                SafetensorsReader(),
                PorterModelReader(),
                HuggingFaceReader(weightFiles: HuggingFaceWeightFile.safetensors + [
                    HuggingFaceWeightFile(fileName: "pytorch_model.bin", reader: PyTorchReader()),
                    HuggingFaceWeightFile(fileName: "pytorch_model.bin.index.json", reader: PyTorchReader()),
                    HuggingFaceWeightFile(fileName: "tf_model.h5", identifiesFolder: false, reader: KerasH5Reader()),
                    HuggingFaceWeightFile(fileName: TFShardIndex.fileName, identifiesFolder: false, reader: KerasH5Reader()),
                ]),
                PyTorchReader(),
                FairseqReader(mappingSearchPaths: MappingLocations.searchPaths, porterVersion: PorterVersion.current),
                KerasH5Reader(),
                KerasArchiveReader(),
                TensorFlowCheckpointReader(),
                TensorFlowSavedModelReader(),
                NumpyReader(),
                ONNXReader(),
                GGUFReader(),
            ],
            writers: [
                SafetensorsWriter(),
                PorterModelWriter(),
                HuggingFaceWriter(),
                PyTorchWriter(),
                KerasH5Writer(),
                ONNXWriter(),
                GGUFWriter(),
            ])
    }
}
