// Continual-learning metrics (docs/protocols.md, "Metrics") and the result the tools serialise.
// Accuracy matrices are R[i][j] = test accuracy on task j after training task i, in [0, 1];
// rows are the tasks trained so far (a partial run has fewer rows than columns); with
// `EvaluatedTasks.seen` row i holds tasks 0...i only.

import Foundation

/// Pure functions on accuracy matrices.
public enum ContinualMetrics {
    /// Mean over the tasks trained so far of their accuracy after the last trained task:
    /// mean_{j ≤ k} R[k][j] with k the last row (for a finished run, mean_j R[T][j]). nil for no rows.
    public static func averageAccuracy(_ r: [[Double?]]) -> Double? {
        guard let last = r.last else { return nil }
        let seen = (0..<r.count).compactMap { j in j < last.count ? last[j] : nil }
        guard seen.count == r.count else { return nil }
        return seen.reduce(0, +) / Double(seen.count)
    }

    /// Backward transfer: mean over j < k of (R[k][j] − R[j][j]), k the last row. nil with fewer than two rows.
    public static func backwardTransfer(_ r: [[Double?]]) -> Double? {
        let k = r.count - 1
        guard k >= 1 else { return nil }
        var total = 0.0
        for j in 0..<k {
            guard let final = r[k][j], let learned = r[j][j] else { return nil }
            total += final - learned
        }
        return total / Double(k)
    }

    /// Forgetting of each task j < k (k the last row): max over 0 ≤ i < k of R[i][j] − R[k][j],
    /// exactly as docs/protocols.md defines it. Rows before task j was trained hold its untrained (chance)
    /// accuracy; they raise the max only for a task that ends below chance. Empty with fewer
    /// than two rows.
    public static func forgetting(_ r: [[Double?]]) -> [Double] {
        let k = r.count - 1
        guard k >= 1 else { return [] }
        return (0..<k).map { j in
            // Rows may be shorter than the task list (`EvaluatedTasks.seen`: row i holds j ≤ i).
            let best = (0..<k).compactMap { j < r[$0].count ? r[$0][j] : nil }.max() ?? 0
            return best - (r[k][j] ?? 0)
        }
    }
}

/// The summary of one accuracy matrix.
public struct AccuracySummary: Codable, Sendable, Equatable {
    /// mean over the trained tasks of R[last][j].
    public var averageAccuracy: Double?
    /// mean over j < last of R[last][j] − R[j][j].
    public var backwardTransfer: Double?
    /// per task j < last: max over i < last of R[i][j] − R[last][j] (docs/protocols.md).
    public var forgetting: [Double]

    /// The summary of accuracy matrix `r` (rows: tasks trained).
    public init(_ r: [[Double?]]) {
        averageAccuracy = ContinualMetrics.averageAccuracy(r)
        backwardTransfer = ContinualMetrics.backwardTransfer(r)
        forgetting = ContinualMetrics.forgetting(r)
    }
}

/// Everything a run measured, as plain values (JSON via `Codable`). Filled task by task, so a
/// partial result (after k tasks) is valid too.
public struct ContinualResult: Codable, Sendable, Equatable {
    /// The options of the run.
    public var options: ContinualOptions
    /// How tasks map to output units.
    public var headMode: HeadMode
    /// The backend's device name.
    public var device: String
    /// Every task's name, in training order.
    public var taskNames: [String]
    /// Number of tasks trained (rows of the matrices).
    public var completedTasks: Int
    /// R[i][j], TASK-INCREMENTAL accuracy (the paper's measure): argmax over task j's own units.
    /// Evaluated for every task j, seen and unseen; with `EvaluatedTasks.seen`, row i holds j ≤ i only.
    public var taskIncrementalAccuracy: [[Double]]
    /// R[i][j], CLASS-INCREMENTAL accuracy: argmax over the units of every task seen so far (0...i).
    /// nil for unseen tasks (j > i) in multi-head mode: their units are outside that range. In
    /// single-head mode identical to the task-incremental matrix. Rows as long as the task-incremental ones.
    public var classIncrementalAccuracy: [[Double?]]
    /// Summary of the task-incremental matrix.
    public var taskIncremental: AccuracySummary
    /// Summary of the class-incremental matrix.
    public var classIncremental: AccuracySummary
    /// Mean training loss (the unregularised cross-entropy, dropout active) per epoch, per task.
    public var trainingLoss: [[Double]]
    /// Seconds per task: training, consolidation and evaluation.
    public var wallSeconds: [Double]
    /// Images trained per second per task (training steps only, per epoch averaged).
    public var imagesPerSecond: [Double]
    /// The backend's peak allocated bytes, read after each task (a running peak).
    public var peakDeviceBytes: [Int]
    /// The process's peak resident set (VmHWM) after each task, in bytes; 0 where unavailable.
    public var peakResidentBytes: [Int]

    /// An empty result (no task trained yet).
    public init(options: ContinualOptions, headMode: HeadMode, device: String, taskNames: [String]) {
        self.options = options; self.headMode = headMode; self.device = device; self.taskNames = taskNames
        completedTasks = 0
        taskIncrementalAccuracy = []; classIncrementalAccuracy = []
        taskIncremental = AccuracySummary([]); classIncremental = AccuracySummary([])
        trainingLoss = []; wallSeconds = []; imagesPerSecond = []; peakDeviceBytes = []; peakResidentBytes = []
    }

    /// Recomputes the two summaries from the matrices.
    mutating func summarise() {
        taskIncremental = AccuracySummary(taskIncrementalAccuracy.map { $0.map { Optional($0) } })
        classIncremental = AccuracySummary(classIncrementalAccuracy)
    }
}

/// The process's peak resident set size in bytes (VmHWM in /proc/self/status), or nil where the
/// file is missing (not Linux).
public func processPeakResidentBytes() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        // "VmHWM:    123456 kB"
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if fields.count >= 2, let kilobytes = Int(fields[1]) { return kilobytes * 1024 }
    }
    return nil
}
