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
import PorterTokenizers
import PorterVerifier

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

extension FormatRegistry {
    /// Tokenizers only a format's own files hold, for the verifier's tokenizer level: a fairseq checkpoint's
    /// own `dict.<lang>.txt` + `bpecodes` on disk (not the FSMT files its port carries, so an FSMT port is
    /// compared with what fairseq reads), and a GGUF file's `tokenizer.ggml.*` metadata. Nil: neither.
    static func formatTokenizer(_ model: NeutralModel, at url: URL) -> TokenizerSide? {
        if model.sourceFormat == "fairseq",
           let lang = model.config["langs"]?.arrayValue?.first?.stringValue ?? model.config["source_lang"]?.stringValue {
            do {
                if let (t, files) = try FairseqTokenizer.load(beside: url, sourceLang: lang) { return .present(t, file: "\(url.path) (\(files))") }
            } catch {
                return .unreadable(file: url.path, error: error.localizedDescription)
            }
        }
        // A GGUF file's tokenizer.ggml.* metadata (its reader keeps the metadata as the config; when the
        // config was translated for the forward level, the file's header is read again).
        var metadata = model.config.objectValue
        if model.sourceFormat == "gguf", !GGUFVocab.present(in: metadata ?? [:]) {
            metadata = (try? GGUFReader().read(url))?.config.objectValue
        }
        if let metadata, GGUFVocab.present(in: metadata) {
            let name = "\(url.path) (GGUF tokenizer.ggml.*)"
            do {
                return .present(try GGUFVocab(metadata: metadata, file: url.path).tokenizer(file: name), file: name)
            } catch {
                return .unreadable(file: name, error: error.localizedDescription)
            }
        }
        return nil
    }

    /// The tokenizer files (`tokenizer.json`, `tokenizer_config.json`) of a tokenizer only a format's own
    /// file holds, as `--to hf` writes them: a GGUF file's `tokenizer.ggml.*` metadata. Empty: the format
    /// keeps no tokenizer of its own. For `porter tokenize --write-tokenizer`, which also serves
    /// vocabulary-only GGUF files that `--to hf` cannot take (no architecture to write).
    static func formatTokenizerAssets(_ model: NeutralModel, at url: URL) throws -> [Asset] {
        guard model.sourceFormat == "gguf", let metadata = model.config.objectValue else { return [] }
        return try GGUFTokenizer.assets(fromMetadata: metadata, file: url.path)
    }
}
