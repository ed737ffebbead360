// swift-tools-version:6.1
import PackageDescription

// synapse-bench: timings of ops and training steps against the reference backend and peers.
// Its own package (as swift-collections keeps its benchmarks), so that `swift test` at the root
// neither compiles nor links it. It depends on the root package by path and uses its library
// products. Build from the repository root:
//   swift build -c release --package-path Benchmarks --product synapse-bench
let package = Package(
    name: "SynapseBenchmarks",
    products: [
        .executable(name: "synapse-bench", targets: ["synapse-bench"]),
    ],
    dependencies: [
        .package(name: "Synapse", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .executableTarget(name: "synapse-bench", dependencies: [
            .product(name: "SynapseEngine", package: "Synapse"),
            .product(name: "SynapseReference", package: "Synapse"),
            .product(name: "SynapseOpenCL", package: "Synapse"),
            .product(name: "SynapseContinual", package: "Synapse"),
            .product(name: "SynapseChecks", package: "Synapse"),
            .product(name: "SynapseCLI", package: "Synapse"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], path: "synapse-bench"),
    ],
    swiftLanguageModes: [.v6]
)
