// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Porter",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "porter", targets: ["PorterCLI"]),
        .library(name: "PorterCore", targets: ["PorterCore"]),
        .library(name: "PorterTensorFlow", targets: ["PorterTensorFlow"]),
        .library(name: "PorterPickle", targets: ["PorterPickle"]),
        .library(name: "PorterPyTorch", targets: ["PorterPyTorch"]),
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
        .target(name: "PorterCore", dependencies: ["CPorterSys"]),
        // safetensors (single file and sharded with an index), Porter's own on-disk form, and Hugging Face
        // model folders. The neutral form and HF folders store their weights through the safetensors writer.
        .target(name: "PorterSafetensors", dependencies: ["PorterCore"]),
        .target(name: "PorterNeutralFormat", dependencies: ["PorterCore", "PorterSafetensors"]),
        .target(name: "PorterHuggingFace", dependencies: ["PorterCore", "PorterSafetensors"]),
        .testTarget(name: "PorterSafetensorsTests", dependencies: ["PorterSafetensors", "PorterTestSupport"]),
        .testTarget(name: "PorterNeutralFormatTests", dependencies: ["PorterNeutralFormat", "PorterSafetensors", "PorterHuggingFace", "PorterTestSupport"]),
        .testTarget(name: "PorterHuggingFaceTests", dependencies: ["PorterHuggingFace", "PorterSafetensors", "PorterTestSupport"]),
        // Mapping files (mappings/*.json): rename, transpose, split, concat, cast, tie, drop,
        // with accounting of every tensor.
        .target(name: "PorterMapping", dependencies: ["PorterCore"]),
        .testTarget(name: "PorterMappingTests", dependencies: ["PorterMapping", "PorterTestSupport"]),
        // The default registry of readers and writers, and convert / inspect as library calls.
        .target(name: "PorterPipeline", dependencies: [
            "PorterCore", "PorterMapping", "PorterSafetensors", "PorterNeutralFormat", "PorterHuggingFace",
            "PorterPickle", "PorterPyTorch",
        ]),
        .testTarget(name: "PorterPipelineTests", dependencies: ["PorterPipeline", "PorterTestSupport"]),
        // The `porter` command: argument handling only, one file per command.
        .executableTarget(name: "PorterCLI", dependencies: [
            "PorterPipeline", "PorterCore",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "PorterCLITests", dependencies: ["PorterCLI", "PorterSafetensors", "PorterTestSupport"]),
        // Fixture lookup, golden files and tensor digests, for tests only.
        .target(name: "PorterTestSupport", dependencies: ["PorterCore"]),
        .testTarget(name: "PorterCoreTests", dependencies: ["PorterCore", "PorterTestSupport"]),
        // TensorFlow: tensor bundles (checkpoints), object-based names, SavedModel signatures and graphs.
        // CSnappy is libsnappy (Debian libsnappy-dev) for snappy-compressed table blocks.
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .target(
            name: "PorterTensorFlow",
            dependencies: ["PorterCore", "CSnappy", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Protos"]
        ),
        .testTarget(name: "PorterTensorFlowTests", dependencies: [
            "PorterTensorFlow", "PorterCore", "PorterTestSupport", "PorterRuntime", "PorterArchitectures", "PorterSafetensors", "CSnappy",
        ]),

        // PyTorch checkpoints: the allow-list pickle VM and scanner; torch zip / legacy / TorchScript
        // readers and the PyTorch writer. CZlib is zlib (Debian zlib1g-dev) for deflated zip entries and CRC-32.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "PorterPickle", dependencies: ["PorterCore"]),
        .target(name: "PorterPyTorch", dependencies: ["PorterCore", "PorterPickle", "CZlib"]),
        .testTarget(name: "PorterPickleTests", dependencies: ["PorterPickle", "PorterTestSupport"]),
        .testTarget(name: "PorterPyTorchTests", dependencies: ["PorterPyTorch", "PorterPickle", "PorterTestSupport"]),
        // Runtime: executes the neutral graph on the CPU (float32, OpenBLAS through CBLAS; only PorterRuntime links
        // BLAS). Architectures: graph builders for known configs (BERT/RoBERTa, GPT-2, FSMT), pure graph construction.
        // porter-bench-runtime: the BERT-base forward benchmark (bench/runtime_bert_base.sh), built with -c release.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "PorterRuntime", dependencies: ["PorterCore", "CBLAS"]),
        .target(name: "PorterArchitectures", dependencies: ["PorterCore"]),
        .executableTarget(name: "porter-bench-runtime", dependencies: ["PorterCore", "PorterRuntime", "PorterArchitectures"]),
        .testTarget(name: "PorterRuntimeTests", dependencies: ["PorterRuntime", "PorterArchitectures", "PorterSafetensors", "PorterCore", "PorterTestSupport"]),
    ]
)
