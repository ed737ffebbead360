// Results over seeds: mean ± standard error of the mean (SEM = sample standard deviation / √n,
// the sample deviation with n − 1 in its denominator) of average accuracy, backward transfer and
// forgetting, per method and swept value, and the summary.csv rows that carry them.

import Foundation

/// The mean of n values and, when n ≥ 2, its standard error. One value has no spread to
/// estimate: `sem` is then nil, and the text says so rather than printing ± 0.
public struct MeanSEM: Sendable, Equatable, Codable, CustomStringConvertible {
    public var mean: Double
    /// s/√n with s² = Σ(x − mean)²/(n − 1); nil for n = 1.
    public var sem: Double?
    public var count: Int

    /// nil for no values.
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let n = Double(values.count)
        mean = values.reduce(0, +) / n
        count = values.count
        if values.count >= 2 {
            let m = mean
            let variance = values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
            sem = (variance / n).squareRoot()
        } else {
            sem = nil
        }
    }

    /// "0.912 ± 0.004 (n = 3)" or "0.912 (n = 1, no SEM)".
    public var description: String {
        let m = String(format: "%.3f", mean)
        guard let sem else { return "\(m) (n = \(count), no SEM)" }
        return "\(m) ± \(String(format: "%.3f", sem)) (n = \(count))"
    }
}

/// One configuration (method and swept value) summarised over its seeds.
public struct SeedAggregate: Sendable, Equatable, Codable {
    public var method: String
    public var parameter: String?
    public var value: Double?
    /// The seeds that went into the numbers, in run order.
    public var seeds: [UInt64]
    /// Over seeds of each run's average accuracy; nil when no run had one.
    public var averageAccuracy: MeanSEM?
    /// Over seeds of each run's backward transfer.
    public var backwardTransfer: MeanSEM?
    /// Over seeds of each run's forgetting averaged over its tasks (all but the last).
    public var forgetting: MeanSEM?

    /// Groups `results` by (method, parameter, value) in order of first appearance and
    /// summarises each group over its seeds. A run missing a metric (e.g. BWT of a one-task run)
    /// is left out of that metric only.
    public static func group(_ results: [(run: SweepRun, summary: AccuracySummary)]) -> [SeedAggregate] {
        var order: [SweepRun] = []
        var members: [SweepRun: [AccuracySummary]] = [:]
        var seeds: [SweepRun: [UInt64]] = [:]
        for (run, summary) in results {
            var key = run
            key.seed = 0
            if members[key] == nil { order.append(key) }
            members[key, default: []].append(summary)
            seeds[key, default: []].append(run.seed)
        }
        return order.map { key in
            let summaries = members[key]!
            let forgetting = summaries.compactMap { s in
                s.forgetting.isEmpty ? nil : s.forgetting.reduce(0, +) / Double(s.forgetting.count)
            }
            return SeedAggregate(method: key.method, parameter: key.parameter, value: key.value, seeds: seeds[key]!,
                                 averageAccuracy: MeanSEM(summaries.compactMap(\.averageAccuracy)),
                                 backwardTransfer: MeanSEM(summaries.compactMap(\.backwardTransfer)),
                                 forgetting: MeanSEM(forgetting))
        }
    }

    /// The columns of `csvRow`, comma-separated.
    public static let csvHeader = ["method", "parameter", "value", "seeds", "n",
                                   "average_accuracy_mean", "average_accuracy_sem", "bwt_mean", "bwt_sem",
                                   "forgetting_mean", "forgetting_sem"].joined(separator: ",")

    /// One summary.csv line: seeds joined by ';' (the field stays one CSV cell), six decimals,
    /// an empty cell for a missing SEM (n = 1) or metric; `n` is the number of seeds.
    public var csvRow: String {
        func cells(_ stat: MeanSEM?) -> [String] {
            [stat.map { String(format: "%.6f", $0.mean) } ?? "", stat?.sem.map { String(format: "%.6f", $0) } ?? ""]
        }
        var row = [method, parameter ?? "", value.map { "\($0)" } ?? "",
                   seeds.map(String.init).joined(separator: ";"), String(seeds.count)]
        row += cells(averageAccuracy) + cells(backwardTransfer) + cells(forgetting)
        return row.joined(separator: ",")
    }
}
