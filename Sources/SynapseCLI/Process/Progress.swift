// Progress lines on stderr (never stdout, which carries only the summary): one per epoch with
// task, epoch, loss, accuracy, images/s and the time left for the method, one per finished task.

import Foundation
import SynapseContinual

/// Where the tools write human-readable lines. Tests capture them; the tools use stderr/stdout.
public struct Console: Sendable {
    public var progress: @Sendable (String) -> Void
    public var output: @Sendable (String) -> Void

    public init(progress: @escaping @Sendable (String) -> Void, output: @escaping @Sendable (String) -> Void) {
        self.progress = progress; self.output = output
    }

    /// stderr for progress and messages, stdout for results.
    public static let standard = Console(
        progress: { line in FileHandle.standardError.write(Data((line + "\n").utf8)) },
        output: { text in FileHandle.standardOutput.write(Data(text.utf8)) })
}

/// Per-epoch and per-task lines for one method's run.
final class ProgressReporter {
    private let console: Console
    private let quiet: Bool
    private let label: String
    private let sequence: TaskSequence
    /// Training images in one epoch of each task (`ContinualTrainer.epochSize`).
    private let epochImages: [Int]
    /// Images trained and seconds spent in this process (not counting restored tasks): the rate for the ETA.
    private var images = 0.0
    private var seconds = 0.0

    init(console: Console, quiet: Bool, label: String, sequence: TaskSequence, epochImages: [Int]) {
        self.console = console; self.quiet = quiet; self.label = label
        self.sequence = sequence; self.epochImages = epochImages
    }

    func epoch(_ p: TrainingProgress) {
        let done = Double(epochImages[p.task])
        images += done
        seconds += done / max(p.imagesPerSecond, 1e-9)
        guard !quiet else { return }
        var remaining = Double(epochImages[p.task] * (p.epochCount - p.epoch - 1))
        if p.task + 1 < p.taskCount {
            for t in (p.task + 1)..<p.taskCount { remaining += Double(epochImages[t] * p.epochCount) }
        }
        let rate = images / max(seconds, 1e-9)
        let accuracy = p.averageAccuracy.map { String(format: "%.3f", $0) } ?? "  —  "
        console.progress("[\(label)] task \(p.task + 1)/\(p.taskCount) epoch \(p.epoch + 1)/\(p.epochCount)  "
            + String(format: "loss %.4g", p.loss) + "  acc(tasks so far) \(accuracy)  "
            + "\(Int(p.imagesPerSecond.rounded())) img/s  ETA \(Summary.duration(remaining / max(rate, 1e-9)))")
    }

    func taskFinished(_ result: ContinualResult, checkpoint: String) {
        guard !quiet, let row = result.taskIncrementalAccuracy.last else { return }
        let t = result.completedTasks - 1
        let seen = row.prefix(t + 1).enumerated().map { "T\($0.offset + 1) \(String(format: "%.3f", $0.element))" }
        let average = result.taskIncremental.averageAccuracy.map { String(format: "%.3f", $0) } ?? "—"
        let classInc = result.classIncremental.averageAccuracy.map { String(format: "%.3f", $0) } ?? "—"
        console.progress("[\(label)] task \(t + 1)/\(sequence.count) '\(sequence.tasks[t].name)' done in "
            + Summary.duration(result.wallSeconds.last ?? 0) + ": task-inc accuracy " + seen.joined(separator: " ")
            + " | mean \(average) (class-inc \(classInc)) | checkpoint \(checkpoint)")
    }

    func note(_ text: String) {
        if !quiet { console.progress(text) }
    }
}
