// The run description: every value a run uses, defaults included; saved as config.json and inside
// every checkpoint. What the published numbers need (`protocolDeviations`) is read from it too.

import Foundation
import SynapseContinual
import SynapseData

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
        case selectOn = "select_on", validationFraction = "validation_fraction", recordings, recordOmega = "record_omega"
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
    // used the standard Adam) still resumes. What is decoded is untrusted: `validate()` checks it
    // as it checks the flags.
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
        evaluationBatchSize = try container.decode(Int.self, forKey: .evaluationBatchSize)
        evaluatedTasks = try container.decodeIfPresent(EvaluatedTasks.self, forKey: .evaluatedTasks) ?? .all
        seed = try container.decode(UInt64.self, forKey: .seed)
        seeds = try container.decodeIfPresent([UInt64].self, forKey: .seeds) ?? [seed]
        sweeps = try container.decodeIfPresent([String: [Double]].self, forKey: .sweeps) ?? [:]
        selectOn = try container.decodeIfPresent(SelectOn.self, forKey: .selectOn)
        validationFraction = try container.decodeIfPresent(Double.self, forKey: .validationFraction) ?? ValidationSplit.defaultFraction
        // Saved before recordings were declared by methods: "record_omega": true was `--record-omega`.
        let legacy = try container.decodeIfPresent(Bool.self, forKey: .recordOmega) == true
            ? MethodRegistry.recordings.filter { $0.recording.flag == "record-omega" }.map(\.recording.name) : []
        recordings = try container.decodeIfPresent([String].self, forKey: .recordings) ?? legacy
        tasks = try container.decode(Int.self, forKey: .tasks)
        trainLimit = try container.decodeIfPresent(Int.self, forKey: .trainLimit)
        testLimit = try container.decodeIfPresent(Int.self, forKey: .testLimit)
        out = try container.decode(String.self, forKey: .out)
        // Untrusted: the same checks as the flags get.
        try validate()
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
        if let reason = experimentProtocol.definition.notInThePaper { found.append(reason) }
        found += experimentProtocol.definition.dataDeviations(folder: dataDir)
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
