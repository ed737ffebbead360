// The paper's figures as pure renderers: plain numbers in, an SVG and the CSV of the numbers it
// shows out. Means and standard errors over seeds come from `MeanSEM` (one definition).
//
//   taskAccuracyBars      per-task accuracy after the last task, methods side by side, ± SEM over seeds
//   averageAccuracyCurve  average accuracy over the tasks learned so far, against their number
//   validationCurve       validation accuracy against a hyper-parameter value (log axis)
//   omegaCorrelation      heatmaps of the task-by-task correlation of ω per layer (CorrelationHeatmap)

import Foundation
import SynapseContinual

public enum PaperFigures {
    /// An SVG and the CSV of the numbers drawn in it.
    public struct Figure: Equatable {
        public var svg: String
        public var csv: String
    }

    /// One method over seeds: `finalAccuracy[s][t]` is task t's accuracy after the last task in seed s's run.
    public struct MethodSeeds: Equatable {
        public var label: String
        public var finalAccuracy: [[Double]]
        public init(label: String, finalAccuracy: [[Double]]) { self.label = label; self.finalAccuracy = finalAccuracy }
    }

    /// Bars of mean accuracy per task, ± SEM over seeds (none with one seed), and a "mean" group
    /// (the mean over tasks, ± the SEM of the per-seed means). CSV: method,task,mean,sem,n.
    public static func taskAccuracyBars(_ methods: [MethodSeeds], title: String) -> Figure {
        let taskCount = methods.flatMap(\.finalAccuracy).map(\.count).max() ?? 0
        var series: [AccuracyChart.Series] = []
        var csv = ["method,task,mean,sem,n"]
        for method in methods {
            var means: [Double] = [], errors: [Double?] = []
            for t in 0..<taskCount {
                let stat = MeanSEM(method.finalAccuracy.compactMap { t < $0.count ? $0[t] : nil })
                guard let stat else { break }
                means.append(stat.mean); errors.append(stat.sem)
                csv.append([CSV.field(method.label), "T\(t + 1)", CSV.number(stat.mean), CSV.number(stat.sem), String(stat.count)].joined(separator: ","))
            }
            let perSeed = MeanSEM(method.finalAccuracy.filter { !$0.isEmpty }.map { $0.reduce(0, +) / Double($0.count) })
            if let perSeed {
                csv.append([CSV.field(method.label), "mean", CSV.number(perSeed.mean), CSV.number(perSeed.sem), String(perSeed.count)].joined(separator: ","))
            }
            series.append(AccuracyChart.Series(label: method.label, values: means, errors: errors, meanError: perSeed?.sem))
        }
        let svg = AccuracyChart.svg(series: series, taskLabels: (0..<taskCount).map { "T\($0 + 1)" }, title: title)
        return Figure(svg: svg, csv: csv.joined(separator: "\n") + "\n")
    }

    /// One method over seeds: `matrices[s]` is seed s's accuracy matrix R[i][j] (test accuracy on
    /// task j after training task i).
    public struct MethodMatrices: Equatable {
        public var label: String
        public var matrices: [[[Double]]]
        public init(label: String, matrices: [[[Double]]]) { self.label = label; self.matrices = matrices }
    }

    /// Average accuracy after i tasks, mean_{j ≤ i} R[i][j], against i, ± SEM over seeds.
    /// CSV: method,tasks_learned,mean,sem,n.
    public static func averageAccuracyCurve(_ methods: [MethodMatrices], title: String) -> Figure {
        var series: [LineChart.Series] = []
        var csv = ["method,tasks_learned,mean,sem,n"]
        var maxTasks = 1
        for method in methods {
            var points: [LineChart.Point] = []
            let rows = method.matrices.map(\.count).max() ?? 0
            for i in 0..<rows {
                let values = method.matrices.compactMap { r -> Double? in
                    guard i < r.count, r[i].count > i else { return nil }
                    return r[i][0...i].reduce(0, +) / Double(i + 1)
                }
                guard let stat = MeanSEM(values) else { continue }
                points.append(LineChart.Point(x: Double(i + 1), y: stat.mean, error: stat.sem))
                csv.append([CSV.field(method.label), String(i + 1), CSV.number(stat.mean), CSV.number(stat.sem), String(stat.count)].joined(separator: ","))
                maxTasks = max(maxTasks, i + 1)
            }
            series.append(LineChart.Series(label: method.label, points: points))
        }
        let svg = LineChart.svg(series: series, title: title, xTitle: "number of tasks learned",
                                yTitle: "average accuracy (task-incremental)",
                                xTicks: (1...maxTasks).map { (Double($0), String($0)) }, logX: false,
                                yRange: LineChart.yRange(series, step: 0.1), yStep: 0.1)
        return Figure(svg: svg, csv: csv.joined(separator: "\n") + "\n")
    }

    /// One curve of a validation sweep: for each value, the mean validation accuracy over tasks
    /// of each seed's run (one entry per seed).
    public struct ValidationSeries: Equatable {
        public var label: String
        public var values: [Double]
        public var accuracies: [[Double]]
        public init(label: String, values: [Double], accuracies: [[Double]]) {
            self.label = label; self.values = values; self.accuracies = accuracies
        }
    }

    /// Validation accuracy against the value of `parameter` on a log axis, ± SEM over seeds; the
    /// `chosen` value is ringed. Values ≤ 0 cannot sit on a log axis: they stay in the CSV and a
    /// note under the plot names them. CSV: series,parameter,value,mean,sem,n.
    public static func validationCurve(_ curves: [ValidationSeries], parameter: String, chosen: Double?,
                                       title: String) -> Figure {
        var series: [LineChart.Series] = []
        var csv = ["series,parameter,value,mean,sem,n"]
        var offAxis: [Double] = []
        for curve in curves {
            var points: [LineChart.Point] = []
            for (value, accuracies) in zip(curve.values, curve.accuracies) {
                guard let stat = MeanSEM(accuracies) else { continue }
                csv.append([CSV.field(curve.label), CSV.field(parameter), "\(value)", CSV.number(stat.mean), CSV.number(stat.sem), String(stat.count)].joined(separator: ","))
                if value > 0 {
                    points.append(LineChart.Point(x: value, y: stat.mean, error: stat.sem))
                } else if !offAxis.contains(value) {
                    offAxis.append(value)
                }
            }
            series.append(LineChart.Series(label: curve.label, points: points))
        }
        let positive = series.flatMap { $0.points.map(\.x) }
        var ticks: [(Double, String)] = []
        if let low = positive.min(), let high = positive.max() {
            // Every power of ten in range, plus the values themselves when there are few of them.
            let decades = Int(log10(low).rounded(.down))...Int(log10(high).rounded(.up))
            let values = Set(positive)
            if values.count <= 8 {
                ticks = values.sorted().map { ($0, String(format: "%g", $0)) }
            } else {
                ticks = decades.map { (pow(10, Double($0)), String(format: "%g", pow(10, Double($0)))) }
            }
        }
        let note = chosen.map { "ringed: the chosen value, \(parameter) = \(String(format: "%g", $0)) (best mean validation accuracy)" }
        let footnote = offAxis.isEmpty ? nil
            : "not on the log axis (in the CSV): \(parameter) = " + offAxis.map { String(format: "%g", $0) }.joined(separator: ", ")
        let svg = LineChart.svg(series: series, title: title, xTitle: "\(parameter) (log scale)",
                                yTitle: "validation accuracy (mean over tasks)", xTicks: ticks, logX: true,
                                yRange: LineChart.yRange(series, step: 0.05), yStep: 0.05,
                                highlight: chosen.flatMap { $0 > 0 ? ($0, note ?? "") : nil }, footnote: footnote)
        return Figure(svg: svg, csv: csv.joined(separator: "\n") + "\n")
    }

    /// One heatmap panel: a title (e.g. "with consolidation (c = 0.1)") and per layer its
    /// task-by-task correlation matrix (`OmegaCorrelation.perLayer`).
    public struct CorrelationPanel {
        public var title: String
        public var layers: [(layer: String, correlation: [[Double?]])]
        public init(title: String, layers: [(layer: String, correlation: [[Double?]])]) {
            self.title = title; self.layers = layers
        }
    }

    /// Heatmaps of the correlation of per-task ω: one column per panel, one row per layer, a
    /// shared diverging colour scale from −1 to 1. CSV: panel,layer,task_i,task_j,correlation.
    public static func omegaCorrelation(_ panels: [CorrelationPanel], title: String) -> Figure {
        var csv = ["panel,layer,task_i,task_j,correlation"]
        for panel in panels {
            for (layer, matrix) in panel.layers {
                for (i, row) in matrix.enumerated() {
                    for (j, value) in row.enumerated() {
                        csv.append([CSV.field(panel.title), CSV.field(layer), String(i + 1), String(j + 1), CSV.number(value)].joined(separator: ","))
                    }
                }
            }
        }
        return Figure(svg: CorrelationHeatmap.svg(panels, title: title), csv: csv.joined(separator: "\n") + "\n")
    }
}
