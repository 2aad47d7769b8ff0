// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Porter",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "porter", targets: ["PorterCLI"]),
        .library(name: "PorterCore", targets: ["PorterCore"]),
        .library(name: "PorterPickle", targets: ["PorterPickle"]),
        .library(name: "PorterPyTorch", targets: ["PorterPyTorch"]),
        .library(name: "PorterHDF5", targets: ["PorterHDF5"]),
        .library(name: "PorterTensorFlow", targets: ["PorterTensorFlow"]),
        // For the libFuzzer harnesses in fuzz/ (a separate package): the pipeline's entry points.
        .library(name: "PorterPipeline", targets: ["PorterPipeline"]),
        .library(name: "PorterMapping", targets: ["PorterMapping"]),
        .library(name: "PorterFairseq", targets: ["PorterFairseq"]),
        .library(name: "PorterTokenizers", targets: ["PorterTokenizers"]),
        .library(name: "PorterGGUF", targets: ["PorterGGUF"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // Only PorterTensorFlow depends on SwiftProtobuf (TensorFlow's checkpoint and SavedModel protobufs).
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // The neutral model, byte plumbing, errors and the format registry. Depends only on a tiny C shim for
        // Linux system calls Swift's Glibc module does not expose.
        .target(name: "CPorterSys"),
        .target(name: "CPorterKernels"),
        .target(name: "PorterCore", dependencies: ["CPorterSys", "CPorterKernels"]),
        // safetensors (single file and sharded with an index), Porter's own on-disk form, and Hugging Face
        // model folders. The neutral form and HF folders store their weights through the safetensors writer.
        .target(name: "PorterSafetensors", dependencies: ["PorterCore"]),
        .target(name: "PorterNeutralFormat", dependencies: ["PorterCore", "PorterSafetensors", "PorterOps"]),
        .target(name: "PorterHuggingFace", dependencies: ["PorterCore", "PorterSafetensors"]),
        .testTarget(name: "PorterSafetensorsTests", dependencies: ["PorterSafetensors", "PorterTestSupport"]),
        .testTarget(name: "PorterNeutralFormatTests", dependencies: ["PorterNeutralFormat", "PorterSafetensors", "PorterHuggingFace", "PorterTestSupport"]),
        // GGUF (llama.cpp / ggml): reader (dequantizes block types to f32), writer (quantizes q8_0/q4_0/q4_1).
        .target(name: "PorterGGUF", dependencies: ["PorterCore", "PorterArchitectures", "PorterTokenizers"]),
        .testTarget(name: "PorterGGUFTests", dependencies: ["PorterGGUF", "PorterCore", "PorterPipeline", "PorterSafetensors", "PorterTestSupport"]),
        .testTarget(name: "PorterHuggingFaceTests", dependencies: ["PorterHuggingFace", "PorterSafetensors", "PorterTestSupport"]),
        // Mapping files (mappings/*.json): rename, transpose, split, concat, cast, tie, drop,
        // with accounting of every tensor.
        .target(name: "PorterMapping", dependencies: ["PorterCore", "PorterArchitectures"]),
        .testTarget(name: "PorterMappingTests", dependencies: ["PorterMapping", "PorterSafetensors", "PorterTestSupport"]),
        // fairseq: dictionaries, BPE codes, checkpoint → transformers FSMT (config, vocabularies, merges, mapped weights).
        .target(name: "PorterFairseq", dependencies: ["PorterCore", "PorterPickle", "PorterPyTorch", "PorterMapping", "PorterArchitectures", "PorterTokenizers"]),
        .testTarget(name: "PorterFairseqTests", dependencies: ["PorterFairseq", "PorterMapping", "PorterHuggingFace", "PorterArchitectures", "PorterRuntime", "PorterPipeline", "PorterPyTorch", "PorterTestSupport"]),
        // The default registry of readers and writers, and convert / inspect as library calls.
        .target(name: "PorterPipeline", dependencies: [
            "PorterCore", "PorterMapping", "PorterSafetensors", "PorterNeutralFormat", "PorterHuggingFace",
            "PorterPickle", "PorterPyTorch", "PorterHDF5", "PorterFairseq", "PorterTensorFlow", "PorterVerifier", "PorterNumpy", "PorterONNX",
            "PorterTokenizers", "PorterGGUF",
        ]),
        .testTarget(name: "PorterPipelineTests", dependencies: ["PorterPipeline", "PorterTestSupport"]),
        // The `porter` command: argument handling only, one file per command.
        .executableTarget(name: "PorterCLI", dependencies: [
            "PorterPipeline", "PorterCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "PorterCLITests", dependencies: ["PorterCLI", "PorterSafetensors", "PorterVerifier", "PorterTestSupport"]),
        // Verifier: weights / forward / reference checks, first-divergence search, reports (JSON, Markdown, HTML).
        .target(name: "PorterVerifier", dependencies: ["PorterCore", "PorterRuntime", "PorterArchitectures", "PorterTokenizers"]),
        .testTarget(name: "PorterVerifierTests", dependencies: [
            "PorterVerifier", "PorterRuntime", "PorterArchitectures", "PorterMapping", "PorterPipeline", "PorterSafetensors",
            "PorterHuggingFace", "PorterCore", "PorterTestSupport",
        ]),
        // porter-bench-verify: times Verifier.verify on a BERT-base-shaped model (built with -c release).
        .executableTarget(name: "porter-bench-verify", dependencies: ["PorterCore", "PorterVerifier", "PorterRuntime", "PorterArchitectures"]),
        // Fixture lookup, golden files and tensor digests, for tests only.
        .target(name: "PorterTestSupport", dependencies: ["PorterCore"]),
        .testTarget(name: "PorterCoreTests", dependencies: ["PorterCore", "PorterTestSupport"]),
        // Op specs: every op of docs/ops.md with its inputs, typed attributes and shape/dtype inference;
        // GraphValidator checks graphs when they are built or loaded.
        .target(name: "PorterOps", dependencies: ["PorterCore"]),
        .testTarget(name: "PorterOpsTests", dependencies: ["PorterOps", "PorterCore", "PorterTestSupport"]),


        // PyTorch checkpoints: the allow-list pickle VM and scanner; torch zip / legacy / TorchScript
        // readers and the PyTorch writer. CZlib is zlib (Debian zlib1g-dev) for deflated zip entries and CRC-32.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "PorterPickle", dependencies: ["PorterCore"]),
        .target(name: "PorterPyTorch", dependencies: ["PorterCore", "PorterPickle", "CZlib"]),
        .testTarget(name: "PorterPickleTests", dependencies: ["PorterPickle", "PorterTestSupport"]),
        .testTarget(name: "PorterPyTorchTests", dependencies: ["PorterPyTorch", "PorterPickle", "PorterTestSupport"]),
        // numpy's own files: .npy arrays and .npz archives (through the PyTorch target's zip reader).
        .target(name: "PorterNumpy", dependencies: ["PorterCore", "PorterPickle", "PorterPyTorch"]),
        .testTarget(name: "PorterNumpyTests", dependencies: ["PorterNumpy", "PorterCore", "PorterTestSupport"]),
        // Runtime: executes the neutral graph on the CPU (float32, OpenBLAS through CBLAS; only PorterRuntime links
        // BLAS). Architectures: graph builders for known configs (BERT/RoBERTa, GPT-2, FSMT), pure graph construction.
        // porter-bench-runtime: the BERT-base forward benchmark (bench/runtime_bert_base.sh), built with -c release.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // CPorterRuntime: the runtime's own C kernels (tanh-GELU, softmax rows) and oneDNN's sgemm, which it loads
        // with dlopen when libdnnl.so.2 is installed (Debian libdnnl-dev), else the runtime uses OpenBLAS.
        .target(name: "CPorterRuntime", dependencies: ["CPorterKernels"]),
        .target(name: "PorterRuntime", dependencies: ["PorterCore", "PorterOps", "CBLAS", "CPorterKernels", "CPorterRuntime"]),
        .target(name: "PorterArchitectures", dependencies: ["PorterCore", "PorterOps"]),
        // Architecture descriptors: configs, templates, tiny copies, template mappings.
        .testTarget(name: "PorterArchitecturesTests", dependencies: [
            "PorterArchitectures", "PorterMapping", "PorterPipeline", "PorterRuntime", "PorterVerifier", "PorterSafetensors", "PorterHuggingFace",
            "PorterCore", "PorterTestSupport",
        ]),
        .executableTarget(name: "porter-bench-runtime", dependencies: ["PorterCore", "PorterRuntime", "PorterArchitectures"]),
        .testTarget(name: "PorterRuntimeTests", dependencies: ["PorterRuntime", "PorterOps", "PorterArchitectures", "PorterSafetensors", "PorterCore", "PorterTestSupport"]),

        // HDF5 / Keras: libhdf5 through pkg-config `hdf5` (Debian/Ubuntu `libhdf5-dev` ships hdf5.pc with
        // -I/usr/include/hdf5/serial -L/usr/lib/<triple>/hdf5/serial -lhdf5), a C shim for HDF5's macros,
        // and the Keras `.h5` / `.keras` readers, writer and graph builder. Only PorterHDF5 links libhdf5.
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"]), .brew(["hdf5"])]),
        .target(name: "CHDF5Shim", dependencies: ["CHDF5"]),
        .target(name: "PorterHDF5", dependencies: ["PorterCore", "PorterOps", "PorterNeutralFormat", "CHDF5", "CHDF5Shim"]),
        .testTarget(name: "PorterHDF5Tests", dependencies: ["PorterHDF5", "PorterCore", "PorterNeutralFormat", "PorterMapping", "PorterPipeline", "PorterRuntime", "PorterSafetensors", "PorterTestSupport"]),
        // TensorFlow: tensor bundles (checkpoints), object-based names, SavedModel signatures and graphs.
        // CSnappy is libsnappy (Debian libsnappy-dev) for snappy-compressed table blocks.
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .target(
            name: "PorterTensorFlow",
            dependencies: ["PorterCore", "PorterOps", "CSnappy", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Protos"]
        ),
        // ONNX: .onnx models read by a wire-format scan (initializers lazy, external data confined to the
        // model's folder), graph import through the op specs, and the ONNX writer.
        .target(name: "PorterONNX", dependencies: ["PorterCore", "PorterOps", "PorterArchitectures"], exclude: ["Protos"]),
        .testTarget(name: "PorterONNXTests", dependencies: ["PorterONNX", "PorterCore", "PorterPipeline", "PorterRuntime", "PorterSafetensors", "PorterTestSupport"]),
        .testTarget(name: "PorterTensorFlowTests", dependencies: [
            "PorterTensorFlow", "PorterCore", "PorterTestSupport", "PorterRuntime", "PorterArchitectures", "PorterSafetensors", "CSnappy",
            "PorterMapping",
        ]),

        // Tokenizers run in Swift: tokenizer.json (normalizers, pre-tokenizers, WordPiece / BPE / Unigram,
        // post-processors, added tokens), the slow files (vocab.txt, vocab.json + merges.txt), with ids equal to
        // the Rust `tokenizers` library's. Split patterns run on ICU (Foundation's NSRegularExpression).
        .target(name: "PorterTokenizers", dependencies: ["PorterCore"]),
        .testTarget(name: "PorterTokenizersTests", dependencies: ["PorterTokenizers", "PorterGGUF", "PorterFairseq", "PorterCore", "PorterTestSupport"]),
        // porter-bench-tokenize: encodes a text file line by line (bench/tokenize.sh), built with -c release.
        .executableTarget(name: "porter-bench-tokenize", dependencies: ["PorterTokenizers"]),

        // Robustness: deterministic mutations (truncation, byte flips, huge length fields, zeroed ranges) of every
        // format's fixtures, run through every registered reader via the pipeline; success or a typed error only.
        .testTarget(name: "PorterRobustnessTests", dependencies: ["PorterPipeline", "PorterCore", "PorterTestSupport"]),
    ]
)
