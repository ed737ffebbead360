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
//   finish  from the reports kept as each run wrote its file (rank 0 of a job: every rank's): summary.csv, accuracy.svg (± SEM over seeds), the table on stdout
//
// Under mpirun (a build with the MPI trait) the runs are shared out over the ranks through a job
// queue served by rank 0, which gathers every result and writes the summary; with --data-parallel
// every rank trains every run together instead (see Cluster and docs/mpi.md).
//
// The flow itself is `Experiment.standardFlow` below; the three tools' main.swift files only call `Experiment.run`.
//
// The rooms of this module (Sources/SynapseCLI):
//   CommandLine/  the flags and the three commands (parsing only)
//   Description/  the run description: RunConfig, its resolution from flags, its validation, the
//                 canonical description a checkpoint carries, the resume comparison of flags
//   Protocols/    the paper's protocols: tasks, network, defaults, published numbers
//   Planning/     description → the list of runs (method × seed × value), their names and configs
//   Run/          one experiment: start, load, train one run (checkpoints, divergence), select, finish
//   Records/      file formats: safetensors, checkpoints, result JSON and CSV, weights, ω records
//   Figures/      SVG charts and the paper's figures
//   Process/      the folder lock, signals, MPI ranks, device choice, progress lines

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

/// Thrown by the test hook `TestHooks.stopAfterTasks`: stands for a kill right after a checkpoint.
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

/// Collapses a possibly multi-line message into one line.
func oneLine(_ text: String) -> String {
    var parts = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    parts.removeAll { $0.isEmpty }
    var line = parts.joined(separator: "; ")
    if line.hasPrefix("Error: ") { line.removeFirst("Error: ".count) }
    return line
}
