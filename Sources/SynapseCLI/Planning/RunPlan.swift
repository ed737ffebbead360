// Planning: the run description → the list of runs (method × seed × value of a swept
// hyper-parameter), each run's own config and file name, and how the runs are shared out over MPI ranks.

import ArgumentParser
import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine

extension ExperimentRun {
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
}
