// The trainer's evaluation: accuracy of every task on its test split (task- and class-incremental),
// mean losses, the inference batches, and the check that data-parallel ranks agree.

import Foundation
import SynapseData
import SynapseEngine

extension ContinualTrainer {
    // MARK: Evaluation

    /// Accuracy of every evaluated task j on its test split at the current θ (dropout off):
    /// task-incremental (argmax over task j's units) and class-incremental (argmax over the units
    /// of tasks 0...t; nil for j > t in multi-head mode). The evaluated tasks are every task, or
    /// with `EvaluatedTasks.seen` tasks 0...t only (shorter rows). One host wait for all tasks.
    public func evaluate(afterTask t: Int) throws -> (taskIncremental: [Double], classIncremental: [Double?]) {
        try backend.fill(counters, value: 0)
        let (rank, size) = ranks
        let seen = sequence.unitsSeen(throughTask: t)
        let evaluated = options.evaluatedTasks == .seen ? min(t + 1, sequence.count) : sequence.count
        func classDefined(_ j: Int) -> Bool { sequence.headMode == .singleHead || j <= t }
        for j in 0..<evaluated {
            let split = data.test[j]
            let own = sequence.units(ofTask: j)
            let mine = size > 1 ? BatchShare.slice(of: split.count, rank: rank, size: size) : .whole(split.count)
            try forEachInferenceBatch(of: split, rows: mine.first..<(mine.first + mine.count)) { logits, rows in
                try backend.countCorrect(logits: logits, labels: labels, batch: rows, units: sequence.outputUnits,
                                         unitStart: own.lowerBound, unitCount: own.count,
                                         counter: counters.view(at: 2 * j, shape: [1]))
                if classDefined(j) {
                    try backend.countCorrect(logits: logits, labels: labels, batch: rows, units: sequence.outputUnits,
                                             unitStart: seen.lowerBound, unitCount: seen.count,
                                             counter: counters.view(at: 2 * j + 1, shape: [1]))
                }
            }
        }
        var counts = try backend.download(counters)
        try dataParallel?.allreduceSum(&counts)   // each rank counted its slice of every test split
        let taskIncremental = (0..<evaluated).map { Double(counts[2 * $0]) / Double(data.test[$0].count) }
        let classIncremental = (0..<evaluated).map { j -> Double? in
            classDefined(j) ? Double(counts[2 * j + 1]) / Double(data.test[j].count) : nil
        }
        return (taskIncremental, classIncremental)
    }

    /// Which split `meanLoss` reads.
    public enum Split { case train, test }

    /// Mean cross-entropy of task t over a whole split at the current θ, dropout off (nats per example).
    public func meanLoss(task t: Int, split which: Split) throws -> Double {
        let split = which == .train ? data.train[t] : data.test[t]
        let live = sequence.units(ofTask: t)
        try backend.fill(lossSum, value: 0)
        try forEachInferenceBatch(of: split) { logits, rows in
            try backend.softmaxCrossEntropy(logits: logits, labels: labels, batch: rows, units: sequence.outputUnits,
                                            unitStart: live.lowerBound, unitCount: live.count,
                                            losses: losses, dLogits: dLogits.leadingRows(rows))
            try backend.accumulateSum(losses, count: rows, into: lossSum)
        }
        return Double(try backend.download(lossSum)[0]) / Double(split.count)
    }

    /// Walks rows `range` of `split` in order (all of them when nil), `maxBatch` rows at a time (the
    /// last batch may be smaller): gathers the rows (pixels/255) and their labels into `labels`, runs
    /// the forward pass with dropout off and hands `body` the logits and the row count. Only
    /// enqueues; no host wait.
    func forEachInferenceBatch(of split: DeviceSplit, rows range: Range<Int>? = nil,
                               _ body: (_ logits: Tensor, _ rows: Int) throws -> Void) throws {
        let range = range ?? 0..<split.count
        var start = range.lowerBound
        while start < range.upperBound {
            let rows = min(maxBatch, range.upperBound - start)
            let indices = identityIndices.view(at: start, shape: [rows])
            try backend.gatherRows(split.pixels, indices: indices, rows: rows, rowLength: sequence.imageSize,
                                   scale: 1.0 / 255.0, into: network.input)
            try backend.gatherLabels(split.labels, indices: indices, rows: rows, into: labels)
            let logits = try network.forward(batch: rows, training: false, step: 0)
            try body(logits, rows)
            start += rows
        }
    }

    // MARK: Data-parallel agreement

    /// Data-parallel only: every rank compares a digest of its whole checkpointed state (θ, θ*, Ω,
    /// ω, Adam m and v, the method's arrays) with rank 0's; any difference stops every rank with an error naming the ranks that differ.
    /// - Throws: `ContinualError.mismatch` on every rank when any rank's state differs.
    public func checkRanksAgree(afterTask t: Int) throws {
        guard let communicator = dataParallel, communicator.size > 1 else { return }
        // Everything a checkpoint holds: θ, θ*, Ω, ω, Adam m and v, and the method's own arrays.
        let saved = try captureState()
        let mine = stateDigest(saved.arrays.keys.sorted().map { saved.arrays[$0]! })
        var reference = (0..<8).map { UInt8(truncatingIfNeeded: mine >> (8 * $0)) }
        try communicator.broadcast(&reference, root: 0)
        let rankZero = reference.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        var differs = [Float](repeating: 0, count: communicator.size)
        differs[communicator.rank] = mine == rankZero ? 0 : 1
        try communicator.allreduceSum(&differs)
        let bad = differs.indices.filter { differs[$0] != 0 }
        guard bad.isEmpty else {
            throw ContinualError.mismatch("data-parallel ranks disagree after task \(t + 1): rank(s) \(bad.map(String.init).joined(separator: ", ")) "
                                          + "hold a different θ, θ*, Ω, ω or Adam state than rank 0 (state digest \(String(rankZero, radix: 16)) on rank 0)")
        }
    }
}
