// The command-line options shared by the three tools (parsing only: `RunConfig.resolve`, in
// Description/, turns them into the run description).
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
            try RunConfig.checkHyperParameter(flag, values)
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
