// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Porter",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "PorterCore", targets: ["PorterCore"]),
        .library(name: "PorterTensorFlow", targets: ["PorterTensorFlow"]),
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
        // Fixture lookup, golden files and tensor digests, for tests only.
        .target(name: "PorterTestSupport", dependencies: ["PorterCore"]),
        .testTarget(name: "PorterCoreTests", dependencies: ["PorterCore", "PorterTestSupport"]),
        // TensorFlow: tensor bundles (checkpoints), object-based names, SavedModel signatures and graphs.
        .target(
            name: "PorterTensorFlow",
            dependencies: ["PorterCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Protos"]
        ),
        .testTarget(name: "PorterTensorFlowTests", dependencies: ["PorterTensorFlow", "PorterCore", "PorterTestSupport"]),
    ]
)
