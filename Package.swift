// swift-tools-version:6.1
import PackageDescription

// Synapse: continual learning with Synaptic Intelligence on OpenCL devices.
// The module map (what each target is for and what it depends on) is docs/architecture.md.

let package = Package(
    name: "Synapse",
    products: [
        // MARK: Public products
        .executable(name: "cifar-split", targets: ["cifar-split"]),
        .executable(name: "split-mnist", targets: ["split-mnist"]),
        .executable(name: "permuted-mnist", targets: ["permuted-mnist"]),
        .executable(name: "synapse-check", targets: ["synapse-check"]),
        .library(name: "SynapseEngine", targets: ["SynapseEngine"]),
        .library(name: "SynapseContinual", targets: ["SynapseContinual"]),
        // For the benchmark package (Benchmarks/Package.swift), which builds synapse-bench on them.
        .library(name: "SynapseReference", targets: ["SynapseReference"]),
        .library(name: "SynapseOpenCL", targets: ["SynapseOpenCL"]),
        .library(name: "SynapseChecks", targets: ["SynapseChecks"]),
        .library(name: "SynapseCLI", targets: ["SynapseCLI"]),
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
        .executableTarget(name: "embed-kernels"),
        .plugin(name: "EmbedKernels", capability: .buildTool(), dependencies: ["embed-kernels"]),

        // MARK: Libraries
        .target(name: "SynapseEngine"),
        .target(name: "SynapseReference", dependencies: ["SynapseEngine"]),
        .target(name: "SynapseOpenCL", dependencies: ["SynapseEngine", "SynapseReference", "COpenCL"],
                plugins: ["EmbedKernels"]),
        .target(name: "SynapseContinual", dependencies: ["SynapseEngine", "SynapseData"]),
        .target(name: "SynapseData", dependencies: ["CZlib"]),
        .target(name: "SynapseMPI", dependencies: ["SynapseContinual", "CMPI"]),
        .target(name: "SynapseChecks", dependencies: ["SynapseEngine", "SynapseReference"]),
        .target(name: "SynapseCLI", dependencies: [
            "SynapseEngine", "SynapseReference", "SynapseOpenCL", "SynapseContinual", "SynapseData",
            .target(name: "SynapseMPI", condition: .when(traits: ["MPI"])),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Executables (thin)
        .executableTarget(name: "cifar-split", dependencies: ["SynapseCLI"]),
        .executableTarget(name: "split-mnist", dependencies: ["SynapseCLI"]),
        .executableTarget(name: "permuted-mnist", dependencies: ["SynapseCLI"]),
        .executableTarget(name: "synapse-check", dependencies: [
            "SynapseCLI", "SynapseChecks", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // MARK: Tests
        // What the test targets share (temporary folders, the OpenCL test device with tiles pinned
        // to the table defaults, synthetic data, running a tool in-process, the slow-tier switch
        // SYNAPSE_LONG_TESTS): one home, imported by every test target.
        .target(name: "SynapseTestSupport", dependencies: [
            "SynapseEngine", "SynapseReference", "SynapseOpenCL", "SynapseContinual", "SynapseData", "SynapseCLI",
        ], path: "Tests/SynapseTestSupport"),
        .testTarget(name: "EngineTests", dependencies: ["SynapseEngine", "SynapseReference", "SynapseChecks", "SynapseTestSupport"]),
        .testTarget(name: "OpenCLTests", dependencies: ["SynapseOpenCL", "SynapseReference", "SynapseChecks", "SynapseTestSupport"]),
        .testTarget(name: "DataTests", dependencies: ["SynapseData", "SynapseTestSupport"]),
        .testTarget(name: "ContinualTests", dependencies: ["SynapseContinual", "SynapseData", "SynapseReference", "SynapseOpenCL",
                                                          "SynapseTestSupport"]),
        .testTarget(name: "ExperimentTests", dependencies: ["SynapseCLI", "SynapseTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
