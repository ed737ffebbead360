// Gather and finish: keep each run's report, write the summary files and figures, print the table.

import ArgumentParser
import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine

extension ExperimentRun {
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
        var figures: [String] = []
        for (recording, method) in MethodRegistry.recordings where config.recordings.contains(recording.name) {
            guard let drawn = recording.figure else { continue }
            // One panel per configuration of the method that records it (its first seed).
            var panels: [PaperFigures.CorrelationPanel] = []
            for (run, report) in results where run.method == method.rawValue && run.seed == config.seeds[0] {
                let record: (values: [[Float]], regions: [(name: String, offset: Int, count: Int)])
                do { record = try TaskRecords.load(recording.name, from: TaskRecords.path(in: out, stem: stem(run, stage: .test), name: recording.name)) } catch {
                    throw ExperimentFailure.failed("cannot draw the \(drawn.file) figure: \(error)")
                }
                panels.append(PaperFigures.CorrelationPanel(title: method.implementation.figurePanelTitle(of: report.trainerOptions.methodOptions),
                                                            layers: OmegaCorrelation.perLayer(record.values, regions: record.regions)))
            }
            let figure = PaperFigures.omegaCorrelation(panels, title: "\(config.experimentProtocol.title): \(drawn.title) (seed \(config.seeds[0]))")
            do {
                try AtomicFile.write(text: figure.svg, to: out + "/\(drawn.file).svg")
                try AtomicFile.write(text: figure.csv, to: out + "/\(drawn.file).csv")
            } catch {
                throw ExperimentFailure.failed("cannot write the \(drawn.file) figure: \(error)")
            }
            figures.append(drawn.file)
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
                       + figures.map { ", \(out)/\($0).svg" }.joined() + "\n")
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

    func writeJSON(_ report: MethodReport, stem: String) throws {
        if writesSummary, !Folder.exists(out + "/config.json") { try writeConfig() }
        try AtomicFile.write(text: try report.jsonText(), to: out + "/\(stem).json")
    }

    func progress(_ text: String) {
        if !quiet { console.progress(text) }
    }
}
