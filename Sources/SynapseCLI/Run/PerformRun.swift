// One run: build the network and its trainer, restore a checkpoint of the same description if
// there is one, then task after task train, check health, checkpoint, write weights and result.
// A NaN loss or state stops it with exit 3, naming the last good checkpoint.

import ArgumentParser
import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine

extension ExperimentRun {
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
            let loaded: (state: TrainerState, config: RunConfig, description: RunDescription)
            do { loaded = try Checkpoint.open(checkpointPath) } catch {
                throw ExperimentFailure.failed("cannot resume \(label) from \(checkpointPath): \(error)")
            }
            // (Checked at the start too; again here for a checkpoint that appeared since.)
            try compare(loaded.description, savedAt: checkpointPath, with: run)
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

        for recording in method.implementation.recordings where stage == .test && config.recordings.contains(recording.name) {
            let path = TaskRecords.path(in: out, stem: stem, name: recording.name)
            let regions = trainer.network.parameterRegions
            trainer.recorders[recording.name] = { t, values in try TaskRecords.store(recording.name, task: t, values: values, regions: regions, at: path) }
        }
        let reporter = ProgressReporter(console: console, quiet: quiet, label: label, sequence: tasks,
                                        epochImages: try tasks.tasks.indices.map { try trainer.epochSize(task: $0).examples })
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
            try testHooks.afterCheckpoint?(trainer.completedTasks)
            if let stop = testHooks.stopAfterTasks, trainer.completedTasks >= stop, trainer.completedTasks < tasks.count {
                throw SimulatedKill()
            }
            if testHooks.injectNaNAfterTasks == trainer.completedTasks {
                try backend.fill(trainer.state.theta, value: .nan)
            }
        }
        return report(trainer.result)
    }
}
