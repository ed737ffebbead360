// The summary beside the paper: published numbers appear only when a run follows a protocol of
// docs/protocols.md exactly, and the metrics in a report are those of its accuracy matrix.

import Foundation
import Testing
@testable import SynapseCLI
import SynapseContinual
import SynapseEngine

@Suite("Reports")
struct ReportTests {
    /// A finished result with a seeded random accuracy matrix.
    static func result(method: Method, c: Float, tasks: Int, seed: UInt64) -> ContinualResult {
        var generator = SeededGenerator(seed: seed)
        var options = ExperimentProtocol.splitCIFAR10_100.defaults(method: method)
        _ = try? options.setIfDeclared("c", Double(c))
        var result = ContinualResult(options: options, headMode: .multiHead, device: "test device",
                                     taskNames: (1...tasks).map { "task \($0)" })
        result.taskIncrementalAccuracy = (0..<tasks).map { _ in (0..<tasks).map { _ in generator.nextDouble() } }
        result.classIncrementalAccuracy = (0..<tasks).map { i in (0..<tasks).map { j in j <= i ? generator.nextDouble() : nil } }
        result.taskIncremental = AccuracySummary(result.taskIncrementalAccuracy.map { $0.map { Optional($0) } })
        result.classIncremental = AccuracySummary(result.classIncrementalAccuracy)
        result.completedTasks = tasks
        result.trainingLoss = (0..<tasks).map { _ in [generator.nextDouble()] }
        result.wallSeconds = (0..<tasks).map { _ in 1 + generator.nextDouble() }
        result.imagesPerSecond = Array(repeating: 100, count: tasks)
        result.peakDeviceBytes = Array(repeating: 1 << 20, count: tasks)
        result.peakResidentBytes = Array(repeating: 1 << 24, count: tasks)
        return result
    }

    static func config(_ arguments: [String]) throws -> RunConfig {
        try RunConfig.resolve(tool: .cifarSplit, experimentProtocol: .splitCIFAR10_100,
                              options: try ExperimentOptions.parse(arguments), environment: [:])
    }

    @Test func paperNumbersAppearOnlyForTheExactProtocol() throws {
        let paper = try Self.config(["--method", "si,finetune,scratch"])
        #expect(paper.followsPaperProtocol)
        let reports = [
            MethodReport(result: Self.result(method: .si, c: 0.1, tasks: 6, seed: 1), config: paper, dataDeviations: []),
            MethodReport(result: Self.result(method: .finetune, c: 0.1, tasks: 6, seed: 2), config: paper, dataDeviations: []),
            MethodReport(result: Self.result(method: .scratch, c: 0.1, tasks: 6, seed: 3), config: paper, dataDeviations: []),
        ]
        #expect(reports.map { $0.published?.averageAccuracy } == ["0.720", "0.625", "0.711"])
        let table = Summary.table(reports, config: paper)
        #expect(table.contains("paper") && table.contains("0.720") && table.contains("0.625"))
        #expect(table.contains("task-inc") && table.contains("class-inc"))

        // One changed default (or a cap on the data, the textbook Adam, SGD, a sweep) and the comparison
        // is withdrawn; the table names the condition that failed.
        for (arguments, named) in [(["--epochs", "59"], "--epochs 59"), (["--train-limit", "100"], "--train-limit 100"),
                                   (["--tasks", "5"], "--tasks 5"), (["--xi", "0.01"], "--xi 0.01"),
                                   (["--reset-optimizer", "no"], "--reset-optimizer no"), (["--adam-epsilon", "1e-6"], "--adam-epsilon"),
                                   (["--adam-variant", "standard"], "--adam-variant standard"), (["--optimizer", "sgd"], "--optimizer sgd"),
                                   (["--c", "0.1,0.01"], "--c is a list")] {
            let changed = try Self.config(arguments)
            #expect(!changed.followsPaperProtocol, "\(arguments)")
            let report = MethodReport(result: Self.result(method: .si, c: 0.1, tasks: 6, seed: 4), config: changed, dataDeviations: [])
            #expect(report.published == nil)
            let text = Summary.table([report], config: changed)
            #expect(!text.contains("0.720") && text.contains(named), "\(arguments): \(text)")
        }
        // The protocol's settings on partly loaded data (counted after loading, not from --train-limit): no number.
        let short = paper.dataDeviations(trainCounts: [20_000] + Array(repeating: 5_000, count: 5),
                                         testCounts: [10_000] + Array(repeating: 1_000, count: 5))
        #expect(short == ["45000 training images loaded (the full protocol: 75000)"])
        #expect(paper.dataDeviations(trainCounts: [50_000] + Array(repeating: 5_000, count: 5),
                                     testCounts: [10_000] + Array(repeating: 1_000, count: 5)).isEmpty)
        let partial = MethodReport(result: Self.result(method: .si, c: 0.1, tasks: 6, seed: 8), config: paper, dataDeviations: short)
        #expect(partial.published == nil && Summary.table([partial], config: paper).contains("45000 training images loaded"))
        // Data never counted is not taken on trust either.
        #expect(MethodReport(result: Self.result(method: .si, c: 0.1, tasks: 6, seed: 8), config: paper, dataDeviations: nil).published == nil)
        // The default is the authors' Keras Adam (the protocol as they ran it), and the table says which Adam ran.
        #expect(paper.adamVariant == .keras && table.contains("Adam keras"))
        let keras = try Self.config(["--adam-variant", "keras", "--adam-epsilon", "1e-7"])
        let kerasReport = MethodReport(result: Self.result(method: .si, c: 0.1, tasks: 6, seed: 7), config: keras, dataDeviations: [])
        #expect(kerasReport.published?.averageAccuracy == "0.720")
        // An SI strength the paper did not publish has no number either; c = 0.01 has its own.
        #expect(MethodReport(result: Self.result(method: .si, c: 0.3, tasks: 6, seed: 5), config: paper, dataDeviations: []).published == nil)
        #expect(MethodReport(result: Self.result(method: .si, c: 0.01, tasks: 6, seed: 6),
                             config: try Self.config(["--c", "0.01"]), dataDeviations: []).published?.averageAccuracy == "0.735")
    }

    @Test func reportMetricsMatchTheirMatrix() throws {
        let config = try Self.config(["--epochs", "1"])
        for seed in [11, 12, 13] as [UInt64] {
            let tasks = 1 + Int(seed % 7)
            let result = Self.result(method: .mas, c: 0.1, tasks: tasks, seed: seed)
            let report = MethodReport(result: result, config: config, dataDeviations: [])
            let r = result.taskIncrementalAccuracy
            #expect(report.accuracy == r)
            #expect(abs(report.averageAccuracy! - r[tasks - 1].reduce(0, +) / Double(tasks)) < 1e-12)
            #expect(report.accuracyWhenLearned == (0..<tasks).map { r[$0][$0] })
            #expect(report.forgetting.count == tasks - 1)
            #expect(abs(report.seconds - result.wallSeconds.reduce(0, +)) < 1e-12)
            #expect(report.tasks.count == tasks && report.finished)
            // The JSON round-trips (what --resume and other tools read back).
            let back = try JSONDecoder().decode(MethodReport.self, from: Data(try report.jsonText().utf8))
            #expect(back == report)
        }
    }
}
