// A run in progress: its description, its device, its results folder, what it has produced; and
// `start`, which turns command-line arguments into one (every check before anything is written).

import ArgumentParser
import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine

/// A run in progress: the resolved config, the open device, the results so far.
public final class ExperimentRun {
    public let config: RunConfig
    public let backend: any Backend
    /// The methods to run, in order.
    public var methods: [Method] { config.methods }
    /// How the loaded data falls short of the protocol's full data (set by `loadTasks`; nil before).
    public internal(set) var dataDeviations: [String]?
    /// The results of each stage so far (rank 0 of a job: every rank's), in the order they came.
    public internal(set) var results: [Stage: [(run: SweepRun, report: MethodReport)]] = [:]
    /// Runs that failed in a sweep over ranks (each costs only itself): name, rank, error, exit status.
    public internal(set) var failures: [(run: String, rank: Int, error: String, status: Int32)] = []
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
    /// Tests only: fault injection and observation (`TestHooks`); all off in the tools.
    var testHooks = TestHooks()
    /// The results folder's lock, held for the life of the run (see OutputLock).
    var outputLock: OutputLock?
    /// Whether this run continues a folder named by --resume (messages name that flag).
    var resumed = false

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
        run.resumed = options.resume != nil
        // Nothing in the folder is continued, reported or skipped unless it was made with these settings.
        try run.checkSavedRuns()
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
}

/// What tests may make a run do, gathered in one value (all off by default; the tools never set them).
struct TestHooks {
    /// Stop (as if killed) after this many tasks of a run have been checkpointed.
    var stopAfterTasks: Int?
    /// After this many tasks have been checkpointed, overwrite θ with NaN (fault injection: a finite
    /// learning rate cannot be relied on to diverge on cue).
    var injectNaNAfterTasks: Int?
    /// Called with the number of finished tasks after each checkpoint and result are written.
    var afterCheckpoint: ((Int) throws -> Void)?
}
