// Before a run continues, reports or skips anything in its results folder, every checkpoint there is
// compared with the run asked for: its run description (what the result means) against the
// description of the run of the same name in this plan. Any difference, a checkpoint no planned run
// would write, or a config.json edited since, is a usage error (exit 2) naming each differing field
// with both values. Nothing is written before this check passes.

import Foundation
import SynapseContinual

extension ExperimentRun {
    /// The flag that named the results folder: `--resume` when resuming, else `--out`.
    var folderFlag: String { resumed ? "--resume" : "--out" }

    /// Every run this experiment could write a checkpoint for, by file stem: each method × seed ×
    /// value of its swept hyper-parameter in the test stage (with --select-on validation the chosen
    /// value is one of them), and the validation stage's runs.
    func plannedStems() throws -> [String: (run: SweepRun, stage: Stage)] {
        var stems: [String: (run: SweepRun, stage: Stage)] = [:]
        for method in config.methods {
            let swept = config.sweeps.keys.sorted().first { config.hyperParameter($0, of: method) != nil }
            let sweep = swept.map { MethodSweep(method: method.rawValue, parameter: $0, values: config.sweeps[$0]!) }
                ?? MethodSweep(method: method.rawValue)
            let runs: [SweepRun]
            do { runs = try SweepPlan.runs([sweep], seeds: config.seeds) } catch {
                throw ExperimentFailure.failed("cannot plan the runs: \(error)")
            }
            for run in runs {
                stems[stem(run, stage: .test)] = (run, .test)
                if swept != nil, config.selectOn == .validation { stems[stem(run, stage: .validation)] = (run, .validation) }
            }
        }
        return stems
    }

    /// Compares every checkpoint in the results folder (and its validation/ folder) with the run
    /// of the same name asked for now.
    /// - Throws: `ExperimentFailure.usage` for a checkpoint of another run or made with other
    ///   settings. A checkpoint that cannot be read is left to the run that opens it (`perform`
    ///   refuses it there, naming the file), so that in a sweep over MPI ranks it costs only that run.
    func checkSavedRuns() throws {
        let planned = try plannedStems()
        for (folder, prefix) in [(out, ""), (out + "/validation", "validation/")] {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names.sorted() where name.hasSuffix(Checkpoint.suffix) && !name.hasPrefix(".") {
                let stem = prefix + String(name.dropLast(Checkpoint.suffix.count))
                let path = folder + "/" + name
                guard let (run, _) = planned[stem] else {
                    throw ExperimentFailure.usage("\(folderFlag) \(out): \(path) is the checkpoint of a run this one does not plan "
                                                  + "(\(stem)); start the run that made it with --resume, or choose another --out")
                }
                try compare(savedAt: path, with: run)
            }
        }
    }

    /// Throws unless the checkpoint at `path`, when it can be read, was made with exactly the
    /// settings of `run`.
    func compare(savedAt path: String, with run: SweepRun) throws {
        guard let saved = try? Checkpoint.open(path).description else { return }
        try compare(saved, savedAt: path, with: run)
    }

    /// Throws unless `saved` (read from `path`) is the description of `run` as asked for now.
    func compare(_ saved: RunDescription, savedAt path: String, with run: SweepRun) throws {
        let method = try Method(name: run.method)
        let asked = try config(of: run).description(of: method)
        let differences = saved.differences(from: asked)
        guard differences.isEmpty else {
            throw ExperimentFailure.usage("\(folderFlag) \(out): \(path) was made with other settings than this run asks for ("
                                          + differences.joined(separator: "; ")
                                          + "); it is not reported as this run's: ask for the same settings, or choose another --out")
        }
    }
}
