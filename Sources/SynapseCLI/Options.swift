// The command-line options shared by the three tools, and their resolution
// into a `RunConfig`: every value the run uses, defaults filled in from the protocol (docs/protocols.md).
//
// Every option is optional here so that "not given" is visible: defaults come from the protocol,
// and `--resume` can tell a flag the user typed (which must agree with the saved run) from a default.

import ArgumentParser
import Foundation
import SynapseContinual
import SynapseData

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

    @Option(help: ArgumentHelp("Comma list of methods, run in turn with the same seed and data: \(Method.allCases.map(\.rawValue).joined(separator: ", ")) (default: \(MethodRegistry.toolDefaults.map(\.rawValue).joined(separator: ",")); see below).",
                               valueName: "list"))
    public var method: String?

    @Option(parsing: .unconditional, help: ArgumentHelp("Epochs per task ≥ 1 (default: the protocol's).", valueName: "n"))
    public var epochs: Int?

    @Option(name: .customLong("batch-size"), parsing: .unconditional, help: ArgumentHelp("Minibatch size ≥ 1 (default: the protocol's).", valueName: "n"))
    public var batchSize: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Adam learning rate > 0 (default: 0.001).", valueName: "rate"))
    public var lr: Double?

    @Option(name: .customLong("adam-epsilon"), parsing: .unconditional,
            help: ArgumentHelp("Adam ε > 0 (default: 1e-8, Keras 2.0's, which the authors used; the protocols allow 1e-7 or 1e-8, docs/protocols.md).",
                               valueName: "ε"))
    public var adamEpsilon: Double?

    @Option(name: .customLong("adam-variant"),
            help: ArgumentHelp("keras: the authors' Keras 2.0 Adam (ε added to √v; their reset keeps the step count), the protocols' default; "
                               + "standard: Adam as docs/algorithm.md states it (ε added to √v̂; a reset clears m, v and the step count) (default: keras).",
                               valueName: "standard|keras"))
    public var adamVariant: AdamVariant?

    @Option(help: ArgumentHelp("adam (the protocols') or sgd: plain gradient descent with --lr (default: adam).", valueName: "adam|sgd"))
    public var optimizer: Optimizer?

    @Option(name: .customLong("reset-optimizer"),
            help: ArgumentHelp("Reset Adam at each task boundary: yes or no (default: the protocol's: split MNIST and split CIFAR yes, permuted MNIST no; scratch always starts a fresh optimizer).",
                               valueName: "yes|no"))
    public var resetOptimizer: YesNo?

    @Option(help: ArgumentHelp("Tasks evaluated after each task: all (every task, seen and unseen: the whole accuracy matrix, the protocols') "
                               + "or seen (only the tasks trained so far: row i of the matrix holds tasks 1...i; same final accuracies, less evaluation time) (default: all).",
                               valueName: "all|seen"))
    public var evaluate: EvaluatedTasks?

    @Option(parsing: .unconditional, help: ArgumentHelp("Seed of the initial weights, shuffles, dropout masks and permutations (default: 0).", valueName: "n"))
    public var seed: UInt64?

    @Option(help: ArgumentHelp("Seeds to run, each method once per seed: a comma list and/or ranges, e.g. 0,1,2 or 0-4 (default: --seed alone). Under mpirun the runs are shared out over the ranks.",
                               valueName: "list"))
    public var seeds: String?

    @Flag(name: .customLong("data-parallel"),
          help: "Under mpirun (MPI build): train each run on all ranks together, every minibatch split across them, instead of spreading the runs over the ranks.")
    public var dataParallel = false
    @Option(name: .customLong("select-on"),
            help: ArgumentHelp("With a list of values for a hyper-parameter (--c 0.01,0.1,1): validation trains each value on the training split minus a held-out part of each task, "
                               + "chooses the value with the best mean validation accuracy and retrains with it on the full training split (default: none: every value is run and reported on the TEST split).",
                               valueName: "validation"))
    public var selectOn: SelectOn?

    @Option(name: .customLong("validation-fraction"), parsing: .unconditional,
            help: ArgumentHelp("Fraction of each class of each task's training split held out for --select-on validation, in (0, 1) (default: 0.1).",
                               valueName: "f"))
    public var validationFraction: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Run only the first n tasks (default: all of the protocol's).", valueName: "n"))
    public var tasks: Int?

    @Option(name: .customLong("train-limit"), parsing: .unconditional, help: ArgumentHelp("Use at most n training images per task (default: all).", valueName: "n"))
    public var trainLimit: Int?

    @Option(name: .customLong("test-limit"), parsing: .unconditional, help: ArgumentHelp("Use at most n test images per task (default: all).", valueName: "n"))
    public var testLimit: Int?

    @Option(help: ArgumentHelp("Results folder (default: runs/<tool>-<timestamp>).", valueName: "dir"))
    public var out: String?

    @Option(help: ArgumentHelp("Continue the interrupted run in this folder from its last finished task.", valueName: "dir"))
    public var resume: String?

    @Flag(help: "No progress on stderr (results and the summary are still printed).")
    public var quiet = false

    /// The methods' hyper-parameter flags (`--c 0.1`, `--lambda=10`) and recording switches
    /// (`--record-omega`): not declared here but by each method (SynapseContinual/Methods), so they
    /// are collected unparsed and read by `methodSettings()` and `recordings()`; help lists them in
    /// the tools' discussion.
    @Argument(parsing: .allUnrecognized, help: .hidden)
    public var methodArguments: [String] = []

    public init() {}

    /// The most values one hyper-parameter list may hold (each is a full training run per seed).
    public static let maximumValues = 1_000

    /// The hyper-parameter flags typed, flag → values (one value, or a comma list to sweep): each
    /// flag must be declared by some method (`MethodRegistry.hyperParameters`), its values are parsed
    /// by its kind's one parser (`HyperValues.parseValues`) and checked by every method that declares it.
    /// - Throws: `UsageError` naming the flag: unknown, missing value, not a value, out of range, repeated.
    public func methodSettings() throws -> [String: [Double]] {
        let declared = MethodRegistry.hyperParameters
        var settings: [String: [Double]] = [:]
        var i = 0
        while i < methodArguments.count {
            let argument = methodArguments[i]
            guard argument.hasPrefix("--") else {
                throw UsageError("'\(argument)': unexpected argument (every option is --name value; see --help)")
            }
            var flag = String(argument.dropFirst(2))
            var text: String?
            if let equals = flag.firstIndex(of: "=") {
                text = String(flag[flag.index(after: equals)...])
                flag = String(flag[..<equals])
            }
            if text == nil, MethodRegistry.recordings.contains(where: { $0.recording.flag == flag }) { i += 1; continue }   // `recordings()`
            guard let entry = declared.first(where: { $0.info.flag == flag }) else {
                throw UsageError("\(argument): unknown option (see --help)")
            }
            if text == nil {
                guard i + 1 < methodArguments.count else { throw UsageError("--\(flag): missing value (\(entry.info.accepted))") }
                i += 1
                text = methodArguments[i]
            }
            guard settings[flag] == nil else { throw UsageError("--\(flag) is given twice") }
            let values: [Double]
            do { values = try HyperValues.parseValues(text!, kind: entry.info.kind, flag: flag) } catch {
                throw UsageError("--\(flag) '\(text!)': expected \(entry.info.accepted)")
            }
            guard values.count <= Self.maximumValues else {
                throw UsageError("--\(flag): \(values.count) values; at most \(Self.maximumValues) in one list")
            }
            for (k, value) in values.enumerated() where values[..<k].contains(value) {
                throw UsageError("--\(flag) '\(text!)': \(format(value)) is listed twice")
            }
            for method in entry.methods {
                var options = ContinualOptions(method: method)
                for value in values {
                    do { try options.setIfDeclared(flag, value) } catch let ContinualError.invalidOption(message) {
                        throw UsageError(message)
                    }
                }
            }
            settings[flag] = values
            i += 1
        }
        return settings
    }

    /// The names of the per-task recordings switched on (`--record-omega`: "omega"), each declared
    /// by a method (`TaskRecording`).
    /// - Throws: `UsageError` when a switch is given twice.
    public func recordings() throws -> [String] {
        var names: [String] = []
        for argument in methodArguments {
            guard let (recording, _) = MethodRegistry.recordings.first(where: { "--" + $0.recording.flag == argument }) else { continue }
            guard !names.contains(recording.name) else { throw UsageError("--\(recording.flag) is given twice") }
            names.append(recording.name)
        }
        return names
    }
}

/// `--reset-optimizer yes|no`.
public enum YesNo: String, ExpressibleByArgument, CaseIterable, Sendable {
    case yes, no
    public var bool: Bool { self == .yes }
}

extension AdamVariant: ExpressibleByArgument {}
extension Optimizer: ExpressibleByArgument {}
extension EvaluatedTasks: ExpressibleByArgument {}

/// `--select-on`: where a swept hyper-parameter's value is chosen.
public enum SelectOn: String, ExpressibleByArgument, Codable, CaseIterable, Sendable {
    /// A held-out part of each task's training split (`ValidationSplit`).
    case validation
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
    /// Which Adam formulation (`AdamVariant`); runs saved before this option existed used `.standard`.
    public var adamVariant: AdamVariant
    /// Adam or plain SGD; runs saved before this option existed used Adam.
    public var optimizer: Optimizer
    public var resetOptimizerPerTask: Bool
    /// The method hyper-parameters typed on the command line, flag → value; every other
    /// hyper-parameter has its method's default for the protocol (recorded in "method_options").
    public var hyperParameters: [String: Double]
    public var evaluationBatchSize: Int
    /// Which tasks are evaluated after each task (`--evaluate`); runs saved before this option existed evaluated all.
    public var evaluatedTasks: EvaluatedTasks
    /// The seed of this run (of the first run of a seed list) and of the validation split.
    public var seed: UInt64
    /// Every seed each method runs with (`--seeds`); `[seed]` when only `--seed` was given.
    public var seeds: [UInt64]
    /// Swept hyper-parameters, flag → the values typed (two or more); each run of a method that has
    /// the flag takes one value (`SweepRun`), recorded in its own config's `hyperParameters`.
    public var sweeps: [String: [Double]]
    /// Where a swept value is chosen: nil = nowhere (every value is reported on the test split).
    public var selectOn: SelectOn?
    /// Held-out fraction of each task's training split for `--select-on validation`.
    public var validationFraction: Double
    /// The per-task recordings switched on (`TaskRecording.name`, e.g. "omega" by `--record-omega`).
    public var recordings: [String]
    public var tasks: Int
    /// nil: every training image.
    public var trainLimit: Int?
    /// nil: every test image.
    public var testLimit: Int?
    public var out: String

    enum CodingKeys: String, CodingKey {
        case tool, experimentProtocol = "protocol", methods, device, dataDir = "data_dir", epochs
        case batchSize = "batch_size", learningRate = "learning_rate"
        case beta1 = "adam_beta1", beta2 = "adam_beta2", epsilon = "adam_epsilon", adamVariant = "adam_variant"
        case resetOptimizerPerTask = "reset_optimizer_per_task", hyperParameters = "hyper_parameters"
        case methodOptions = "method_options"
        case evaluationBatchSize = "evaluation_batch_size", evaluatedTasks = "evaluated_tasks", seed, tasks, optimizer, seeds, sweeps
        case selectOn = "select_on", validationFraction = "validation_fraction", recordings
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
        try container.encode(adamVariant, forKey: .adamVariant)
        try container.encode(optimizer, forKey: .optimizer)
        try container.encode(resetOptimizerPerTask, forKey: .resetOptimizerPerTask)
        try container.encode(hyperParameters, forKey: .hyperParameters)
        // For the reader: each method's options as the trainer gets them (not read back).
        var record = container.nestedContainer(keyedBy: MethodKey.self, forKey: .methodOptions)
        for method in methods {
            try continualOptions(for: method).methodOptions.encode(to: record.superEncoder(forKey: MethodKey(method.rawValue)))
        }
        try container.encode(evaluationBatchSize, forKey: .evaluationBatchSize)
        try container.encode(evaluatedTasks, forKey: .evaluatedTasks)
        try container.encode(seed, forKey: .seed)
        try container.encode(seeds, forKey: .seeds)
        try container.encode(sweeps, forKey: .sweeps)
        try container.encode(selectOn, forKey: .selectOn)
        try container.encode(validationFraction, forKey: .validationFraction)
        try container.encode(recordings, forKey: .recordings)
        try container.encode(tasks, forKey: .tasks)
        try container.encode(trainLimit, forKey: .trainLimit)
        try container.encode(testLimit, forKey: .testLimit)
        try container.encode(out, forKey: .out)
    }

    public init(tool: Tool, experimentProtocol: ExperimentProtocol, methods: [Method], device: String, dataDir: String,
                epochs: Int, batchSize: Int, learningRate: Double, beta1: Double, beta2: Double, epsilon: Double,
                adamVariant: AdamVariant, optimizer: Optimizer = .adam, resetOptimizerPerTask: Bool,
                hyperParameters: [String: Double], evaluationBatchSize: Int, evaluatedTasks: EvaluatedTasks = .all, seed: UInt64, seeds: [UInt64]? = nil,
                sweeps: [String: [Double]] = [:], selectOn: SelectOn? = nil,
                validationFraction: Double = ValidationSplit.defaultFraction, recordings: [String] = [],
                tasks: Int, trainLimit: Int?, testLimit: Int?, out: String) {
        self.tool = tool; self.experimentProtocol = experimentProtocol; self.methods = methods
        self.device = device; self.dataDir = dataDir; self.epochs = epochs; self.batchSize = batchSize
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.adamVariant = adamVariant; self.optimizer = optimizer; self.resetOptimizerPerTask = resetOptimizerPerTask
        self.hyperParameters = hyperParameters
        self.evaluationBatchSize = evaluationBatchSize; self.evaluatedTasks = evaluatedTasks; self.seed = seed; self.seeds = seeds ?? [seed]
        self.sweeps = sweeps; self.selectOn = selectOn; self.validationFraction = validationFraction
        self.recordings = recordings
        self.tasks = tasks
        self.trainLimit = trainLimit; self.testLimit = testLimit; self.out = out
    }

    // Explicit decoding so that a config.json written before "adam_variant" existed (those runs
    // used the standard Adam) still resumes.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tool = try container.decode(Tool.self, forKey: .tool)
        experimentProtocol = try container.decode(ExperimentProtocol.self, forKey: .experimentProtocol)
        methods = try container.decode([Method].self, forKey: .methods)
        device = try container.decode(String.self, forKey: .device)
        dataDir = try container.decode(String.self, forKey: .dataDir)
        epochs = try container.decode(Int.self, forKey: .epochs)
        batchSize = try container.decode(Int.self, forKey: .batchSize)
        learningRate = try container.decode(Double.self, forKey: .learningRate)
        beta1 = try container.decode(Double.self, forKey: .beta1)
        beta2 = try container.decode(Double.self, forKey: .beta2)
        epsilon = try container.decode(Double.self, forKey: .epsilon)
        adamVariant = try container.decodeIfPresent(AdamVariant.self, forKey: .adamVariant) ?? .standard
        optimizer = try container.decodeIfPresent(Optimizer.self, forKey: .optimizer) ?? .adam
        resetOptimizerPerTask = try container.decode(Bool.self, forKey: .resetOptimizerPerTask)
        hyperParameters = try container.decode([String: Double].self, forKey: .hyperParameters)
        // Untrusted: every value must be one a method accepts.
        for (flag, value) in hyperParameters.sorted(by: { $0.key < $1.key }) {
            guard let entry = MethodRegistry.hyperParameters.first(where: { $0.info.flag == flag }) else {
                throw DecodingError.dataCorruptedError(forKey: .hyperParameters, in: container,
                                                       debugDescription: "'\(flag)' is no method's hyper-parameter")
            }
            for method in entry.methods {
                var options = ContinualOptions(method: method)
                do { try options.setIfDeclared(flag, value) } catch {
                    throw DecodingError.dataCorruptedError(forKey: .hyperParameters, in: container, debugDescription: "\(error)")
                }
            }
        }
        evaluationBatchSize = try container.decode(Int.self, forKey: .evaluationBatchSize)
        evaluatedTasks = try container.decodeIfPresent(EvaluatedTasks.self, forKey: .evaluatedTasks) ?? .all
        seed = try container.decode(UInt64.self, forKey: .seed)
        seeds = try container.decodeIfPresent([UInt64].self, forKey: .seeds) ?? [seed]
        guard !seeds.isEmpty, seeds.count <= SweepParsing.maximumSeeds, Set(seeds).count == seeds.count else {
            throw DecodingError.dataCorruptedError(forKey: .seeds, in: container,
                                                   debugDescription: "expected 1...\(SweepParsing.maximumSeeds) distinct seeds")
        }
        sweeps = try container.decodeIfPresent([String: [Double]].self, forKey: .sweeps) ?? [:]
        // Untrusted: the same checks as on the command line.
        for (flag, values) in sweeps.sorted(by: { $0.key < $1.key }) {
            guard let entry = MethodRegistry.hyperParameters.first(where: { $0.info.flag == flag }),
                  (2...SweepParsing.maximumSeeds).contains(values.count), Set(values).count == values.count else {
                throw DecodingError.dataCorruptedError(forKey: .sweeps, in: container,
                                                       debugDescription: "'\(flag)': expected a hyper-parameter with 2 or more distinct values")
            }
            for method in entry.methods {
                var options = ContinualOptions(method: method)
                for value in values {
                    do { try options.setIfDeclared(flag, value) } catch {
                        throw DecodingError.dataCorruptedError(forKey: .sweeps, in: container, debugDescription: "\(error)")
                    }
                }
            }
        }
        selectOn = try container.decodeIfPresent(SelectOn.self, forKey: .selectOn)
        validationFraction = try container.decodeIfPresent(Double.self, forKey: .validationFraction) ?? ValidationSplit.defaultFraction
        guard validationFraction > 0, validationFraction < 1 else {
            throw DecodingError.dataCorruptedError(forKey: .validationFraction, in: container, debugDescription: "expected a fraction in (0, 1)")
        }
        recordings = try container.decodeIfPresent([String].self, forKey: .recordings) ?? []
        for name in recordings where !MethodRegistry.recordings.contains(where: { $0.recording.name == name }) {
            throw DecodingError.dataCorruptedError(forKey: .recordings, in: container, debugDescription: "'\(name)' is no method's recording")
        }
        tasks = try container.decode(Int.self, forKey: .tasks)
        trainLimit = try container.decodeIfPresent(Int.self, forKey: .trainLimit)
        testLimit = try container.decodeIfPresent(Int.self, forKey: .testLimit)
        out = try container.decode(String.self, forKey: .out)
    }

    /// The trainer's options for `method` under this config.
    public func continualOptions(for method: Method) -> ContinualOptions {
        var options = experimentProtocol.defaults(method: method, seed: seed)
        options.epochsPerTask = epochs
        options.batchSize = batchSize
        options.evaluationBatchSize = evaluationBatchSize
        options.evaluatedTasks = evaluatedTasks
        options.learningRate = Float(learningRate)
        options.beta1 = Float(beta1)
        options.beta2 = Float(beta2)
        options.epsilon = Float(epsilon)
        options.adamVariant = adamVariant
        options.optimizer = optimizer
        options.resetOptimizerAtTaskBoundary = resetOptimizerPerTask
        // Checked when parsed or decoded (`methodSettings`, `init(from:)`).
        for (flag, value) in hyperParameters.sorted(by: { $0.key < $1.key }) { _ = try? options.setIfDeclared(flag, value) }
        return options
    }

    /// True when the data folder looks like Fashion-MNIST (by its path): the same file format as
    /// MNIST, but the paper's numbers are for MNIST digits, so they are not shown beside it.
    public var looksLikeFashionMNIST: Bool {
        experimentProtocol != .splitCIFAR10 && experimentProtocol != .splitCIFAR10_100
            && dataDir.lowercased().contains("fashion")
    }

    /// The value of hyper-parameter `flag` for `method` in this run (nil when the method has none).
    public func hyperParameter(_ flag: String, of method: Method) -> Double? {
        continualOptions(for: method).hyperParameter(flag)
    }

    /// The Adam ε values the protocols admit (docs/protocols.md) ("ε 1e-7 or 1e-8").
    static let protocolEpsilons: [Double] = [1e-7, 1e-8]

    /// True when the run's settings are the authors' protocol exactly (`protocolDeviations` is empty).
    /// Whether the data was all there is checked after loading (`dataDeviations`).
    public var followsPaperProtocol: Bool { protocolDeviations.isEmpty }

    /// Each way the settings leave the authors' protocol (docs/protocols.md), in words; empty when
    /// they follow it exactly, and then the published numbers apply (if the data is complete too).
    ///
    /// Counted as the protocol: the authors' optimizer as they ran it (Adam, Keras 2.0's variant:
    /// `--adam-variant keras`), ε 1e-7 or 1e-8 (the protocols admit either), the protocol's tasks,
    /// epochs, batch size, learning rate, β1, β2 and optimizer reset, no --train-limit/--test-limit,
    /// one value per hyper-parameter, and each hyper-parameter declared part of the protocol (ξ) at
    /// the protocol's value. Not part of the decision: c picks which published number is shown
    /// (`PublishedResults.lookup`); λ, γ and the sample counts have no published numbers.
    public var protocolDeviations: [String] {
        let paper = experimentProtocol.defaults()
        func same(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(abs(a), abs(b)) }
        var found: [String] = []
        if experimentProtocol == .splitCIFAR10 { found.append("split CIFAR-10 is not one of the paper's protocols") }
        if looksLikeFashionMNIST { found.append("the data looks like Fashion-MNIST (the paper's numbers are for MNIST digits)") }
        if optimizer != .adam { found.append("--optimizer \(optimizer.rawValue) (the authors': adam)") }
        if adamVariant != .keras { found.append("--adam-variant \(adamVariant.rawValue) (the authors': keras)") }
        if tasks != experimentProtocol.taskCount { found.append("--tasks \(tasks) (the protocol's: \(experimentProtocol.taskCount))") }
        if let limit = trainLimit { found.append("--train-limit \(limit)") }
        if let limit = testLimit { found.append("--test-limit \(limit)") }
        if epochs != paper.epochsPerTask { found.append("--epochs \(epochs) (the protocol's: \(paper.epochsPerTask))") }
        if batchSize != paper.batchSize { found.append("--batch-size \(batchSize) (the protocol's: \(paper.batchSize))") }
        if !same(learningRate, decimal(paper.learningRate)) {
            found.append("--lr \(format(learningRate)) (the protocol's: \(format(decimal(paper.learningRate))))")
        }
        if !same(beta1, decimal(paper.beta1)) || !same(beta2, decimal(paper.beta2)) { found.append("Adam β1/β2 differ from 0.9/0.999") }
        if !Self.protocolEpsilons.contains(where: { same(epsilon, $0) }) {
            found.append("--adam-epsilon \(format(epsilon)) (the protocols': 1e-7 or 1e-8)")
        }
        if resetOptimizerPerTask != paper.resetOptimizerAtTaskBoundary {
            found.append("--reset-optimizer \(resetOptimizerPerTask ? "yes" : "no") (the protocol's: \(paper.resetOptimizerAtTaskBoundary ? "yes" : "no"))")
        }
        for (flag, value) in hyperParameters.sorted(by: { $0.key < $1.key }) {
            guard let entry = MethodRegistry.hyperParameters.first(where: { $0.info.flag == flag }), entry.info.partOfProtocol else { continue }
            for method in entry.methods {
                if let expected = experimentProtocol.defaults(method: method).hyperParameter(flag), !same(value, expected) {
                    found.append("--\(flag) \(format(value)) (the protocol's: \(format(expected)))")
                    break
                }
            }
        }
        for flag in sweeps.keys.sorted() { found.append("--\(flag) is a list (a sweep)") }
        return found
    }

    /// Each way the data actually loaded (`trainCounts[t]`, `testCounts[t]` images of task t) falls
    /// short of the protocol's full data; empty when it is all there.
    public func dataDeviations(trainCounts: [Int], testCounts: [Int]) -> [String] {
        guard let full = experimentProtocol.fullDataCounts(tasks: tasks) else { return [] }
        var found: [String] = []
        let train = trainCounts.reduce(0, +), test = testCounts.reduce(0, +)
        if train != full.train { found.append("\(train) training images loaded (the full protocol: \(full.train))") }
        if test != full.test { found.append("\(test) test images loaded (the full protocol: \(full.test))") }
        return found
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
        let methods = try options.method.map(parseMethods) ?? MethodRegistry.toolDefaults

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

        let lr = try finite("lr", options.lr, "a number > 0", { $0 > 0 }) ?? decimal(defaults.learningRate)
        // Upper bounds keep a typo from allocating the machine away; they are far above any protocol.
        let epochs = try count("epochs", options.epochs, 1...100_000) ?? defaults.epochsPerTask
        let batchSize = try count("batch-size", options.batchSize, 1...65_536) ?? defaults.batchSize
        let maxTasks = experimentProtocol.allowsMoreTasks ? 1_000 : experimentProtocol.taskCount
        let tasks = try count("tasks", options.tasks, 1...maxTasks) ?? experimentProtocol.taskCount
        let epsilon = try finite("adam-epsilon", options.adamEpsilon, "a number > 0 (the protocols: 1e-7 or 1e-8)", { $0 > 0 })
            ?? decimal(defaults.epsilon)
        // ε is used as float32: a positive value that rounds to 0 or infinity there is no ε.
        guard Float(epsilon) > 0, Float(epsilon).isFinite else {
            throw UsageError("--adam-epsilon \(format(epsilon)): expected a number > 0 that float32 can hold (about 1e-38...3e38)")
        }
        let typed = try options.methodSettings()
        let settings = typed.compactMapValues { $0.count == 1 ? $0[0] : nil }
        let sweeps = typed.filter { $0.value.count > 1 }
        // One swept hyper-parameter per method (a grid over two would need a selection rule for pairs).
        for method in methods {
            let swept = sweeps.keys.sorted().filter { flag in
                MethodRegistry.hyperParameters.first { $0.info.flag == flag }?.methods.contains(method) == true
            }
            if swept.count > 1 {
                throw UsageError("--\(swept[0]) and --\(swept[1]) are both lists for method \(method.rawValue): sweep one hyper-parameter at a time")
            }
        }
        let seed = options.seed ?? 0
        var seeds = [seed]
        if let list = options.seeds {
            if let seed = options.seed { throw UsageError("--seed \(seed) and --seeds \(list): give one of them") }
            seeds = try parseSeeds(list)
        }
        if options.selectOn == .validation, sweeps.isEmpty {
            throw UsageError("--select-on validation: no hyper-parameter has a list of values to choose from (e.g. --c 0.01,0.1,1)")
        }
        let validationFraction = try finite("validation-fraction", options.validationFraction, "a fraction in (0, 1), e.g. 0.1",
                                            { $0 > 0 && $0 < 1 }) ?? ValidationSplit.defaultFraction
        if options.validationFraction != nil, options.selectOn == nil {
            throw UsageError("--validation-fraction is used only with --select-on validation")
        }
        let recordings = try options.recordings()
        for (recording, method) in MethodRegistry.recordings where recordings.contains(recording.name) && !methods.contains(method) {
            throw UsageError("--\(recording.flag) records what \(method.rawValue) computes: --method must include \(method.rawValue)")
        }
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
            beta1: decimal(defaults.beta1), beta2: decimal(defaults.beta2), epsilon: epsilon,
            adamVariant: options.adamVariant ?? defaults.adamVariant, optimizer: options.optimizer ?? defaults.optimizer,
            resetOptimizerPerTask: options.resetOptimizer?.bool ?? defaults.resetOptimizerAtTaskBoundary,
            hyperParameters: settings, evaluationBatchSize: defaults.evaluationBatchSize,
            evaluatedTasks: options.evaluate ?? defaults.evaluatedTasks, seed: seeds[0], seeds: seeds,
            sweeps: sweeps, selectOn: options.selectOn, validationFraction: validationFraction,
            recordings: recordings, tasks: tasks,
            trainLimit: trainLimit, testLimit: testLimit, out: out)
    }

    /// `--seeds` as `SweepParsing.seeds` reads it (lists and ranges, no repeats, a bounded count);
    /// a malformed list is a usage error.
    static func parseSeeds(_ list: String) throws -> [UInt64] {
        do { return try SweepParsing.seeds(list) } catch let error as SweepError { throw UsageError(error.message) }
    }

    /// "si,finetune" → those two methods, in that order; unknown or repeated names are usage errors.
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
        // A typed hyper-parameter must equal the saved run's value for every method that has it.
        // When no saved method has it, the saved run's value is the one it recorded, else the default.
        for (flag, values) in try options.methodSettings().sorted(by: { $0.key < $1.key }) {
            if let kept = saved.sweeps[flag] {
                if values != kept { throw conflict(flag, values.map(format).joined(separator: ","), kept.map(format).joined(separator: ",")) }
                continue
            }
            guard values.count == 1 else { throw conflict(flag, values.map(format).joined(separator: ","), "one value") }
            let given = values[0]
            let users = saved.methods.filter { saved.hyperParameter(flag, of: $0) != nil }
            for method in users { try checkNumber(flag, given, saved.hyperParameter(flag, of: method)!) }
            if users.isEmpty, let declaring = MethodRegistry.hyperParameters.first(where: { $0.info.flag == flag })?.methods.first,
               let kept = saved.hyperParameters[flag] ?? saved.hyperParameter(flag, of: declaring) {
                try checkNumber(flag, given, kept)
            }
        }
        try checkNumber("lr", options.lr, saved.learningRate)
        try checkNumber("adam-epsilon", options.adamEpsilon, saved.epsilon)
        try check("adam-variant", options.adamVariant, saved.adamVariant, show: { $0.rawValue })
        try check("optimizer", options.optimizer, saved.optimizer, show: { $0.rawValue })
        try check("evaluate", options.evaluate, saved.evaluatedTasks, show: { $0.rawValue })
        if let given = options.selectOn, given != saved.selectOn { throw conflict("select-on", given.rawValue, saved.selectOn?.rawValue ?? "none") }
        try checkNumber("validation-fraction", options.validationFraction, saved.validationFraction)
        if let list = options.seeds {
            try check("seeds", try parseSeeds(list), saved.seeds, show: { $0.map(String.init).joined(separator: ",") })
        }
        try check("reset-optimizer", options.resetOptimizer?.bool, saved.resetOptimizerPerTask, show: { $0 ? "yes" : "no" })
        try check("epochs", options.epochs, saved.epochs, show: { String($0) })
        try check("batch-size", options.batchSize, saved.batchSize, show: { String($0) })
        if let given = options.seed, !saved.seeds.contains(given) { throw conflict("seed", String(given), String(saved.seed)) }
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

/// Shortest decimal text of a flag's number (0.001, not 0.0010000000000000000208; 1e-8, not 1e-08).
func format(_ value: Double) -> String { HyperValues.format(value) }

/// A JSON key that is a method's name (config.json's "method_options").
struct MethodKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
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
