// swift-tools-version:6.0
import PackageDescription

// libFuzzer harnesses for Porter's parsers, one executable per parser, each calling the entry
// point the pipeline uses for that format. A separate package so the sanitizers never touch
// the main build. Build and run with `fuzz/run.sh NAME [SECONDS]`, which runs
//   swift build --sanitize=fuzzer --sanitize=address \
//       -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table --product NAME
// (Swift 6.3's driver links libFuzzer for --sanitize=fuzzer but does not instrument for
// coverage; the -sanitize-coverage flag does). See docs/robustness.md, "Fuzzing".
//
// A harness is an executable target with no top-level code (one file, not main.swift, so it is
// compiled as a library and libFuzzer's own main runs) defining LLVMFuzzerTestOneInput.
let package = Package(
    name: "PorterFuzz",
    dependencies: [.package(name: "Porter", path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        .target(name: "CFuzzSupport"),
        .executableTarget(name: "fuzz-json", dependencies: ["FuzzSupport", .product(name: "PorterCore", package: "Porter")]),
        .executableTarget(name: "fuzz-safetensors", dependencies: ["FuzzSupport", .product(name: "PorterPipeline", package: "Porter")]),
        .executableTarget(name: "fuzz-gguf", dependencies: ["FuzzSupport", .product(name: "PorterCore", package: "Porter"), .product(name: "PorterPipeline", package: "Porter"),
                                                          .product(name: "PorterTokenizers", package: "Porter")]),
        .executableTarget(name: "fuzz-numpy", dependencies: ["FuzzSupport", .product(name: "PorterCore", package: "Porter"), .product(name: "PorterPipeline", package: "Porter")]),
        .executableTarget(name: "fuzz-pickle-vm", dependencies: ["FuzzSupport", .product(name: "PorterPipeline", package: "Porter")]),
        .executableTarget(name: "fuzz-pickle-scan", dependencies: ["FuzzSupport", .product(name: "PorterPipeline", package: "Porter")]),
        .executableTarget(name: "fuzz-torch-zip", dependencies: ["FuzzSupport", .product(name: "PorterPipeline", package: "Porter")]),
        .executableTarget(name: "fuzz-torch-tar", dependencies: ["FuzzSupport", .product(name: "PorterPipeline", package: "Porter")]),
        .executableTarget(name: "fuzz-torch-legacy", dependencies: ["FuzzSupport", .product(name: "PorterPipeline", package: "Porter")]),
        .executableTarget(name: "fuzz-mapping", dependencies: ["FuzzSupport", .product(name: "PorterMapping", package: "Porter")]),
        .executableTarget(name: "fuzz-fairseq-dict", dependencies: ["FuzzSupport", .product(name: "PorterFairseq", package: "Porter")]),
        .executableTarget(name: "fuzz-bpecodes", dependencies: ["FuzzSupport", .product(name: "PorterFairseq", package: "Porter")]),
        .executableTarget(name: "fuzz-tf-checkpoint", dependencies: ["FuzzSupport", .product(name: "PorterPipeline", package: "Porter")]),
        .executableTarget(name: "fuzz-tf-savedmodel", dependencies: ["FuzzSupport", .product(name: "PorterPipeline", package: "Porter")]),
        .executableTarget(name: "fuzz-tokenizer-json", dependencies: ["FuzzSupport", .product(name: "PorterTokenizers", package: "Porter")]),
        .executableTarget(name: "fuzz-sentencepiece", dependencies: ["FuzzSupport", .product(name: "PorterTokenizers", package: "Porter")]),
        .executableTarget(name: "fuzz-onnx", dependencies: ["FuzzSupport", .product(name: "PorterPipeline", package: "Porter")]),
        .executableTarget(name: "fuzz-hdf5", dependencies: ["FuzzSupport", "CFuzzSupport", .product(name: "PorterPipeline", package: "Porter"), .product(name: "PorterHDF5", package: "Porter")]),
        .executableTarget(name: "fuzz-hdf5-checks", dependencies: ["FuzzSupport", .product(name: "PorterCore", package: "Porter"), .product(name: "PorterHDF5", package: "Porter")]),
    ]
)
