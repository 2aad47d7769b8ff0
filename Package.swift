// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Porter",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "PorterCore", targets: ["PorterCore"]),
        .library(name: "PorterPickle", targets: ["PorterPickle"]),
        .library(name: "PorterPyTorch", targets: ["PorterPyTorch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The neutral model, byte plumbing, errors and the format registry. Depends only on a tiny C shim for
        // Linux system calls Swift's Glibc module does not expose.
        .target(name: "CPorterSys"),
        .target(name: "PorterCore", dependencies: ["CPorterSys"]),
        // Mapping files (mappings/*.json): rename, transpose, split, concat, cast, tie, drop,
        // with accounting of every tensor.
        .target(name: "PorterMapping", dependencies: ["PorterCore"]),
        .testTarget(name: "PorterMappingTests", dependencies: ["PorterMapping", "PorterTestSupport"]),
        // fairseq: dictionaries, BPE codes, checkpoint → transformers FSMT (config, vocabularies, merges, mapped weights).
        .target(name: "PorterFairseq", dependencies: ["PorterCore", "PorterPickle", "PorterPyTorch", "PorterMapping"]),
        .testTarget(name: "PorterFairseqTests", dependencies: ["PorterFairseq", "PorterMapping", "PorterTestSupport"]),
        // Fixture lookup, golden files and tensor digests, for tests only.
        .target(name: "PorterTestSupport", dependencies: ["PorterCore"]),
        .testTarget(name: "PorterCoreTests", dependencies: ["PorterCore", "PorterTestSupport"]),

        // PyTorch checkpoints: the allow-list pickle VM and scanner; torch zip / legacy / TorchScript
        // readers and the PyTorch writer. CZlib is zlib (Debian zlib1g-dev) for deflated zip entries and CRC-32.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "PorterPickle", dependencies: ["PorterCore"]),
        .target(name: "PorterPyTorch", dependencies: ["PorterCore", "PorterPickle", "CZlib"]),
        .testTarget(name: "PorterPickleTests", dependencies: ["PorterPickle", "PorterTestSupport"]),
        .testTarget(name: "PorterPyTorchTests", dependencies: ["PorterPyTorch", "PorterPickle", "PorterTestSupport"]),
    ]
)
