// --select-on validation: choose each swept method's value on the held-out part of the training
// data and record the choice (selection-<method>.json, validation-<method>.svg).

import ArgumentParser
import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine

extension ExperimentRun {
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
}
