// The command-line options shared by the three tools (names as in issue 5), and their resolution
// into a `RunConfig`: every value the run uses, defaults filled in from the protocol (SI.md).
//
// Every option is optional here so that "not given" is visible: defaults come from the protocol,
// and `--resume` can tell a flag the user typed (which must agree with the saved run) from a default.

import ArgumentParser
import Foundation
import SynapseContinual

/// A bad option value: reported as one line on stderr, exit code 2, before any work starts.
public struct UsageError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The options every experiment tool takes.
public struct ExperimentOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Device: gpu, cpu, reference, a device index or a name substring (default: gpu when present, else cpu).",
                               valueName: "device"))
    public var device: String?

    @Flag(name: .customLong("list-devices"), help: "Print the devices present and exit.")
    public var listDevices = false

    @Option(name: .customLong("data-dir"),
            help: ArgumentHelp("Data folder (default: $SYNAPSE_DATA, else ./data).", valueName: "path"))
    public var dataDir: String?

    @Option(help: ArgumentHelp("Comma list of methods, run in turn with the same seed and data: si, finetune, scratch, joint, ewc, online-ewc, mas (default: si,finetune).",
                               valueName: "list"))
    public var method: String?

    @Option(name: .customLong("c"), help: ArgumentHelp("SI strength c ≥ 0 (default: the protocol's).", valueName: "c"))
    public var c: Double?

    @Option(help: ArgumentHelp("SI damping ξ > 0 (default: the protocol's).", valueName: "ξ"))
    public var xi: Double?

    @Option(help: ArgumentHelp("Penalty strength λ ≥ 0 of ewc, online-ewc and mas (default: 100).", valueName: "λ"))
    public var lambda: Double?

    @Option(help: ArgumentHelp("Fisher decay γ in [0, 1] of online-ewc (default: 1).", valueName: "γ"))
    public var gamma: Double?

    @Option(help: ArgumentHelp("Epochs per task ≥ 1 (default: the protocol's).", valueName: "n"))
    public var epochs: Int?

    @Option(name: .customLong("batch-size"), help: ArgumentHelp("Minibatch size ≥ 1 (default: the protocol's).", valueName: "n"))
    public var batchSize: Int?

    @Option(help: ArgumentHelp("Adam learning rate > 0 (default: 0.001).", valueName: "rate"))
    public var lr: Double?

    @Option(help: ArgumentHelp("Seed of the initial weights, shuffles, dropout masks and permutations (default: 0).", valueName: "n"))
    public var seed: UInt64?

    @Option(help: ArgumentHelp("Run only the first n tasks (default: all of the protocol's).", valueName: "n"))
    public var tasks: Int?

    @Option(name: .customLong("train-limit"), help: ArgumentHelp("Use at most n training images per task (default: all).", valueName: "n"))
    public var trainLimit: Int?

    @Option(name: .customLong("test-limit"), help: ArgumentHelp("Use at most n test images per task (default: all).", valueName: "n"))
    public var testLimit: Int?

    @Option(help: ArgumentHelp("Results folder (default: runs/<tool>-<timestamp>).", valueName: "dir"))
    public var out: String?

    @Option(help: ArgumentHelp("Continue the interrupted run in this folder from its last finished task.", valueName: "dir"))
    public var resume: String?

    @Flag(help: "No progress on stderr (results and the summary are still printed).")
    public var quiet = false

    public init() {}
}

/// `--split` of cifar-split.
public enum CIFARSplit: String, ExpressibleByArgument, CaseIterable, Sendable {
    case cifar10_100 = "cifar10-100"
    case cifar10 = "cifar10"

    public var experimentProtocol: ExperimentProtocol {
        self == .cifar10_100 ? .splitCIFAR10_100 : .splitCIFAR10
    }
}

/// Every value a run uses, defaults included; saved as `config.json` in the results folder and in
/// each checkpoint, so a run can be resumed and a result reproduced.
public struct RunConfig: Codable, Equatable, Sendable {
    public var tool: Tool
    public var experimentProtocol: ExperimentProtocol
    public var methods: [Method]
    /// The `--device` spec as given, or the default chosen ("gpu"/"cpu").
    public var device: String
    public var dataDir: String
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var resetOptimizerPerTask: Bool
    public var c: Double
    public var xi: Double
    public var lambda: Double
    public var gamma: Double
    public var fisherSamples: Int
    public var masSamples: Int
    public var evaluationBatchSize: Int
    public var seed: UInt64
    public var tasks: Int
    /// nil: every training image.
    public var trainLimit: Int?
    /// nil: every test image.
    public var testLimit: Int?
    public var out: String

    enum CodingKeys: String, CodingKey {
        case tool, experimentProtocol = "protocol", methods, device, dataDir = "data_dir", epochs
        case batchSize = "batch_size", learningRate = "learning_rate"
        case beta1 = "adam_beta1", beta2 = "adam_beta2", epsilon = "adam_epsilon"
        case resetOptimizerPerTask = "reset_optimizer_per_task", c, xi, lambda, gamma
        case fisherSamples = "fisher_samples", masSamples = "mas_samples"
        case evaluationBatchSize = "evaluation_batch_size", seed, tasks
        case trainLimit = "train_limit", testLimit = "test_limit", out
    }

    // Explicit encoding so that "no limit" is written as null rather than left out.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tool, forKey: .tool)
        try container.encode(experimentProtocol, forKey: .experimentProtocol)
        try container.encode(methods, forKey: .methods)
        try container.encode(device, forKey: .device)
        try container.encode(dataDir, forKey: .dataDir)
        try container.encode(epochs, forKey: .epochs)
        try container.encode(batchSize, forKey: .batchSize)
        try container.encode(learningRate, forKey: .learningRate)
        try container.encode(beta1, forKey: .beta1)
        try container.encode(beta2, forKey: .beta2)
        try container.encode(epsilon, forKey: .epsilon)
        try container.encode(resetOptimizerPerTask, forKey: .resetOptimizerPerTask)
        try container.encode(c, forKey: .c)
        try container.encode(xi, forKey: .xi)
        try container.encode(lambda, forKey: .lambda)
        try container.encode(gamma, forKey: .gamma)
        try container.encode(fisherSamples, forKey: .fisherSamples)
        try container.encode(masSamples, forKey: .masSamples)
        try container.encode(evaluationBatchSize, forKey: .evaluationBatchSize)
        try container.encode(seed, forKey: .seed)
        try container.encode(tasks, forKey: .tasks)
        try container.encode(trainLimit, forKey: .trainLimit)
        try container.encode(testLimit, forKey: .testLimit)
        try container.encode(out, forKey: .out)
    }

    /// The trainer's options for `method` under this config.
    public func continualOptions(for method: Method) -> ContinualOptions {
        var options = experimentProtocol.defaults(method: method, seed: seed)
        options.epochsPerTask = epochs
        options.batchSize = batchSize
        options.evaluationBatchSize = evaluationBatchSize
        options.learningRate = Float(learningRate)
        options.beta1 = Float(beta1)
        options.beta2 = Float(beta2)
        options.epsilon = Float(epsilon)
        options.resetOptimizerAtTaskBoundary = resetOptimizerPerTask
        options.c = Float(c)
        options.xi = Float(xi)
        options.lambda = Float(lambda)
        options.gamma = Float(gamma)
        options.fisherSamples = fisherSamples
        options.masSamples = masSamples
        return options
    }

    /// True when the data folder looks like Fashion-MNIST (by its path): the same file format as
    /// MNIST, but the paper's numbers are for MNIST digits, so they are not shown beside it.
    public var looksLikeFashionMNIST: Bool {
        experimentProtocol != .splitCIFAR10 && experimentProtocol != .splitCIFAR10_100
            && dataDir.lowercased().contains("fashion")
    }

    /// True when the schedule is the protocol's (SI.md) on full data: then the published numbers apply.
    public var followsPaperProtocol: Bool {
        let paper = experimentProtocol.defaults()
        func same(_ a: Double, _ b: Float) -> Bool { abs(a - decimal(b)) <= 1e-9 * max(1, abs(a)) }
        return experimentProtocol != .splitCIFAR10 && !looksLikeFashionMNIST
            && tasks == experimentProtocol.taskCount && trainLimit == nil && testLimit == nil
            && epochs == paper.epochsPerTask && batchSize == paper.batchSize
            && same(learningRate, paper.learningRate) && same(xi, paper.xi)
            && resetOptimizerPerTask == paper.resetOptimizerAtTaskBoundary
    }
}

extension RunConfig {
    /// Resolves parsed options into a config: fills defaults, checks every value.
    /// - Parameters:
    ///   - environment: the process environment (`SYNAPSE_DATA`).
    ///   - now: names the default results folder.
    /// - Throws: `UsageError` naming the flag, the value found and what is accepted.
    public static func resolve(tool: Tool, experimentProtocol: ExperimentProtocol, options: ExperimentOptions,
                               environment: [String: String], now: Date = Date()) throws -> RunConfig {
        let defaults = experimentProtocol.defaults()
        let methods = try parseMethods(options.method ?? "si,finetune")

        func finite(_ flag: String, _ value: Double?, _ accepted: String, _ ok: (Double) -> Bool) throws -> Double? {
            guard let value else { return nil }
            guard value.isFinite, ok(value) else {
                throw UsageError("--\(flag) \(format(value)): expected \(accepted)")
            }
            return value
        }
        func count(_ flag: String, _ value: Int?, _ range: ClosedRange<Int>) throws -> Int? {
            guard let value else { return nil }
            guard range.contains(value) else {
                throw UsageError("--\(flag) \(value): expected an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }

        let c = try finite("c", options.c, "a number ≥ 0", { $0 >= 0 }) ?? decimal(defaults.c)
        let xi = try finite("xi", options.xi, "a number > 0", { $0 > 0 }) ?? decimal(defaults.xi)
        let lambda = try finite("lambda", options.lambda, "a number ≥ 0", { $0 >= 0 }) ?? decimal(defaults.lambda)
        let gamma = try finite("gamma", options.gamma, "a number in [0, 1]", { $0 >= 0 && $0 <= 1 }) ?? decimal(defaults.gamma)
        let lr = try finite("lr", options.lr, "a number > 0", { $0 > 0 }) ?? decimal(defaults.learningRate)
        // Upper bounds keep a typo from allocating the machine away; they are far above any protocol.
        let epochs = try count("epochs", options.epochs, 1...100_000) ?? defaults.epochsPerTask
        let batchSize = try count("batch-size", options.batchSize, 1...65_536) ?? defaults.batchSize
        let maxTasks = experimentProtocol.allowsMoreTasks ? 1_000 : experimentProtocol.taskCount
        let tasks = try count("tasks", options.tasks, 1...maxTasks) ?? experimentProtocol.taskCount
        let trainLimit = try count("train-limit", options.trainLimit, 1...Int(Int32.max))
        let testLimit = try count("test-limit", options.testLimit, 1...Int(Int32.max))

        let device = options.device ?? ""  // "" = the default device, resolved by the caller
        if let spec = options.device, spec.trimmingCharacters(in: .whitespaces).isEmpty {
            throw UsageError("--device '\(spec)': expected gpu, cpu, reference, a device index or a name substring")
        }
        let dataDir = options.dataDir ?? environment["SYNAPSE_DATA"].flatMap { $0.isEmpty ? nil : $0 } ?? "./data"
        if options.dataDir?.isEmpty == true { throw UsageError("--data-dir '': expected a folder") }
        if options.out?.isEmpty == true { throw UsageError("--out '': expected a folder") }
        let out = options.out ?? "runs/\(tool.rawValue)-\(timestamp(now))"

        return RunConfig(
            tool: tool, experimentProtocol: experimentProtocol, methods: methods, device: device,
            dataDir: dataDir, epochs: epochs, batchSize: batchSize, learningRate: lr,
            beta1: decimal(defaults.beta1), beta2: decimal(defaults.beta2), epsilon: decimal(defaults.epsilon),
            resetOptimizerPerTask: defaults.resetOptimizerAtTaskBoundary, c: c, xi: xi, lambda: lambda,
            gamma: gamma, fisherSamples: defaults.fisherSamples, masSamples: defaults.masSamples,
            evaluationBatchSize: defaults.evaluationBatchSize, seed: options.seed ?? 0, tasks: tasks,
            trainLimit: trainLimit, testLimit: testLimit, out: out)
    }

    /// "si,finetune" → [.si, .finetune]; unknown or repeated names are usage errors.
    static func parseMethods(_ list: String) throws -> [Method] {
        let names = list.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let accepted = Method.allCases.map(\.rawValue).joined(separator: ", ")
        var methods: [Method] = []
        for name in names {
            guard let method = Method(rawValue: name) else {
                throw UsageError("--method '\(list)': '\(name)' is not a method; expected a comma list of \(accepted)")
            }
            guard !methods.contains(method) else {
                throw UsageError("--method '\(list)': '\(name)' is listed twice")
            }
            methods.append(method)
        }
        return methods
    }

    /// Checks the flags typed alongside `--resume` against the saved config; returns the saved
    /// config (with `out` set to the resumed folder).
    /// - Throws: `UsageError` naming the first flag whose value differs from the saved run's.
    public static func merge(saved: RunConfig, resumeDir: String, options: ExperimentOptions,
                             split: CIFARSplit?, tool: Tool) throws -> RunConfig {
        guard saved.tool == tool else {
            throw UsageError("--resume \(resumeDir): that run was made by \(saved.tool.rawValue), not \(tool.rawValue)")
        }
        func conflict(_ flag: String, _ given: String, _ saved: String) -> UsageError {
            UsageError("--\(flag) \(given) conflicts with the run in \(resumeDir) (\(flag) \(saved)); "
                       + "drop the flag to resume it, or start a new run with another --out")
        }
        func check<T: Equatable>(_ flag: String, _ given: T?, _ kept: T, show: (T) -> String) throws {
            if let given, given != kept { throw conflict(flag, show(given), show(kept)) }
        }
        func checkNumber(_ flag: String, _ given: Double?, _ kept: Double) throws {
            if let given, !(abs(given - kept) <= 1e-12 * max(1, abs(kept))) {
                throw conflict(flag, format(given), format(kept))
            }
        }
        if let split { try check("split", split.experimentProtocol, saved.experimentProtocol, show: { $0.rawValue }) }
        if let list = options.method {
            try check("method", try parseMethods(list), saved.methods,
                      show: { $0.map(\.rawValue).joined(separator: ",") })
        }
        try check("device", options.device, saved.device, show: { $0.isEmpty ? "(default)" : $0 })
        try check("data-dir", options.dataDir, saved.dataDir, show: { $0 })
        try checkNumber("c", options.c, saved.c)
        try checkNumber("xi", options.xi, saved.xi)
        try checkNumber("lambda", options.lambda, saved.lambda)
        try checkNumber("gamma", options.gamma, saved.gamma)
        try checkNumber("lr", options.lr, saved.learningRate)
        try check("epochs", options.epochs, saved.epochs, show: { String($0) })
        try check("batch-size", options.batchSize, saved.batchSize, show: { String($0) })
        try check("seed", options.seed, saved.seed, show: { String($0) })
        try check("tasks", options.tasks, saved.tasks, show: { String($0) })
        if let limit = options.trainLimit, limit != saved.trainLimit {
            throw conflict("train-limit", String(limit), saved.trainLimit.map(String.init) ?? "none")
        }
        if let limit = options.testLimit, limit != saved.testLimit {
            throw conflict("test-limit", String(limit), saved.testLimit.map(String.init) ?? "none")
        }
        if let out = options.out, standardized(out) != standardized(resumeDir) {
            throw UsageError("--out \(out) conflicts with --resume \(resumeDir): a resumed run writes into its own folder")
        }
        var merged = saved
        merged.out = resumeDir
        return merged
    }
}

/// Shortest decimal text of a flag's number (0.001, not 0.0010000000000000000208).
func format(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
    return "\(value)"
}

/// The decimal a user would type for a float32 value (Float(0.001) → 0.001, not 0.0010000000474974513):
/// Float's shortest round-trip text, read as a Double.
func decimal(_ value: Float) -> Double {
    Double("\(value)") ?? Double(value)
}

/// yyyyMMdd-HHmmss in local time, for default folder names.
func timestamp(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    return formatter.string(from: date)
}

func standardized(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.path
}
