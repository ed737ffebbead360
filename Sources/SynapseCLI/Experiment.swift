// One experiment run, as the executables drive it:
//
//   start   parse and check every option, open the device, prepare the results folder
//           (any bad value: one line on stderr, exit code 2, nothing done yet)
//   load    read the data set and cut it into the protocol's tasks          (SynapseData)
//   select  only with --select-on validation: every swept value × seed trained on the training split
//           minus a held-out part of each task, evaluated on that part; the best value per method
//   train   for each run (method × seed, × value for a test-set sweep): build the protocol's network
//           and its trainer, then task after task train → consolidate → evaluate → checkpoint →
//           write the run's JSON (SynapseContinual); each run is `perform`, one SweepRun in, one file out
//   finish  gathered from the files on disk: summary.csv, accuracy.svg (± SEM over seeds), the table on stdout
//
// Under mpirun (a build with the MPI trait) the runs are shared out over the ranks through a job
// queue served by rank 0, which gathers every result and writes the summary; with --data-parallel
// every rank trains every run together instead (see Cluster and docs/mpi.md).
//
// The flow itself is `Experiment.standardFlow` below; the three tools' main.swift files only call `Experiment.run`.

import ArgumentParser
import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine

/// Why a run stopped early; each case has its exit status.
public enum ExperimentFailure: Error, CustomStringConvertible {
    /// A bad option value (exit 2, reported before any work).
    case usage(String)
    /// The data could not be loaded (exit 1): where it looked, what it expected.
    case data(String)
    /// The loss became NaN or infinite (exit 3): task, epoch, steps, the last good checkpoint.
    case diverged(String)
    /// Anything else: a device error, a failed write (exit 1).
    case failed(String)

    public var description: String {
        switch self {
        case .usage(let text), .data(let text), .diverged(let text), .failed(let text): return text
        }
    }

    public var exitCode: Int32 {
        switch self {
        case .usage: return 2
        case .data, .failed: return 1
        case .diverged: return 3
        }
    }
}

/// How the tools open a device from a `--device` spec, and list devices. `nil` spec = the default
/// device (a GPU when one exists, else the CPU); the returned spec is the one actually used.
public struct DeviceOpener: Sendable {
    public var open: @Sendable (_ spec: String?) throws -> (backend: any Backend, spec: String)
    public var list: @Sendable () throws -> String
    public init(open: @escaping @Sendable (String?) throws -> (backend: any Backend, spec: String),
                list: @escaping @Sendable () throws -> String) {
        self.open = open; self.list = list
    }
}

/// Thrown by the test hook `ExperimentRun.stopAfterTasks`: stands for a kill right after a checkpoint.
struct SimulatedKill: Error {}

public enum Experiment {
    /// The whole experiment, top to bottom. Follow any step down to the kernels:
    ///
    /// - `Experiment.run` (this file): options, device, results folder.
    /// - `run.loadTasks`: Sources/SynapseData (CIFAR.swift, IDX.swift, TaskBuilder.swift).
    /// - `run.train`: Sources/SynapseContinual/Trainer.swift, per task, per epoch, per minibatch:
    ///   gather → Network.forward → softmaxCrossEntropy (+ the method's extra loss) → Network.backward
    ///   → fusedSIUpdate; the method's hooks in Sources/SynapseContinual/Methods (docs/methods.md).
    /// - Backend ops: Sources/SynapseEngine/Backend.swift (the contract), Sources/SynapseReference
    ///   (the definition of every op), Kernels/*.cl (OpenCL).
    public static let standardFlow: @Sendable (ExperimentRun) throws -> Void = { run in
        // 1. Load: read the data set and cut it into the protocol's tasks.
        let tasks = try run.loadTasks()
        // 2. With --select-on validation: train every swept value × seed on the training split minus
        //    its held-out part, then choose each method's value on the held-out part.
        if run.config.selectOn == .validation {
            let heldOut = try run.validationTasks(tasks)
            try run.forEachRun(try run.plan(.validation), stage: .validation) { unit in
                try run.perform(unit, stage: .validation, on: heldOut)
            }
            try run.selectValues()
        }
        // 3. Every run (method × seed, with the chosen or each swept value), the same data for all
        //    (under mpirun the runs are shared out over the ranks; docs/mpi.md): build the network,
        //    then task after task train, consolidate, evaluate, checkpoint, write the run's JSON.
        try run.forEachRun(try run.plan(.test), stage: .test) { unit in try run.perform(unit, stage: .test, on: tasks) }
        // 4. Summarise: summary.csv, accuracy.svg, the table on stdout (the paper's numbers beside ours).
        try run.finish()
    }

    /// Runs `flow` for `tool` with command-line `arguments` (without the program name) and returns
    /// the exit status: 0 done (or help / --list-devices), 1 failure, 2 bad option, 3 divergence.
    /// Errors go to `console.progress` (stderr): a bad option as one line.
    ///
    /// `cluster`: the processes taking part (nil: `Cluster.current`, i.e. the MPI job when launched
    /// by mpirun or srun in an MPI build, else this process alone).
    public static func run(_ tool: Tool, arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                           devices: DeviceOpener, console: Console = .standard, cluster given: Cluster? = nil,
                           flow: (ExperimentRun) throws -> Void = standardFlow) -> Int32 {
        let cluster: Cluster
        do { cluster = try given ?? Cluster.current(environment: environment) } catch {
            console.progress("\(tool.rawValue): error: cannot start MPI: \(oneLine("\(error)"))")
            return 1
        }
        defer { cluster.finish() }
        func status(of error: Error) -> Int32 { (error as? ExperimentFailure)?.exitCode ?? 1 }
        // Start: every rank parses and checks alike; a rank that fails says why, and all stop.
        let started: ExperimentRun?
        do {
            started = try ExperimentRun.start(tool, arguments: arguments, environment: environment,
                                              devices: devices, console: console, cluster: cluster)
            guard try cluster.allAgree(true) else { return 2 }
        } catch {
            console.progress("\(tool.rawValue): \(rankLabel(cluster))error: \(error)")
            _ = try? cluster.allAgree(false)
            return status(of: error)
        }
        guard let run = started else { return 0 }
        do {
            try flow(run)
            return run.failures.isEmpty ? 0 : run.failures.map(\.status).max()!
        } catch {
            console.progress("\(tool.rawValue): \(rankLabel(cluster))error: \(error)")
            // The other ranks may be waiting for this one (a collective, the job queue): end them all.
            if cluster.size > 1 { cluster.abort(status(of: error)) }
            return status(of: error)
        }
    }

    /// "rank 3: " inside an MPI job of several ranks, else "".
    static func rankLabel(_ cluster: Cluster) -> String { cluster.size > 1 ? "rank \(cluster.rank): " : "" }
}

/// A run in progress: the resolved config, the open device, the results so far.
public final class ExperimentRun {
    public let config: RunConfig
    public let backend: any Backend
    /// The methods to run, in order.
    public var methods: [Method] { config.methods }
    /// How the loaded data falls short of the protocol's full data (set by `loadTasks`; nil before).
    public private(set) var dataDeviations: [String]?
    /// The results of each stage so far (rank 0 of a job: every rank's), in the order they came.
    public private(set) var results: [Stage: [(run: SweepRun, report: MethodReport)]] = [:]
    /// Runs that failed in a sweep over ranks (each costs only itself): name, rank, error, exit status.
    public private(set) var failures: [(run: String, rank: Int, error: String, status: Int32)] = []
    /// The processes taking part.
    public let cluster: Cluster
    /// --data-parallel in a job of several ranks: every rank trains every run together.
    public let dataParallel: Bool
    /// Whether this process writes config.json and the summary: alone, or rank 0 of a job.
    var writesSummary: Bool { cluster.rank == 0 }
    /// Whether this process writes the checkpoints and <run>.json of the runs it trains: every
    /// rank in a sweep over ranks (each its own runs), only rank 0 when training data-parallel.
    var writesRunFiles: Bool { !dataParallel || cluster.rank == 0 }
    let console: Console
    let quiet: Bool
    /// Tests only: stop (as if killed) after this many tasks of a method have been checkpointed.
    var stopAfterTasks: Int?
    /// Tests only: after this many tasks have been checkpointed, overwrite θ with NaN (fault
    /// injection: a finite learning rate cannot be relied on to diverge on cue).
    var injectNaNAfterTasks: Int?
    /// Tests only: called with the number of finished tasks after each checkpoint and result are written.
    var afterCheckpoint: ((Int) throws -> Void)?
    /// The results folder's lock, held for the life of the run (see OutputLock).
    var outputLock: OutputLock?

    init(config: RunConfig, backend: any Backend, console: Console, quiet: Bool, cluster: Cluster = .alone(),
         dataParallel: Bool = false) {
        self.config = config; self.backend = backend; self.console = console; self.quiet = quiet
        self.cluster = cluster; self.dataParallel = dataParallel && cluster.size > 1
    }

    var out: String { config.out }

    // MARK: Start: options → config, device, results folder

    /// Parses and checks everything; nil when the command only printed help or the device list.
    /// - Throws: `ExperimentFailure.usage` (one line) for any bad value, before any work.
    public static func start(_ tool: Tool, arguments: [String], environment: [String: String],
                             devices: DeviceOpener, console: Console, cluster: Cluster = .alone()) throws -> ExperimentRun? {
        guard let (options, split) = try parse(tool, arguments: arguments, console: console) else { return nil }
        if options.listDevices {
            do { console.output(try devices.list()) } catch { throw ExperimentFailure.failed("cannot list devices: \(error)") }
            return nil
        }
        let proto: ExperimentProtocol
        switch tool {
        case .cifarSplit: proto = (split ?? .cifar10_100).experimentProtocol
        case .splitMNIST: proto = .splitMNIST
        case .permutedMNIST: proto = .permutedMNIST
        }

        var config: RunConfig
        do {
            if let resume = options.resume {
                config = try RunConfig.merge(saved: try savedConfig(resume), resumeDir: resume, options: options,
                                             split: split, tool: tool)
            } else {
                config = try RunConfig.resolve(tool: tool, experimentProtocol: proto, options: options,
                                               environment: environment)
            }
        } catch let error as UsageError {
            throw ExperimentFailure.usage(error.message)
        }

        // The device: a spec that matches nothing is a bad option value. Ranks sharing a node
        // take its GPUs in turn (see DeviceChoice.placed).
        let opened: (backend: any Backend, spec: String)
        do {
            let spec = config.device.isEmpty ? nil : config.device
            let placed = cluster.localSize > 1 ? try DeviceChoice.placed(spec, localRank: cluster.localRank) : spec
            opened = try devices.open(placed)
            // The config records what the user asked for (every rank's run is the same run).
            config.device = placed == spec ? opened.spec : (spec ?? "gpu")
        } catch {
            throw ExperimentFailure.usage("--device \(config.device.isEmpty ? "(default)" : config.device): "
                                          + oneLine("\(error)"))
        }

        // The results folder: locked by this run before anything is written to it, and not
        // holding another run unless resumed.
        // In an MPI job the ranks share the folder: rank 0 holds the lock for the whole job.
        let lock: OutputLock?
        do {
            if cluster.rank == 0 {
                lock = try OutputLock.acquire(config.out, tool: tool.rawValue)
            } else {
                lock = nil
                if !Folder.isFolder(config.out) { try Folder.makeFolders(config.out) }
            }
        } catch {
            throw ExperimentFailure.usage("--\(options.resume == nil ? "out" : "resume") \(config.out): \(oneLine("\(error)"))")
        }
        // (Rank 0 only: another rank may start after rank 0 has written config.json.)
        if cluster.rank == 0, options.resume == nil, Folder.exists(config.out + "/config.json") {
            throw ExperimentFailure.usage("--out \(config.out) holds another run (config.json); "
                                          + "continue it with --resume \(config.out), or choose another --out")
        }
        // In a job: rank 0 speaks as a lone process does; the others label their lines, and stay
        // quiet when training together with rank 0 (which reports for all).
        var console = console
        let quiet = options.quiet || (options.dataParallel && cluster.rank != 0)
        if cluster.size > 1 {
            let label = "[rank \(cluster.rank)/\(cluster.size) on \(opened.backend.deviceName)] "
            let progress = console.progress
            console.progress = { progress(label + $0) }
            if cluster.rank != 0 { console.output = { _ in } }
        }
        let run = ExperimentRun(config: config, backend: opened.backend, console: console, quiet: quiet,
                                cluster: cluster, dataParallel: options.dataParallel)
        run.outputLock = lock
        Interrupts.prepare(tool: tool, out: config.out, checkpoint: nil)
        if options.dataParallel, cluster.size == 1 {
            #if MPI
            console.progress("--data-parallel: this process was not started by mpirun or srun, so it trains alone")
            #else
            console.progress("--data-parallel: this build has no MPI (build with --traits MPI, start with mpirun), so it trains alone")
            #endif
        }
        if !quiet {
            console.progress("\(tool.rawValue): \(proto.title) on \(opened.backend.deviceName) (--device \(opened.spec)"
                             + (options.device == nil && options.resume == nil ? ", the default" : "") + "); results in \(config.out)"
                             + (options.resume == nil ? "" : " (resumed)"))
        }
        return run
    }

    /// The parsed options, or nil when help was printed. Parse errors become one-line usage failures.
    static func parse(_ tool: Tool, arguments: [String], console: Console) throws -> (ExperimentOptions, CIFARSplit?)? {
        func handle<C: ParsableCommand>(_ type: C.Type, _ error: Error) throws -> Never {
            throw ExperimentFailure.usage(oneLine(type.message(for: error)))
        }
        func parsed<C: ParsableCommand>(_ type: C.Type) throws -> C? {
            do {
                let command = try type.parseAsRoot(arguments)
                if let ours = command as? C { return ours }
                // ArgumentParser answers --help with its own help command.
                console.output(type.helpMessage() + "\n")
                return nil
            } catch {
                if type.exitCode(for: error) == .success {   // --help, -h
                    let message = type.fullMessage(for: error)
                    console.output((message.isEmpty ? type.helpMessage() : message) + "\n")
                    return nil
                }
                try handle(type, error)
            }
        }
        switch tool {
        case .cifarSplit:
            guard let command = try parsed(CifarSplitCommand.self) else { return nil }
            return (command.options, command.split)
        case .splitMNIST:
            guard let command = try parsed(SplitMNISTCommand.self) else { return nil }
            return (command.options, nil)
        case .permutedMNIST:
            guard let command = try parsed(PermutedMNISTCommand.self) else { return nil }
            return (command.options, nil)
        }
    }

    /// The config of the run in `folder`: config.json, else any checkpoint's metadata.
    static func savedConfig(_ folder: String) throws -> RunConfig {
        guard Folder.isFolder(folder) else {
            throw UsageError("--resume \(folder): expected the results folder of an earlier run; found no folder there")
        }
        let path = folder + "/config.json"
        if let data = FileManager.default.contents(atPath: path) {
            do { return try JSONDecoder().decode(RunConfig.self, from: data) } catch {
                throw UsageError("--resume \(folder): config.json is not a run config (\(oneLine("\(error)")))")
            }
        }
        for method in Method.allCases {
            let checkpoint = Checkpoint.path(in: folder, run: method.rawValue)
            if Folder.exists(checkpoint), let saved = try? Checkpoint.load(from: checkpoint) { return saved.config }
        }
        throw UsageError("--resume \(folder): no config.json or checkpoint there; nothing to resume")
    }

    // MARK: Load

    /// Reads the data set of the protocol from `--data-dir` and builds its tasks.
    public func loadTasks() throws -> TaskSequence {
        let proto = config.experimentProtocol
        let limits = TaskBuilder.Limits(maxTasks: config.tasks, trainPerTask: config.trainLimit,
                                        testPerTask: config.testLimit)
        let folder = config.dataDir
        let tasks: [ContinualTask]
        do {
            switch proto {
            case .splitMNIST, .permutedMNIST:
                // Fashion-MNIST has the same files as MNIST; only the class names differ (cosmetic).
                let names = config.looksLikeFashionMNIST ? IDX.fashionClassNames : IDX.digitClassNames
                let mnist = try IDX.loadMNIST(folder: folder, classNames: names)
                tasks = proto == .splitMNIST
                    ? try TaskBuilder.splitMNIST(mnist, limits: limits)
                    : try TaskBuilder.permutedMNIST(mnist, taskCount: config.tasks, seed: config.seed, limits: limits)
            case .splitCIFAR10, .splitCIFAR10_100:
                let cifar10 = try CIFAR10.load(folder: folder + "/" + CIFAR10.folderName)
                cifar10.warnings.forEach { console.progress("warning: \($0)") }
                if proto == .splitCIFAR10 {
                    tasks = try TaskBuilder.splitCIFAR10(cifar10, limits: limits)
                } else {
                    let cifar100 = try CIFAR100.load(folder: folder + "/" + CIFAR100.folderName)
                    tasks = try TaskBuilder.splitCIFAR10_100(cifar10: cifar10, cifar100: cifar100, limits: limits)
                }
            }
        } catch let error as DataError {
            throw ExperimentFailure.data(dataHelp(error))
        }
        let sequence: TaskSequence
        do {
            sequence = try TaskSequence(tasks: tasks, headMode: proto.headMode)
        } catch {
            throw ExperimentFailure.data("the tasks built from \(folder) are unusable: \(error)")
        }
        // The data loaded: from here on the folder holds this run (and --resume can find its config).
        if writesSummary, !Folder.exists(out + "/config.json") {
            do { try writeConfig() } catch { throw ExperimentFailure.failed("cannot write \(out)/config.json: \(error)") }
        }
        dataDeviations = config.dataDeviations(trainCounts: sequence.tasks.map(\.train.count),
                                               testCounts: sequence.tasks.map(\.test.count))
        progress("\(sequence.count) tasks: " + sequence.tasks.map { "'\($0.name)' (\($0.train.count) train, \($0.test.count) test)" }
                    .joined(separator: ", "))
        return sequence
    }

    /// The data error with where the tool looked and the layout it expects.
    private func dataHelp(_ error: DataError) -> String {
        let folder = config.dataDir
        var text = "cannot load the \(config.experimentProtocol.title) data from --data-dir \(folder)"
            + " (default: $SYNAPSE_DATA, else ./data):\n  \(error)\n"
        switch config.experimentProtocol {
        case .splitMNIST, .permutedMNIST:
            text += "  Expected in \(folder): " + IDX.fileNames.map { "\($0)[.gz]" }.joined(separator: ", ")
                + " (MNIST or Fashion-MNIST; on Debian: apt-get install dataset-fashion-mnist, "
                + "then --data-dir /usr/share/datasets/fashion-mnist)."
        case .splitCIFAR10, .splitCIFAR10_100:
            text += "  Expected layout (the official binary archives, extracted side by side):\n"
                + "    \(folder)/\(CIFAR10.folderName)/   data_batch_1.bin … data_batch_5.bin, test_batch.bin, batches.meta.txt\n"
            if config.experimentProtocol == .splitCIFAR10_100 {
                text += "    \(folder)/\(CIFAR100.folderName)/      train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt\n"
            }
            text += "  i.e. tar xzf \(CIFAR10.archiveName) -C \(folder)"
                + (config.experimentProtocol == .splitCIFAR10_100 ? " and tar xzf \(CIFAR100.archiveName) -C \(folder)" : "")
                + (config.experimentProtocol == .splitCIFAR10_100 ? " (--split cifar10 needs only CIFAR-10)." : ".")
        }
        return text
    }

    // MARK: The run list

    /// Which data a run trains and is evaluated on.
    public enum Stage: String, Sendable {
        /// Choosing a value: the training split minus the held-out part of each task, evaluated on that part.
        case validation
        /// The result: the full training split, evaluated on the test split.
        case test
    }

    /// The runs of `stage`, method-major, seeds innermost (`SweepPlan.runs`). Validation: every
    /// value × seed of each method with a swept hyper-parameter (only with --select-on validation).
    /// Test: each method × seed, with its chosen value (read from `selection-<method>.json`) or,
    /// without --select-on, with each swept value.
    /// - Throws: `ExperimentFailure.failed` when a chosen value is needed but not on disk.
    public func plan(_ stage: Stage) throws -> [SweepRun] {
        var sweeps: [MethodSweep] = []
        for method in config.methods {
            let swept = config.sweeps.keys.sorted().first { config.hyperParameter($0, of: method) != nil }
            switch (stage, swept, config.selectOn) {
            case (.validation, let flag?, .validation?):
                sweeps.append(MethodSweep(method: method.rawValue, parameter: flag, values: config.sweeps[flag]!))
            case (.validation, _, _):
                continue
            case (.test, let flag?, .validation?):
                let record = try selection(of: method)
                sweeps.append(MethodSweep(method: method.rawValue, parameter: flag, values: [record.chosen]))
            case (.test, let flag?, nil):
                sweeps.append(MethodSweep(method: method.rawValue, parameter: flag, values: config.sweeps[flag]!))
            case (.test, nil, _):
                sweeps.append(MethodSweep(method: method.rawValue))
            }
        }
        if sweeps.isEmpty { return [] }
        do { return try SweepPlan.runs(sweeps, seeds: config.seeds) } catch {
            throw ExperimentFailure.failed("cannot plan the runs: \(error)")
        }
    }

    /// The config one run trains with: its seed, and its value of the swept hyper-parameter (the
    /// method list stays the run's, so the recorded config shows every method's options).
    public func config(of run: SweepRun) throws -> RunConfig {
        guard let method = Method(rawValue: run.method) else {
            throw ExperimentFailure.failed("run \(run.id): '\(run.method)' is not a method")
        }
        guard config.methods.contains(method) else {
            throw ExperimentFailure.failed("run \(run.id): method '\(run.method)' is not one of this run's (--method)")
        }
        var own = config
        own.seed = run.seed
        own.seeds = [run.seed]
        own.sweeps = [:]
        if let flag = run.parameter, let value = run.value { own.hyperParameters[flag] = value }
        return own
    }

    /// The file stem of a run's results: the method's name when it is the method's only run (one
    /// seed, no sweep), else the run's id (`si_c0.1_seed2`); validation runs live in `validation/`.
    public func stem(_ run: SweepRun, stage: Stage) -> String {
        switch stage {
        case .validation: return "validation/" + run.id
        case .test:
            return config.seeds.count == 1 && config.sweeps.isEmpty ? run.method : run.id
        }
    }

    /// The tasks of the validation stage: each task's training split minus its seeded held-out part
    /// (`ValidationSplit`, --validation-fraction, seeded by --seed), with that part as its "test" split.
    public func validationTasks(_ tasks: TaskSequence) throws -> TaskSequence {
        do {
            let split = try ValidationSplit(fraction: config.validationFraction, seed: config.seed)
            return try TaskSequence(tasks: split.apply(to: tasks.tasks).map(\.selectionTask), headMode: tasks.headMode)
        } catch {
            throw ExperimentFailure.data("cannot hold out --validation-fraction \(format(config.validationFraction)) of the training data: \(error)")
        }
    }

    /// Runs `body` for the runs `units` of `stage` this process takes and keeps each report for the
    /// summary (`write`). Alone, or training data-parallel: every run in order, and an error
    /// stops the sweep (as before ranks existed). In a sweep over ranks: the runs rank 0's job
    /// queue hands this rank; a run that fails costs only itself (its error goes to rank 0, which
    /// lists it in the summary), and rank 0 gathers every rank's report.
    public func forEachRun(_ units: [SweepRun], stage: Stage, _ body: (SweepRun) throws -> MethodReport) throws {
        guard cluster.size > 1, !dataParallel else {
            for unit in units { try write(try body(unit), of: unit, stage: stage) }
            return
        }
        let queue = cluster.jobQueue(count: units.count)
        while let job = try queue.next() {
            let outcome: JobOutcome
            do {
                outcome = .done(Array(try body(units[job]).jsonText().utf8))
            } catch {
                let status = (error as? ExperimentFailure)?.exitCode ?? 1
                outcome = .failed("\(status) " + oneLine("\(error)"))
                console.progress("[\(stem(units[job], stage: stage))] failed: \(oneLine("\(error)")) (the other runs go on)")
            }
            try queue.finish(job, outcome)
        }
        let outcomes = try queue.close()
        guard writesSummary else { return }
        for (job, unit) in units.enumerated() {
            guard let (rank, outcome) = outcomes[job] else {
                failures.append((stem(unit, stage: stage), -1, "no result came back", 1))
                continue
            }
            switch outcome {
            case .done(let bytes):
                do {
                    try write(try MethodReport.decode(Data(bytes)), of: unit, stage: stage)
                } catch {
                    failures.append((stem(unit, stage: stage), rank, "its result could not be read or written: \(oneLine("\(error)"))", 1))
                }
            case .failed(let text):
                let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
                failures.append((stem(unit, stage: stage), rank, parts.count == 2 ? parts[1] : text, Int32(parts[0]) ?? 1))
            }
        }
    }

    // MARK: Train one run

    /// Trains one run (resuming from its checkpoint if there is one), checkpointing and writing its
    /// JSON (`<stem>.json`) after each task, and returns its report. A finished run is not retrained,
    /// so a resumed sweep reruns only what is missing.
    @discardableResult
    public func perform(_ run: SweepRun, stage: Stage, on tasks: TaskSequence) throws -> MethodReport {
        let runConfig = try config(of: run)
        let method = Method(rawValue: run.method)!   // checked by config(of:)
        let options = runConfig.continualOptions(for: method)
        let stem = stem(run, stage: stage)
        let checkpointPath = Checkpoint.path(in: out, run: stem)
        let label = stem
        if stage == .validation {
            do { if !Folder.isFolder(out + "/validation") { try Folder.makeFolders(out + "/validation") } } catch {
                throw ExperimentFailure.failed("cannot create \(out)/validation: \(error)")
            }
        }
        func report(_ result: ContinualResult) -> MethodReport {
            MethodReport(result: result, config: runConfig,
                         dataDeviations: stage == .validation ? ["a validation run (training split minus its held-out part)"] : dataDeviations)
        }

        // A checkpoint of this run: finished → nothing to train; partial → continue after it.
        var saved: TrainerState?
        if Folder.exists(checkpointPath) {
            let loaded: (state: TrainerState, config: RunConfig)
            do { loaded = try Checkpoint.load(from: checkpointPath) } catch {
                throw ExperimentFailure.failed("cannot resume \(label) from \(checkpointPath): \(error)")
            }
            saved = loaded.state
            if loaded.state.result.completedTasks == tasks.count {
                progress("[\(label)] all \(tasks.count) tasks already done (\(checkpointPath)); not retrained")
                let done = report(loaded.state.result)
                if writesRunFiles { try writeJSON(done, stem: stem) }
                return done
            }
        }

        // Build the protocol's network (inside the trainer) and restore the saved state into it.
        let architecture = config.experimentProtocol.architecture(outputUnits: tasks.outputUnits)
        let trainer: ContinualTrainer
        do {
            trainer = try ContinualTrainer(backend: backend, sequence: tasks, inputShape: architecture.inputShape,
                                           layers: architecture.layers, options: options)
            if dataParallel { trainer.dataParallel = cluster.communicator }
            if let saved {
                // The saved state is checked against this run before any of it is used.
                do { try trainer.restore(saved) } catch { throw SafeTensorsError(path: checkpointPath, "\(error)") }
                Interrupts.prepare(tool: config.tool, out: out, checkpoint: checkpointPath,
                                   detail: " (\(label) after task \(trainer.completedTasks) of \(tasks.count))")
                progress("[\(label)] resumed after task \(trainer.completedTasks)/\(tasks.count) from \(checkpointPath)"
                         + (saved.result.device == backend.deviceName ? ""
                            : " (it was trained on \(saved.result.device) until now: results can differ in the last digits from a run on one device)"))
            }
        } catch {
            throw ExperimentFailure.failed("\(label): \(error)")
        }

        if config.recordOmega, stage == .test, method == .si {
            let path = OmegaRecord.path(in: out, stem: stem)
            let regions = trainer.network.parameterRegions
            trainer.taskOmegaObserver = { t, omega in try OmegaRecord.store(task: t, omega: omega, regions: regions, at: path) }
        }
        let reporter = ProgressReporter(console: console, quiet: quiet, label: label, sequence: tasks, options: options)
        var lastCheckpoint: String? = saved == nil ? nil : checkpointPath
        let clock = ContinuousClock()
        let trainingStart = clock.now
        defer {
            // Data-parallel: what the gradient exchange cost (the communication share of a step).
            if let exchange = trainer.trainingStep.reducer as? AllreduceGradients, exchange.calls > 0 {
                let total = (clock.now - trainingStart).components
                let seconds = Double(total.seconds) + Double(total.attoseconds) * 1e-18
                progress("[\(label)] data-parallel over \(cluster.size) ranks: \(exchange.calls) steps, gradient exchange "
                         + String(format: "%.3f s of %.3f s (%.1f%%, %.2f ms per step, %d floats)", exchange.seconds, seconds,
                                  100 * exchange.seconds / max(seconds, 1e-9), 1000 * exchange.seconds / Double(exchange.calls),
                                  trainer.network.parameterCount))
            }
        }
        while trainer.completedTasks < tasks.count {
            func diverged(_ error: Error) -> ExperimentFailure {
                .diverged("[\(label)] \(error). "
                    + (lastCheckpoint.map { "Last good checkpoint: \($0) (after task \(trainer.completedTasks)); continue with --resume \(out) after changing nothing, or start a new run with a lower --lr." }
                       ?? "No task had finished, so there is no checkpoint yet."))
            }
            do {
                try trainer.runNextTask(progress: reporter.epoch)
            } catch let error as ContinualError {
                if case .diverged = error { throw diverged(error) }
                throw ExperimentFailure.failed("[\(label)] \(error)")
            } catch let error as StateDivergence {
                throw diverged(error)
            } catch {
                throw ExperimentFailure.failed("[\(label)] \(error)")
            }
            // The whole state must be healthy before anything of this task is written.
            let captured: TrainerState
            do { captured = try trainer.captureState() } catch {
                throw ExperimentFailure.failed("[\(label)] cannot read the state after task \(trainer.completedTasks): \(error)")
            }
            let health = captured.health
            guard health.isEmpty else {
                let t = trainer.completedTasks - 1
                let stepsTaken = trainer.result.trainingLoss.last?.count ?? 0
                throw diverged(StateDivergence(task: t, taskName: tasks.tasks[t].name, epoch: max(stepsTaken - 1, 0), step: nil,
                                               stepsInEpoch: 0, globalStep: trainer.globalStep, health: health))
            }
            // Checkpoint first, then the weights and the partial result: a kill between them loses
            // nothing, because the resumed run rewrites both from the checkpoint.
            do {
                if writesRunFiles {
                    try Checkpoint.save(captured, config: runConfig,
                                        parameterRegions: trainer.network.parameterRegions, to: checkpointPath)
                }
                // From here on an interrupt names this checkpoint (complete on disk), before the
                // slower weights and result files are written.
                Interrupts.prepare(tool: config.tool, out: out, checkpoint: checkpointPath,
                                   detail: " (\(label) after task \(trainer.completedTasks) of \(tasks.count))")
                if writesRunFiles {
                    try WeightsExport.file(theta: captured.arrays["theta"] ?? [], network: trainer.network, sequence: tasks,
                                           config: runConfig, method: method, completedTasks: trainer.completedTasks)
                        .write(to: WeightsExport.path(in: out, stem: stem))
                    try writeJSON(report(trainer.result), stem: stem)
                }
                lastCheckpoint = checkpointPath
            } catch {
                throw ExperimentFailure.failed("[\(label)] cannot save the results of task \(trainer.completedTasks): \(error)")
            }
            reporter.taskFinished(trainer.result, checkpoint: checkpointPath)
            try afterCheckpoint?(trainer.completedTasks)
            if let stop = stopAfterTasks, trainer.completedTasks >= stop, trainer.completedTasks < tasks.count {
                throw SimulatedKill()
            }
            if injectNaNAfterTasks == trainer.completedTasks {
                try backend.fill(trainer.state.theta, value: .nan)
            }
        }
        return report(trainer.result)
    }

    // MARK: Gather

    /// The results of `stage` this process holds (rank 0 of a job: every rank's), in plan order;
    /// a run that failed in a sweep over ranks is missing (it is listed in `failures`).
    public func collected(_ stage: Stage) throws -> [(run: SweepRun, report: MethodReport)] {
        let held = results[stage] ?? []
        return try plan(stage).compactMap { unit in held.last { $0.run == unit } }
    }

    /// Writes `<run>.json` and keeps the report for the summary.
    public func write(_ report: MethodReport, of unit: SweepRun, stage: Stage) throws {
        let name = stem(unit, stage: stage)
        if writesRunFiles {
            do { try writeJSON(report, stem: name) } catch {
                throw ExperimentFailure.failed("cannot write \(out)/\(name).json: \(error)")
            }
        }
        results[stage, default: []].removeAll { $0.run == unit }
        results[stage, default: []].append((unit, report))
    }

    // MARK: Select

    /// `selection-<method>.json`: the choice made on the validation split.
    public func selection(of method: Method) throws -> SelectionRecord {
        let path = out + "/selection-\(method.rawValue).json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentFailure.failed("\(method.rawValue): no chosen value at \(path) (the validation stage has not finished)")
        }
        do { return try JSONDecoder().decode(SelectionRecord.self, from: data) } catch {
            throw ExperimentFailure.failed("\(path) is not a selection record: \(oneLine("\(error)"))")
        }
    }

    /// Chooses each swept method's value from the validation results (`ValidationSelection`:
    /// best mean validation accuracy over tasks and seeds) and writes `selection-<method>.json` and
    /// `validation-<method>.svg`/`.csv` (validation accuracy against the value, log axis).
    /// In a job, rank 0 chooses and writes, and every rank waits for it (each reads the choice next).
    public func selectValues() throws {
        if writesSummary { try chooseValues() }
        guard try cluster.allAgree(true) else {
            throw ExperimentFailure.failed("another rank failed while the values were chosen")
        }
    }

    private func chooseValues() throws {
        let results = try collected(.validation)
        for method in config.methods {
            let mine = results.filter { $0.run.method == method.rawValue }
            guard let parameter = mine.first?.run.parameter else { continue }
            let values = config.sweeps[parameter]!
            // accuracies[v][s]: value v, seed s: mean over tasks of the validation accuracy after the last task.
            var accuracies: [[Double]] = []
            var perTask: [[[Double]]] = []
            for value in values {
                let runs = mine.filter { $0.run.value == value }
                perTask.append(runs.map { $0.report.finalAccuracy })
                accuracies.append(runs.map { r in r.report.finalAccuracy.reduce(0, +) / Double(max(1, r.report.finalAccuracy.count)) })
            }
            // Every task of every seed counts once (the seeds have the same tasks).
            guard let choice = ValidationSelection.choose(values: values, accuracies: perTask.map { $0.flatMap { $0 } }) else {
                throw ExperimentFailure.failed("\(method.rawValue): no --\(parameter) value has a finite validation accuracy")
            }
            let record = SelectionRecord(method: method.rawValue, parameter: parameter, values: values, seeds: config.seeds,
                                         validationFraction: config.validationFraction, validationSeed: config.seed,
                                         meanValidationAccuracy: accuracies, validationAccuracyPerTask: perTask,
                                         chosen: choice.value, chosenMeanAccuracy: choice.meanAccuracy)
            let info = MethodRegistry.hyperParameters.first { $0.info.flag == parameter }?.info
            let figure = PaperFigures.validationCurve(
                [PaperFigures.ValidationSeries(label: method.rawValue, values: values, accuracies: accuracies)],
                parameter: info?.symbol ?? parameter, chosen: choice.value,
                title: "\(config.experimentProtocol.title): \(method.rawValue) validation accuracy against \(info?.symbol ?? parameter)")
            do {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try AtomicFile.write(text: String(decoding: try encoder.encode(record), as: UTF8.self) + "\n",
                                     to: out + "/selection-\(method.rawValue).json")
                try AtomicFile.write(text: figure.svg, to: out + "/validation-\(method.rawValue).svg")
                try AtomicFile.write(text: figure.csv, to: out + "/validation-\(method.rawValue).csv")
            } catch {
                throw ExperimentFailure.failed("cannot write the selection of \(method.rawValue): \(error)")
            }
            progress("[\(method.rawValue)] chose --\(parameter) \(format(choice.value)) "
                     + "(mean validation accuracy \(String(format: "%.4f", choice.meanAccuracy)))")
        }
    }

    // MARK: Finish

    /// Rank 0 (or this process alone) writes summary.csv (mean ± SEM over seeds when a
    /// configuration has several runs; each run's row in runs.csv), accuracy.svg (± SEM),
    /// average-accuracy.svg/.csv (average accuracy against tasks learned) and prints the summary.
    public func finish() throws {
        guard writesSummary else { return }
        let results = try collected(.test)
        let runCount = try plan(.test).count
        let reports = results.map(\.report)
        let title = "\(config.experimentProtocol.title): task-incremental test accuracy after task \(config.tasks)"
        let several = config.seeds.count > 1 || !config.sweeps.isEmpty
        let aggregates = SeedAggregate.group(results.map { ($0.run, $0.report.summary) })
        // One figure series per configuration (method and value), over its seeds.
        var groups: [(label: String, reports: [MethodReport])] = []
        for (run, report) in results {
            let label = Summary.label(report)
            if let i = groups.firstIndex(where: { $0.label == label && $0.reports[0].method.rawValue == run.method }) {
                groups[i].reports.append(report)
            } else {
                groups.append((label, [report]))
            }
        }
        let bars = PaperFigures.taskAccuracyBars(groups.map { PaperFigures.MethodSeeds(label: $0.label, finalAccuracy: $0.reports.map(\.finalAccuracy)) },
                                                 title: title + (config.seeds.count > 1 ? " (mean ± SEM over \(config.seeds.count) seeds)" : ""))
        let curve = PaperFigures.averageAccuracyCurve(groups.map { PaperFigures.MethodMatrices(label: $0.label, matrices: $0.reports.map(\.accuracy)) },
                                                      title: "\(config.experimentProtocol.title): average accuracy over the tasks learned")
        do {
            if several {
                try AtomicFile.write(text: ([SeedAggregate.csvHeader] + aggregates.map(\.csvRow)).joined(separator: "\n") + "\n",
                                     to: out + "/summary.csv")
                try AtomicFile.write(text: Summary.csv(reports), to: out + "/runs.csv")
            } else {
                try AtomicFile.write(text: Summary.csv(reports), to: out + "/summary.csv")
            }
            try AtomicFile.write(text: bars.svg, to: out + "/accuracy.svg")
            try AtomicFile.write(text: bars.csv, to: out + "/accuracy.csv")
            try AtomicFile.write(text: curve.svg, to: out + "/average-accuracy.svg")
            try AtomicFile.write(text: curve.csv, to: out + "/average-accuracy.csv")
        } catch {
            throw ExperimentFailure.failed("cannot write the summary: \(error)")
        }
        var omegaFigure = false
        if config.recordOmega {
            // One panel per SI configuration (its first seed): with consolidation (c > 0) and without (c = 0).
            var panels: [PaperFigures.CorrelationPanel] = []
            for (run, report) in results where run.method == Method.si.rawValue && run.seed == config.seeds[0] {
                let path = OmegaRecord.path(in: out, stem: stem(run, stage: .test))
                let record: (omegas: [[Float]], regions: [(name: String, offset: Int, count: Int)])
                do { record = try OmegaRecord.load(path) } catch {
                    throw ExperimentFailure.failed("cannot draw the synapse-dynamics figure: \(error)")
                }
                let c = report.trainerOptions.hyperParameter("c") ?? 0
                panels.append(PaperFigures.CorrelationPanel(
                    title: c > 0 ? "with consolidation (c = \(format(c)))" : "without consolidation (c = 0)",
                    layers: OmegaCorrelation.perLayer(record.omegas, regions: record.regions)))
            }
            let figure = PaperFigures.omegaCorrelation(panels, title: "\(config.experimentProtocol.title): correlation of ω between tasks, per layer (seed \(config.seeds[0]))")
            do {
                try AtomicFile.write(text: figure.svg, to: out + "/synapse-dynamics.svg")
                try AtomicFile.write(text: figure.csv, to: out + "/synapse-dynamics.csv")
            } catch {
                throw ExperimentFailure.failed("cannot write the synapse-dynamics figure: \(error)")
            }
            omegaFigure = true
        }
        console.output(Summary.table(reports, config: config))
        if several { console.output(Summary.seedTable(aggregates, config: config)) }
        if config.selectOn == .validation {
            for method in config.methods where results.contains(where: { $0.run.method == method.rawValue && $0.run.parameter != nil }) {
                console.output(Summary.selectionTable(try selection(of: method)))
            }
        }
        let stems = results.map { stem($0.run, stage: .test) }
        console.output("Results: \(out)/{\(stems.joined(separator: ","))}.json, \(out)/summary.csv"
                       + (several ? ", \(out)/runs.csv" : "") + ", \(out)/accuracy.svg, \(out)/average-accuracy.svg"
                       + (config.selectOn == .validation ? ", \(out)/selection-<method>.json, \(out)/validation-<method>.svg" : "")
                       + (omegaFigure ? ", \(out)/synapse-dynamics.svg" : "") + "\n")
        if failures.isEmpty {
            try? FileManager.default.removeItem(atPath: out + "/failed.txt")   // an earlier attempt's, now resolved
        } else {
            var text = "Failed runs (\(failures.count) of \(runCount); --resume \(out) reruns only what is missing):\n"
            for failure in failures {
                text += "  \(failure.run)" + (failure.rank >= 0 ? " (rank \(failure.rank))" : "") + ": \(failure.error)\n"
            }
            console.output(text)
            do { try AtomicFile.write(text: text, to: out + "/failed.txt") } catch {
                throw ExperimentFailure.failed("cannot write \(out)/failed.txt: \(error)")
            }
        }
    }

    /// Writes config.json (the first thing a fresh run writes, once its data has loaded).
    func writeConfig() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(config), as: UTF8.self) + "\n"
        try AtomicFile.write(text: text, to: out + "/config.json")
    }

    private func writeJSON(_ report: MethodReport, stem: String) throws {
        if writesSummary, !Folder.exists(out + "/config.json") { try writeConfig() }
        try AtomicFile.write(text: try report.jsonText(), to: out + "/\(stem).json")
    }

    private func progress(_ text: String) {
        if !quiet { console.progress(text) }
    }
}

/// Collapses a possibly multi-line message into one line.
func oneLine(_ text: String) -> String {
    var parts = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    parts.removeAll { $0.isEmpty }
    var line = parts.joined(separator: "; ")
    if line.hasPrefix("Error: ") { line.removeFirst("Error: ".count) }
    return line
}
