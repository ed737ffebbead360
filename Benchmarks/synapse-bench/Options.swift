// Command-line options of synapse-bench, parsed with swift-argument-parser as the experiment tools
// and synapse-check parse theirs: every bad value gets a message naming the flag, what was expected
// and what was found, and exit status 2.
import ArgumentParser
import SynapseOpenCL

/// Which parts of the benchmark run.
enum BenchPart: String, CaseIterable, ExpressibleByArgument {
    /// Per-op GFLOP/s or GB/s, each op checked against the reference first.
    case ops
    /// Whole training step (SI on and c = 0) and inference.
    case step
    /// Per-kernel profile of one training step (device timers).
    case profile
    /// Training steps whose gradients are denormal floats against ordinary steps, with denormals
    /// flushed (the backend's default) and, on OpenCL, kept (for contrast).
    case denormal
}

extension BenchArchitecture: ExpressibleByArgument {}
extension KernelStyle: @retroactive ExpressibleByArgument {}

/// The command line as typed (nil: not given); `resolved()` fills the defaults that depend on other flags.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synapse-bench",
        abstract: "How fast Synapse runs on one device: ops, the whole training step, its kernel profile, denormal steps.",
        discussion: "Progress goes to stderr, the table to stdout, every figure to --json FILE. "
            + "Exit status: 0 all passed, 1 a check failed or a part could not run, 2 bad arguments or device.")

    @Option(help: ArgumentHelp("The device (see --list-devices); default: a GPU if there is one, else the CPU.", valueName: "gpu|cpu|reference|index|name"))
    var device: String?
    @Option(help: ArgumentHelp("Kernel style (default: the device's).", valueName: "cpu|gpu"))
    var style: KernelStyle?
    @Option(name: .customLong("json"), help: ArgumentHelp("Write every figure to FILE (device, train_images_per_second[_c0], infer_images_per_second, peak_rss_bytes, ops, profile).", valueName: "FILE"))
    var jsonPath: String?
    @Flag(name: .customLong("list-devices"), help: "Print the devices present and exit.")
    var listDevices = false
    @Option(name: .customLong("arch"), help: ArgumentHelp("The network of the step, profile and denormal parts: cnn (split CIFAR, the default) or mlp (split MNIST's 784-256-256 MLP, batch 64 unless --batch).", valueName: "cnn|mlp"))
    var architecture: BenchArchitecture?
    @Option(help: ArgumentHelp("Minibatch of the training step and of the conv layer shapes (default 256; 64 with --arch mlp; 8 with --quick).", valueName: "n"))
    var batch: Int?
    @Option(help: ArgumentHelp("Output units, at least 10 (10 for split CIFAR-10; 60 for split CIFAR-10/100) (default 10).", valueName: "n"))
    var units: Int?
    @Option(help: ArgumentHelp("Untimed runs before the timed ones (default 2; 1 with --quick).", valueName: "n"))
    var warmup: Int?
    @Option(help: ArgumentHelp("Timed runs; the median is reported (default 5; 1 with --quick).", valueName: "n"))
    var repeats: Int?
    @Option(help: ArgumentHelp("Training steps per timed run (default 4; 1 with --quick).", valueName: "n"))
    var steps: Int?
    @Option(name: .customLong("c"), help: ArgumentHelp("SI strength of the \"SI on\" step, ≥ 0 (the c = 0 step runs beside it) (default 0.1).", valueName: "c"))
    var strength: Float?
    @Option(help: ArgumentHelp("Only ops whose name or shape contains TEXT (case-insensitive).", valueName: "TEXT"))
    var only: String?
    @Option(help: ArgumentHelp("Which parts run, a comma list of ops, step, profile, denormal (default: all).", valueName: "list"))
    var parts: String?
    @Option(name: .customLong("peak-gflops"), help: ArgumentHelp("A FLOP/s peak measured elsewhere (GFLOP/s), e.g. numpy/OpenBLAS sgemm; default: the best GEMM measured in this run.", valueName: "X"))
    var peakGflops: Double?
    @Option(name: .customLong("peak-source"), help: ArgumentHelp("What measured --peak-gflops, for the report.", valueName: "TEXT"))
    var peakSource: String?
    @Flag(help: "Small shapes, one repeat: a smoke run, not a measurement.")
    var quick = false
    @Flag(help: "First retune the kernel tiles on this device (every candidate checked against the reference, then timed); the choice is cached.")
    var tune = false
    @Option(help: ArgumentHelp("Also time CLBlast's SGEMM beside ours (each result checked against the reference first), loaded from LIBRARY ('default': $SYNAPSE_CLBLAST or libclblast.so.1).", valueName: "LIBRARY"))
    var clblast: String?

    /// The options the benchmark runs with.
    /// - Throws: `ValidationError` naming the flag, what was expected and what was found.
    func resolved() throws -> BenchOptions {
        func atLeast(_ flag: String, _ value: Int?, _ minimum: Int) throws {
            if let value, value < minimum { throw ValidationError("--\(flag) expects a whole number ≥ \(minimum), found \(value)") }
        }
        try atLeast("batch", batch, 1)
        try atLeast("units", units, 10)
        try atLeast("warmup", warmup, 0)
        try atLeast("repeats", repeats, 1)
        try atLeast("steps", steps, 1)
        if let strength, !(strength.isFinite && strength >= 0) {
            throw ValidationError("--c expects a finite number ≥ 0, found \(strength)")
        }
        if let peakGflops, !(peakGflops.isFinite && peakGflops > 0) {
            throw ValidationError("--peak-gflops expects a positive number of GFLOP/s, found \(peakGflops)")
        }
        if peakSource != nil, peakGflops == nil {
            throw ValidationError("--peak-source names where --peak-gflops comes from; --peak-gflops is missing")
        }
        var options = BenchOptions()
        options.device = device; options.style = style; options.jsonPath = jsonPath; options.listDevices = listDevices
        options.architecture = architecture ?? .cnn
        options.batch = batch ?? (quick ? 8 : options.architecture == .mlp ? 64 : 256)
        options.units = units ?? 10
        options.warmup = warmup ?? (quick ? 1 : 2)
        options.repeats = repeats ?? (quick ? 1 : 5)
        options.steps = steps ?? (quick ? 1 : 4)
        options.strength = strength ?? 0.1
        options.only = only
        if let parts {
            var chosen = Set<BenchPart>()
            for name in parts.split(separator: ",", omittingEmptySubsequences: false) {
                guard let part = BenchPart(rawValue: name.trimmed.lowercased()) else {
                    throw ValidationError("--parts expects a comma list of ops, step, profile, denormal; found '\(name)'")
                }
                chosen.insert(part)
            }
            options.parts = chosen
        }
        options.peakGflops = peakGflops; options.peakSource = peakSource
        options.quick = quick; options.tune = tune
        options.clblast = clblast.map { $0 == "default" ? "" : $0 }
        return options
    }
}

/// What the benchmark runs with, every default filled in (`BenchCommand.resolved`).
struct BenchOptions {
    var device: String?
    var style: KernelStyle?
    var jsonPath: String?
    var listDevices = false
    /// The network of the step, profile and denormal parts: the split-CIFAR CNN or the split-MNIST MLP.
    var architecture = BenchArchitecture.cnn
    /// Minibatch of the training step and of the conv layer shapes (256 in the paper; 64 for the MLP).
    var batch = 256
    /// Output units of the multi-head layer (10: split CIFAR-10 alone; 60: CIFAR-10/100).
    var units = 10
    /// Untimed runs before the timed ones (kernel compilation, caches, clocks).
    var warmup = 2
    /// Timed runs; the median is reported.
    var repeats = 5
    /// Training steps per timed run of the whole step.
    var steps = 4
    /// SI strength c of the "SI on" step (the c = 0 step runs beside it).
    var strength: Float = 0.1
    /// Only ops whose name or shape contains this text (case-insensitive).
    var only: String?
    var parts: Set<BenchPart> = Set(BenchPart.allCases)
    /// A FLOP/s peak measured elsewhere (e.g. numpy/OpenBLAS sgemm), GFLOP/s; nil: the best GEMM here.
    var peakGflops: Double?
    /// Where `peakGflops` comes from, for the report.
    var peakSource: String?
    /// Small shapes for a fast smoke run (not the paper's).
    var quick = false
    /// Retune every tunable kernel's tiles first (ignoring cached choices) and report the candidates.
    var tune = false
    /// Time CLBlast's SGEMM beside ours (nil: not asked; "" the default library name).
    var clblast: String?
}

extension Substring {
    /// Without leading and trailing whitespace.
    var trimmed: String {
        var s = self
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
