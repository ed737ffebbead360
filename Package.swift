// swift-tools-version:6.1
import PackageDescription

// Synapse: continual learning with Synaptic Intelligence on OpenCL devices.
// The module map (what each target is for and what it depends on) is docs/architecture.md.

// Swift 6 language mode (complete concurrency checking), target by target.
let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "Synapse",
    products: [
        // MARK: Public products
        .executable(name: "cifar-split", targets: ["cifar-split"]),
        .executable(name: "split-mnist", targets: ["split-mnist"]),
        .executable(name: "permuted-mnist", targets: ["permuted-mnist"]),
        .executable(name: "synapse-check", targets: ["synapse-check"]),
        .executable(name: "synapse-bench", targets: ["synapse-bench"]),
        .library(name: "SynapseEngine", targets: ["SynapseEngine"]),
        .library(name: "SynapseContinual", targets: ["SynapseContinual"]),
    ],
    // Opt-in features. MPI needs Open MPI's development files (Debian: openmpi-bin libopenmpi-dev);
    // the default build, the quick-start and the static GPU kit do not.
    traits: [
        .trait(name: "MPI", description: "Sweeps over MPI ranks and data-parallel training (Open MPI, pkg-config ompi)."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // MARK: System libraries
        .systemLibrary(name: "COpenCL", pkgConfig: "OpenCL",
                       providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CMPI", pkgConfig: "ompi", providers: [.apt(["libopenmpi-dev"])]),

        // MARK: Build tools (kernel embedding)
        .executableTarget(name: "embed-kernels", swiftSettings: swift6),
        .plugin(name: "EmbedKernels", capability: .buildTool(), dependencies: ["embed-kernels"]),

        // MARK: Libraries
        .target(name: "SynapseEngine", swiftSettings: swift6),
        .target(name: "SynapseReference", dependencies: ["SynapseEngine"], swiftSettings: swift6),
        .target(name: "SynapseOpenCL", dependencies: ["SynapseEngine", "SynapseReference", "COpenCL"],
                swiftSettings: swift6, plugins: ["EmbedKernels"]),
        .target(name: "SynapseContinual", dependencies: ["SynapseEngine", "SynapseData"], swiftSettings: swift6),
        .target(name: "SynapseData", dependencies: ["CZlib"], swiftSettings: swift6),
        .target(name: "SynapseMPI", dependencies: ["SynapseContinual", "CMPI"], swiftSettings: swift6),
        .target(name: "SynapseChecks", dependencies: ["SynapseEngine", "SynapseReference"], swiftSettings: swift6),
        .target(name: "SynapseCLI", dependencies: [
            "SynapseEngine", "SynapseReference", "SynapseOpenCL", "SynapseContinual", "SynapseData",
            .target(name: "SynapseMPI", condition: .when(traits: ["MPI"])),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),

        // MARK: Executables (thin)
        .executableTarget(name: "cifar-split", dependencies: ["SynapseCLI"], swiftSettings: swift6),
        .executableTarget(name: "split-mnist", dependencies: ["SynapseCLI"], swiftSettings: swift6),
        .executableTarget(name: "permuted-mnist", dependencies: ["SynapseCLI"], swiftSettings: swift6),
        .executableTarget(name: "synapse-check", dependencies: [
            "SynapseCLI", "SynapseChecks", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], swiftSettings: swift6),
        .executableTarget(name: "synapse-bench", dependencies: [
            "SynapseCLI", "SynapseChecks", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ],
                          path: "Benchmarks/synapse-bench", swiftSettings: swift6),

        // MARK: Tests
        .testTarget(name: "EngineTests", dependencies: ["SynapseEngine", "SynapseReference", "SynapseChecks"],
                    swiftSettings: swift6),
        .testTarget(name: "OpenCLTests", dependencies: ["SynapseOpenCL", "SynapseReference", "SynapseChecks"],
                    swiftSettings: swift6),
        .testTarget(name: "DataTests", dependencies: ["SynapseData"], swiftSettings: swift6),
        .testTarget(name: "ContinualTests", dependencies: ["SynapseContinual", "SynapseData", "SynapseReference", "SynapseOpenCL"],
                    swiftSettings: swift6),
        .testTarget(name: "ExperimentTests", dependencies: ["SynapseCLI"], swiftSettings: swift6),
    ],
    swiftLanguageModes: [.v5]
)
