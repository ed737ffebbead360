// What a run writes: `<method>.json` per method, `summary.csv` (one row per method) and the summary
// table on stdout. The chart is in AccuracyChart.swift.

import Foundation
import SynapseContinual

/// The contents of `<method>.json`. Accuracies are fractions in [0, 1].
public struct MethodReport: Codable, Equatable {
    public struct TaskEntry: Codable, Equatable {
        public var name: String
        /// Wall time of the task: training, consolidation, evaluation (seconds).
        public var seconds: Double
        /// Training images per second (training steps only).
        public var imagesPerSecond: Double
        /// The backend's peak allocated bytes so far (device memory; host memory for the reference backend).
        public var peakDeviceBytes: Int
        /// The process's peak resident set so far, bytes (0 where the OS does not say).
        public var peakResidentBytes: Int
        /// Mean unregularised training loss of each epoch.
        public var trainingLoss: [Double]

        enum CodingKeys: String, CodingKey {
            case name, seconds, imagesPerSecond = "images_per_second", peakDeviceBytes = "peak_device_bytes"
            case peakResidentBytes = "peak_resident_bytes", trainingLoss = "training_loss"
        }
    }

    /// A published number beside ours (only when the run follows the paper's protocol exactly).
    public struct Published: Codable, Equatable {
        public var averageAccuracy: String
        public var perTask: [Double]?
        enum CodingKeys: String, CodingKey { case averageAccuracy = "average_accuracy", perTask = "per_task" }
    }

    public var tool: Tool
    public var method: Method
    /// The device's name as the backend reports it.
    public var device: String
    public var config: RunConfig
    /// The trainer's full option set for this method (c is 0 for finetune, and so on).
    public var trainerOptions: ContinualOptions
    public var headMode: HeadMode
    public var taskNames: [String]
    /// Tasks trained so far (rows of the matrices); equal to `taskNames.count` when `finished`.
    public var completedTasks: Int
    public var finished: Bool
    /// TASK-INCREMENTAL accuracy R[i][j]: test accuracy on task j after training task i, argmax over
    /// task j's own output units (the paper's measure).
    public var accuracy: [[Double]]
    /// CLASS-INCREMENTAL accuracy: argmax over the units of every task seen so far; null for tasks
    /// not yet seen (multi-head).
    public var classIncrementalAccuracy: [[Double?]]
    /// Task-incremental: mean_j R[last][j] over the tasks trained.
    public var averageAccuracy: Double?
    /// Task-incremental backward transfer: mean_{j<last} R[last][j] − R[j][j].
    public var bwt: Double?
    /// Task-incremental forgetting of each task j < last: max_{j≤i<last} R[i][j] − R[last][j].
    public var forgetting: [Double]
    /// Mean of `forgetting` (nil with one task).
    public var averageForgetting: Double?
    /// R[j][j]: each task's accuracy right after its own training (how the paper reports `scratch`).
    public var accuracyWhenLearned: [Double]
    /// Mean of `accuracyWhenLearned`.
    public var averageAccuracyWhenLearned: Double?
    public var classIncrementalAverageAccuracy: Double?
    public var classIncrementalBWT: Double?
    public var classIncrementalForgetting: [Double]
    /// Wall seconds of all tasks so far (across resumes).
    public var seconds: Double
    public var tasks: [TaskEntry]
    /// Training loss per epoch, per task (the same numbers as in `tasks`).
    public var trainingLoss: [[Double]]
    public var published: Published?
    /// Why no published number is shown beside this run: each way it leaves the authors' protocol
    /// (settings, and the data actually loaded); empty when it follows it exactly.
    public var protocolDeviations: [String]?

    enum CodingKeys: String, CodingKey {
        case tool, method, device, config, trainerOptions = "trainer_options", headMode = "head_mode"
        case taskNames = "task_names", completedTasks = "completed_tasks", finished
        case accuracy, classIncrementalAccuracy = "class_incremental_accuracy"
        case averageAccuracy = "average_accuracy", bwt, forgetting, averageForgetting = "average_forgetting"
        case accuracyWhenLearned = "accuracy_when_learned", averageAccuracyWhenLearned = "average_accuracy_when_learned"
        case classIncrementalAverageAccuracy = "class_incremental_average_accuracy"
        case classIncrementalBWT = "class_incremental_bwt"
        case classIncrementalForgetting = "class_incremental_forgetting"
        case seconds, tasks, trainingLoss = "training_loss", published, protocolDeviations = "protocol_deviations"
    }

    // Explicit encoding so that missing values are written as null rather than left out.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tool, forKey: .tool)
        try container.encode(method, forKey: .method)
        try container.encode(device, forKey: .device)
        try container.encode(config, forKey: .config)
        try container.encode(trainerOptions, forKey: .trainerOptions)
        try container.encode(headMode, forKey: .headMode)
        try container.encode(taskNames, forKey: .taskNames)
        try container.encode(completedTasks, forKey: .completedTasks)
        try container.encode(finished, forKey: .finished)
        try container.encode(accuracy, forKey: .accuracy)
        try container.encode(classIncrementalAccuracy, forKey: .classIncrementalAccuracy)
        try container.encode(averageAccuracy, forKey: .averageAccuracy)
        try container.encode(bwt, forKey: .bwt)
        try container.encode(forgetting, forKey: .forgetting)
        try container.encode(averageForgetting, forKey: .averageForgetting)
        try container.encode(accuracyWhenLearned, forKey: .accuracyWhenLearned)
        try container.encode(averageAccuracyWhenLearned, forKey: .averageAccuracyWhenLearned)
        try container.encode(classIncrementalAverageAccuracy, forKey: .classIncrementalAverageAccuracy)
        try container.encode(classIncrementalBWT, forKey: .classIncrementalBWT)
        try container.encode(classIncrementalForgetting, forKey: .classIncrementalForgetting)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(tasks, forKey: .tasks)
        try container.encode(trainingLoss, forKey: .trainingLoss)
        try container.encode(published, forKey: .published)
        try container.encode(protocolDeviations, forKey: .protocolDeviations)
    }

    /// The report of `result` (possibly partial) under `config`. `dataDeviations`: how the data
    /// actually loaded falls short of the protocol's (`RunConfig.dataDeviations`); nil when it was
    /// not counted, which keeps the published number away as surely as a short count.
    public init(result: ContinualResult, config: RunConfig, dataDeviations: [String]?) {
        tool = config.tool
        method = result.options.method
        device = result.device
        self.config = config
        trainerOptions = result.options
        headMode = result.headMode
        taskNames = result.taskNames
        completedTasks = result.completedTasks
        finished = result.completedTasks == result.taskNames.count
        accuracy = result.taskIncrementalAccuracy
        classIncrementalAccuracy = result.classIncrementalAccuracy
        averageAccuracy = result.taskIncremental.averageAccuracy
        bwt = result.taskIncremental.backwardTransfer
        forgetting = result.taskIncremental.forgetting
        averageForgetting = forgetting.isEmpty ? nil : forgetting.reduce(0, +) / Double(forgetting.count)
        accuracyWhenLearned = accuracy.enumerated().compactMap { i, row in i < row.count ? row[i] : nil }
        averageAccuracyWhenLearned = accuracyWhenLearned.isEmpty
            ? nil : accuracyWhenLearned.reduce(0, +) / Double(accuracyWhenLearned.count)
        classIncrementalAverageAccuracy = result.classIncremental.averageAccuracy
        classIncrementalBWT = result.classIncremental.backwardTransfer
        classIncrementalForgetting = result.classIncremental.forgetting
        seconds = result.wallSeconds.reduce(0, +)
        tasks = (0..<result.completedTasks).map { t in
            TaskEntry(name: result.taskNames[t],
                      seconds: t < result.wallSeconds.count ? result.wallSeconds[t] : 0,
                      imagesPerSecond: t < result.imagesPerSecond.count ? result.imagesPerSecond[t] : 0,
                      peakDeviceBytes: t < result.peakDeviceBytes.count ? result.peakDeviceBytes[t] : 0,
                      peakResidentBytes: t < result.peakResidentBytes.count ? result.peakResidentBytes[t] : 0,
                      trainingLoss: t < result.trainingLoss.count ? result.trainingLoss[t] : [])
        }
        trainingLoss = result.trainingLoss
        let deviations = config.protocolDeviations
            + (dataDeviations ?? ["the data loaded was not counted against the protocol's"])
        protocolDeviations = deviations
        if finished, deviations.isEmpty,
           let entry = PublishedResults.lookup(config.experimentProtocol, options: result.options) {
            published = Published(averageAccuracy: entry.text, perTask: entry.perTask)
        } else {
            published = nil
        }
    }

    /// Average accuracy, BWT and forgetting of the task-incremental matrix (for `SeedAggregate`).
    public var summary: AccuracySummary { AccuracySummary(accuracy.map { $0.map { Optional($0) } }) }

    /// Test accuracy of each task after the last trained task (the last row of R).
    public var finalAccuracy: [Double] { accuracy.last ?? [] }

    /// A report as `jsonText` wrote it (how rank 0 receives the other ranks' results).
    public static func decode(_ data: Data) throws -> MethodReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(MethodReport.self, from: data)
    }

    /// Pretty-printed JSON with sorted keys (stable diffs between runs).
    public func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}

/// summary.csv and the stdout table.
public enum Summary {
    /// One row per method: averages (task- and class-incremental), BWT, forgetting, time, the
    /// strengths used, and the final accuracy of each task.
    public static func csv(_ reports: [MethodReport]) -> String {
        let taskCount = reports.map(\.taskNames.count).max() ?? 0
        var header = ["method", "device", "completed_tasks", "task_incremental_average_accuracy",
                      "class_incremental_average_accuracy", "bwt", "average_forgetting", "seconds",
                      "epochs", "batch_size", "learning_rate", "seed", "published_average_accuracy"]
        // One column per declared hyper-parameter, empty for the methods that do not have it.
        let flags = MethodRegistry.hyperParameters.map(\.info.flag)
        header += flags
        header += (0..<taskCount).map { "final_accuracy_task\($0 + 1)" }
        var lines = [header.joined(separator: ",")]
        for report in reports {
            let options = report.trainerOptions
            var row = [report.method.rawValue, CSV.field(report.device), String(report.completedTasks),
                       number(report.averageAccuracy), number(report.classIncrementalAverageAccuracy),
                       number(report.bwt), number(report.averageForgetting), String(format: "%.1f", report.seconds),
                       String(options.epochsPerTask), String(options.batchSize), format(decimal(options.learningRate)),
                       String(options.seed), CSV.field(report.published?.averageAccuracy ?? "")]
            row += flags.map { options.hyperParameter($0).map(format) ?? "" }
            row += (0..<taskCount).map { t in t < report.finalAccuracy.count ? number(report.finalAccuracy[t]) : "" }
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The table printed at the end of a run. Task-incremental and class-incremental columns are
    /// labelled; the paper's number appears beside ours when the protocol was followed exactly.
    public static func table(_ reports: [MethodReport], config: RunConfig) -> String {
        let showPaper = reports.contains { $0.published != nil }
        var columns = ["method", "avg acc (task-inc)"]
        if showPaper { columns.append("paper") }
        columns += ["when learned", "avg acc (class-inc)", "BWT", "forgetting", "time"]
        var rows: [[String]] = []
        // With several seeds each row says whose run it is.
        let seeded = Set(reports.map(\.trainerOptions.seed)).count > 1
        for report in reports {
            var row = [label(report) + (seeded ? " seed \(report.trainerOptions.seed)" : ""), fraction(report.averageAccuracy)]
            if showPaper { row.append(report.published?.averageAccuracy ?? "—") }
            row += [fraction(report.averageAccuracyWhenLearned),
                    fraction(report.classIncrementalAverageAccuracy), signed(report.bwt),
                    fraction(report.averageForgetting), duration(report.seconds)]
            rows.append(row)
        }
        var text = "\(config.experimentProtocol.title), \(config.tasks) tasks, \(config.epochs) epochs/task, "
            + "batch \(config.batchSize), " + (config.seeds.count > 1 ? "seeds \(config.seeds.map(String.init).joined(separator: ","))" : "seed \(config.seed)")
            + ", " + (config.optimizer == .sgd ? "SGD lr \(format(config.learningRate)), " : "Adam \(config.adamVariant.rawValue) ε \(format(config.epsilon)), ")
            + "Adam reset per task: \(config.resetOptimizerPerTask ? "yes" : "no")"
        if let limit = config.trainLimit { text += ", ≤\(limit) train images/task" }
        if let limit = config.testLimit { text += ", ≤\(limit) test images/task" }
        if config.evaluatedTasks == .seen { text += ", evaluated: seen tasks only" }
        text += "\n" + alignedTable(columns: columns, rows: rows)
        text += "Accuracies are test-set fractions after the last task. task-inc: argmax over the task's own "
            + "output units (the paper's measure); class-inc: argmax over the units of every task seen so far; "
            + "when learned: each task right after its own training (mean of R[j][j]).\n"
        if showPaper {
            // Methods measured right after each task's own training (a fresh network per task).
            let whenLearned = Set(reports.filter { $0.method.implementation.measuredWhenLearned && $0.published != nil }.map(\.method.rawValue))
            text += "paper: Zenke, Poole & Ganguli 2017 (docs/protocols.md), mean test accuracy after the last task, run with "
                + "Keras 2.0's Adam as this run (--adam-variant keras)"
                + (whenLearned.isEmpty ? ""
                   : " (for \(whenLearned.sorted().joined(separator: ", ")): right after each task's own training, so compare it with 'when learned')")
                + ".\n"
        }
        // Why the paper's number is missing: the first run without one says (the runs share the settings and data).
        if let missing = reports.first(where: { $0.published == nil && $0.finished }), let deviations = missing.protocolDeviations,
           !deviations.isEmpty {
            text += "(no published number beside \(showPaper ? "some rows" : "these runs"): not the authors' protocol exactly: "
                + deviations.joined(separator: "; ") + ".)\n"
        }
        if !config.sweeps.isEmpty, config.selectOn == nil {
            let flags = config.sweeps.keys.sorted().map { "--\($0)" }.joined(separator: ", ")
            text += "WARNING: TEST-SET SWEEP. Every value of \(flags) was trained and scored on the TEST split: picking the best "
                + "of these numbers tunes on the test set and overstates accuracy. Choose on held-out data with --select-on validation.\n"
        }
        return text
    }

    /// The mean ± SEM over seeds of each configuration (method and swept value).
    public static func seedTable(_ aggregates: [SeedAggregate], config: RunConfig) -> String {
        var text = "\nOver seeds (mean ± SEM, SEM = sample standard deviation/√n; task-incremental):\n"
        let rows = aggregates.map { a -> [String] in
            let name = a.method + (a.parameter.map { p in " (\(p)=\(a.value.map(format) ?? "?"))" } ?? "")
            return [name, a.seeds.map(String.init).joined(separator: ","), a.averageAccuracy?.description ?? "—",
                    a.backwardTransfer?.description ?? "—", a.forgetting?.description ?? "—"]
        }
        let columns = ["method", "seeds", "avg acc", "BWT", "forgetting"]
        text += alignedTable(columns: columns, rows: rows)
        return text
    }

    /// A plain-text table: the header, a rule, then the rows; the first column left-aligned, the
    /// others right-aligned, every column as wide as its widest cell.
    static func alignedTable(columns: [String], rows: [[String]]) -> String {
        let widths = columns.indices.map { i in ([columns[i]] + rows.map { $0[i] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        return line(columns) + "\n" + line(widths.map { String(repeating: "-", count: $0) }) + "\n"
            + rows.map(line).joined(separator: "\n") + "\n"
    }

    /// The validation table of a selection: each value's mean validation accuracy over tasks, ± SEM
    /// over seeds, and the value chosen.
    public static func selectionTable(_ record: SelectionRecord) -> String {
        var text = "\nValidation (\(record.method), --\(record.parameter); \(format(record.validationFraction * 100))% of each task's "
            + "training split held out, seed \(record.validationSeed); mean validation accuracy over tasks, over seeds \(record.seeds.map(String.init).joined(separator: ","))):\n"
        for (value, accuracies) in zip(record.values, record.meanValidationAccuracy) {
            text += "  --\(record.parameter) \(format(value)): \(MeanSEM(accuracies)?.description ?? "—")"
                + (value == record.chosen ? "  ← chosen, retrained on the full training split" : "") + "\n"
        }
        return text
    }

    /// "si (c=0.1)", "finetune", "ewc (λ=100)": the method with the strength it used (the table
    /// adds the seed when the runs have several; figures group a configuration's seeds by this label).
    static func label(_ report: MethodReport) -> String {
        report.method.implementation.label(of: report.trainerOptions.methodOptions)
    }

    static func number(_ value: Double?) -> String {
        guard let value else { return "" }
        return String(format: "%.4f", value)
    }

    static func fraction(_ value: Double?) -> String {
        guard let value else { return "—" }
        return String(format: "%.3f", value)
    }

    static func signed(_ value: Double?) -> String {
        guard let value else { return "—" }
        return String(format: "%+.3f", value)
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let total = Int(seconds.rounded())
        if total < 3600 { return "\(total / 60)m\(String(format: "%02d", total % 60))s" }
        return "\(total / 3600)h\(String(format: "%02d", total % 3600 / 60))m"
    }
}

/// `selection-<method>.json`: how a swept hyper-parameter's value was chosen on the validation split.
public struct SelectionRecord: Codable, Equatable {
    public var method: String
    /// The swept hyper-parameter's flag (`c`, `lambda`).
    public var parameter: String
    public var values: [Double]
    public var seeds: [UInt64]
    /// Held-out fraction of each class of each task's training split, and the seed that chose it.
    public var validationFraction: Double
    public var validationSeed: UInt64
    /// [value][seed]: mean over tasks of the validation accuracy after the last task.
    public var meanValidationAccuracy: [[Double]]
    /// [value][seed][task]: validation accuracy of each task after the last task.
    public var validationAccuracyPerTask: [[[Double]]]
    /// The value with the best mean validation accuracy (ties: the smaller; `ValidationSelection`).
    public var chosen: Double
    public var chosenMeanAccuracy: Double

    enum CodingKeys: String, CodingKey {
        case method, parameter, values, seeds, validationFraction = "validation_fraction", validationSeed = "validation_seed"
        case meanValidationAccuracy = "mean_validation_accuracy", validationAccuracyPerTask = "validation_accuracy_per_task"
        case chosen, chosenMeanAccuracy = "chosen_mean_accuracy"
    }
}
