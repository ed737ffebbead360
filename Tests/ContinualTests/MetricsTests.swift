// The continual-learning metrics on hand-made and seeded random matrices.

import SynapseContinual
import SynapseEngine
import Testing

@Suite("Continual-learning metrics")
struct MetricsTests {
    @Test("average accuracy, backward transfer and forgetting of a hand-made matrix")
    func handMadeMatrix() {
        let r: [[Double?]] = [[0.9, 0.1, 0.2],
                              [0.7, 0.95, 0.3],
                              [0.6, 0.8, 0.99]]
        #expect(abs(ContinualMetrics.averageAccuracy(r)! - (0.6 + 0.8 + 0.99) / 3) < 1e-12)
        #expect(abs(ContinualMetrics.backwardTransfer(r)! - ((0.6 - 0.9) + (0.8 - 0.95)) / 2) < 1e-12)
        let forgetting = ContinualMetrics.forgetting(r)
        #expect(forgetting.count == 2)
        #expect(abs(forgetting[0] - 0.3) < 1e-12 && abs(forgetting[1] - 0.15) < 1e-12)
        // docs/protocols.md's max runs over every earlier row, also those before the task was trained: a task
        // whose untrained accuracy (row 0) beat its final one counts that drop as forgetting.
        let belowChance: [[Double?]] = [[0.9, 0.6], [0.8, 0.4], [0.85, 0.3]]
        let f = ContinualMetrics.forgetting(belowChance)
        #expect(abs(f[0] - 0.05) < 1e-12 && abs(f[1] - 0.3) < 1e-12)
        // A partial run (two rows of three tasks) is summarised over the tasks trained so far.
        let partial = Array(r.prefix(2))
        #expect(abs(ContinualMetrics.averageAccuracy(partial)! - (0.7 + 0.95) / 2) < 1e-12)
        #expect(abs(ContinualMetrics.backwardTransfer(partial)! - (0.7 - 0.9)) < 1e-12)
        #expect(ContinualMetrics.backwardTransfer([[0.5]]) == nil && ContinualMetrics.forgetting([[0.5]]).isEmpty)
        #expect(ContinualMetrics.averageAccuracy([]) == nil)
    }

    @Test("a learner that never forgets has zero forgetting and zero backward transfer; shifting every later row by −d gives −d", arguments: [1, 2, 7])
    func noForgettingProperties(tasks: Int) {
        var generator = SeededGenerator(seed: UInt64(tasks))
        // R[i][j] = learned[j] for i ≥ j (kept), random below it (untrained: chance) for i < j.
        let learned = (0..<tasks).map { _ in 0.5 + 0.5 * generator.nextDouble() }
        var r: [[Double?]] = (0..<tasks).map { i in (0..<tasks).map { j in j <= i ? learned[j] : 0.5 * generator.nextDouble() } }
        #expect(ContinualMetrics.forgetting(r).allSatisfy { $0 == 0 })
        #expect(tasks == 1 ? ContinualMetrics.backwardTransfer(r) == nil : abs(ContinualMetrics.backwardTransfer(r)!) < 1e-12)
        #expect(abs(ContinualMetrics.averageAccuracy(r)! - learned.reduce(0, +) / Double(tasks)) < 1e-12)
        guard tasks > 1 else { return }
        let d = 0.25 * generator.nextDouble()
        for j in 0..<(tasks - 1) { r[tasks - 1][j] = learned[j] - d }
        #expect(abs(ContinualMetrics.backwardTransfer(r)! + d) < 1e-12)
        #expect(ContinualMetrics.forgetting(r).allSatisfy { abs($0 - d) < 1e-12 })
    }
}
