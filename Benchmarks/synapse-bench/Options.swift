// Command-line options of synapse-bench, parsed by hand (the same style as synapse-check) so every
// bad value gets a message naming the flag, what was expected and what was found.
import SynapseOpenCL

/// A bad command line; `main` prints it with the usage and exits with status 2.
struct BenchUsageError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Which parts of the benchmark run.
enum BenchPart: String, CaseIterable {
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

    static let usage = """
    usage: synapse-bench [--device gpu|cpu|reference|<index>|<name>] [--style cpu|gpu] [--json FILE]
                         [--arch cnn|mlp] [--batch 256] [--units 10] [--warmup 2] [--repeats 5] [--steps 4] [--c 0.1]
                         [--only TEXT] [--parts ops,step,profile,denormal] [--peak-gflops X [--peak-source TEXT]] [--quick]
                         [--tune] [--clblast [LIBRARY]] [--list-devices]
      --device       the device (see --list-devices); default: a GPU if there is one, else the CPU
      --json FILE    write every figure to FILE (device, train_images_per_second[_c0],
                     infer_images_per_second, peak_rss_bytes, ops [...], profile [...])
      --arch         the network of the step, profile and denormal parts: cnn (split CIFAR,
                     the default) or mlp (split MNIST's 784-256-256 MLP, batch 64 unless --batch)
      --batch        minibatch of the training step and of the conv layer shapes
      --units        output units (10 for split CIFAR-10; 60 for split CIFAR-10/100)
      --warmup, --repeats   untimed runs, then timed runs (the median is reported)
      --steps        training steps per timed run
      --c            SI strength of the "SI on" step (the c = 0 step runs beside it)
      --only TEXT    ops whose name or shape contains TEXT
      --parts        which parts run: ops, step, profile, denormal (comma-separated)
      --peak-gflops  a FLOP/s peak measured elsewhere (GFLOP/s), e.g. numpy/OpenBLAS sgemm;
                     default: the best GEMM measured in this run
      --peak-source  what measured --peak-gflops, for the report
      --quick        small shapes, one repeat: a smoke run, not a measurement
      --clblast      also time CLBlast's SGEMM beside ours (square and dense-layer shapes), each
                     CLBlast result checked against the reference first; LIBRARY defaults to
                     $SYNAPSE_CLBLAST or libclblast.so.1
      --tune         first retune the kernel tiles on this device (every candidate checked
                     against the reference, then timed); the choice is cached for later runs
    """

    /// Parses `arguments` (without the program name).
    static func parse(_ arguments: [String]) throws -> BenchOptions {
        var options = BenchOptions()
        var rest = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let v = rest.popFirst() else { throw BenchUsageError("\(flag) needs a value") }
            return v
        }
        func positiveInt(_ flag: String, minimum: Int = 1) throws -> Int {
            let text = try value(flag)
            guard let n = Int(text), n >= minimum else {
                throw BenchUsageError("\(flag) expects a whole number ≥ \(minimum), found '\(text)'")
            }
            return n
        }
        var repeatsGiven = false, warmupGiven = false, stepsGiven = false, batchGiven = false
        while let argument = rest.popFirst() {
            switch argument {
            case "--device": options.device = try value(argument)
            case "--style":
                let text = try value(argument)
                guard let style = KernelStyle(rawValue: text.lowercased()) else {
                    throw BenchUsageError("--style expects cpu or gpu, found '\(text)'")
                }
                options.style = style
            case "--json": options.jsonPath = try value(argument)
            case "--list-devices": options.listDevices = true
            case "--arch":
                let text = try value(argument)
                guard let architecture = BenchArchitecture(rawValue: text.lowercased()) else {
                    throw BenchUsageError("--arch expects cnn or mlp, found '\(text)'")
                }
                options.architecture = architecture
            case "--batch": options.batch = try positiveInt(argument); batchGiven = true
            case "--units":
                options.units = try positiveInt(argument)
                guard options.units >= 10 else {
                    throw BenchUsageError("--units expects at least 10 (one task's classes), found \(options.units)")
                }
            case "--warmup": options.warmup = try positiveInt(argument, minimum: 0); warmupGiven = true
            case "--repeats": options.repeats = try positiveInt(argument); repeatsGiven = true
            case "--steps": options.steps = try positiveInt(argument); stepsGiven = true
            case "--c":
                let text = try value(argument)
                guard let c = Float(text), c.isFinite, c >= 0 else {
                    throw BenchUsageError("--c expects a finite number ≥ 0, found '\(text)'")
                }
                options.strength = c
            case "--only": options.only = try value(argument)
            case "--parts":
                let text = try value(argument)
                var parts = Set<BenchPart>()
                for name in text.split(separator: ",") {
                    guard let part = BenchPart(rawValue: name.trimmed.lowercased()) else {
                        throw BenchUsageError("--parts expects a comma list of ops, step, profile, denormal; found '\(name)'")
                    }
                    parts.insert(part)
                }
                guard !parts.isEmpty else { throw BenchUsageError("--parts expects at least one of ops, step, profile, denormal") }
                options.parts = parts
            case "--peak-gflops":
                let text = try value(argument)
                guard let x = Double(text), x.isFinite, x > 0 else {
                    throw BenchUsageError("--peak-gflops expects a positive number of GFLOP/s, found '\(text)'")
                }
                options.peakGflops = x
            case "--peak-source": options.peakSource = try value(argument)
            case "--quick": options.quick = true
            case "--tune": options.tune = true
            case "--clblast":
                // An optional value: the next argument unless it is another flag.
                if let next = rest.first, !next.hasPrefix("--") { options.clblast = String(next); rest.removeFirst() }
                else { options.clblast = "" }
            case "-h", "--help": throw BenchUsageError("")
            default: throw BenchUsageError("unknown argument '\(argument)'")
            }
        }
        if options.peakSource != nil && options.peakGflops == nil {
            throw BenchUsageError("--peak-source names where --peak-gflops comes from; --peak-gflops is missing")
        }
        if options.architecture == .mlp && !batchGiven { options.batch = 64 }
        if options.quick {
            if !repeatsGiven { options.repeats = 1 }
            if !warmupGiven { options.warmup = 1 }
            if !stepsGiven { options.steps = 1 }
            if !batchGiven { options.batch = 8 }
        }
        return options
    }
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
