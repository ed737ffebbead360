// The importance estimates of the penalty methods, at the current θ of a trainer, from a seeded
// sample of a task's training examples: the sampling and the diagonal Fisher (EWC, online EWC)
// here, the MAS importance in MAS.swift. Host waits here are fine: they run once per task, at its end.

import Foundation
import SynapseEngine

/// A per-parameter importance and the examples (and, for the Fisher, labels) it was computed from.
public struct ImportanceEstimate {
    /// float32 [parameterCount] on the device (overwritten by the next estimate).
    public let values: Tensor
    /// Training-set indices of the examples used.
    public let sampleIndices: [Int32]
    /// Fisher: the label drawn for each example (a GLOBAL unit index). Empty for MAS.
    public let drawnLabels: [Int32]
}

/// Estimates a per-parameter importance of a task for a method that keeps one (made in the method's
/// `init`): it owns the sample buffers and the result array.
public final class ImportanceEstimator {
    /// The trainer whose network, θ and data are used (it owns the method that owns this estimator).
    unowned let trainer: ContinualTrainer
    /// int32: examples chosen for an estimate, and the labels drawn for the Fisher (grown to the
    /// sample count needed).
    var sampleIndices: Tensor
    var sampleLabels: Tensor
    /// float32 [parameterCount]: the latest estimate.
    let values: Tensor

    /// Buffers for `trainer`'s network.
    public init(trainer: ContinualTrainer) throws {
        self.trainer = trainer
        let backend = trainer.backend
        sampleIndices = Tensor(storage: try backend.allocate(.int32, count: 1), shape: [1])
        sampleLabels = Tensor(storage: try backend.allocate(.int32, count: 1), shape: [1])
        let p = trainer.network.parameterCount
        values = Tensor(storage: try backend.allocate(.float32, count: max(p, 1)), shape: [p])
    }

    /// Chooses min(count, train size) training examples of task t, seeded by (seed, purpose, t).
    func chooseSamples(task t: Int, count: Int, purpose: RandomPurpose) throws -> [Int32] {
        let backend = trainer.backend
        let n = trainer.data.train[t].count
        let chosen = Array(CounterRandom(seed: trainer.options.seed, purpose: purpose, task: t, epoch: 0).permutation(n).prefix(min(count, n)))
        if sampleIndices.count < chosen.count {
            sampleIndices = Tensor(storage: try backend.allocate(.int32, count: chosen.count), shape: [chosen.count])
            sampleLabels = Tensor(storage: try backend.allocate(.int32, count: chosen.count), shape: [chosen.count])
        }
        try backend.upload(chosen, to: sampleIndices.view(at: 0, shape: [chosen.count]))
        return chosen
    }

    /// Diagonal empirical-model Fisher of task t at the current θ: mean over `samples`
    /// examples of (∂ log p(y|x)/∂θ)², one example at a time (batch of 1). The label y is DRAWN from
    /// the model's own predictive distribution over task t's live units (seeded), not the true label.
    /// Dropout is off (evaluation mode): the deterministic network is the model being protected.
    public func fisherDiagonal(task t: Int, samples: Int) throws -> ImportanceEstimate {
        let chosen = try chooseSamples(task: t, count: samples, purpose: .fisherSamples)
        let (backend, network, data, sequence) = (trainer.backend, trainer.network, trainer.data, trainer.sequence)
        let (maxBatch, dLogits, losses) = (trainer.maxBatch, trainer.dLogits, trainer.losses)
        let split = data.train[t]
        let live = sequence.units(ofTask: t)
        let units = sequence.outputUnits
        let draws = CounterRandom(seed: trainer.options.seed, purpose: .fisherLabels, task: t, epoch: 0)
        // 1. The predictive distributions, a chunk at a time (host waits are fine at task end).
        var drawn: [Int32] = []
        var start = 0
        while start < chosen.count {
            let rows = min(maxBatch, chosen.count - start)
            try backend.gatherRows(split.pixels, indices: sampleIndices.view(at: start, shape: [rows]), rows: rows,
                                   rowLength: sequence.imageSize, scale: 1.0 / 255.0, into: network.input)
            let logits = try backend.download(try network.forward(batch: rows, training: false, step: 0))
            for r in 0..<rows {
                let row = live.map { Double(logits[r * units + $0]) }
                let top = row.max()!
                let weights = row.map { Foundation.exp($0 - top) }
                let u = draws.uniform(start + r) * weights.reduce(0, +)
                var cumulative = 0.0
                var pick = live.count - 1
                for (i, w) in weights.enumerated() {
                    cumulative += w
                    if u < cumulative { pick = i; break }
                }
                drawn.append(Int32(live.lowerBound + pick))
            }
            start += rows
        }
        try backend.upload(drawn, to: sampleLabels.view(at: 0, shape: [drawn.count]))
        // 2. Per-example gradients of −log p(y|x), squared and averaged.
        try backend.fill(values, value: 0)
        let one = dLogits.leadingRows(1)
        for s in 0..<chosen.count {
            try backend.gatherRows(split.pixels, indices: sampleIndices.view(at: s, shape: [1]), rows: 1,
                                   rowLength: sequence.imageSize, scale: 1.0 / 255.0, into: network.input)
            let logits = try network.forward(batch: 1, training: false, step: 0)
            try backend.softmaxCrossEntropy(logits: logits, labels: sampleLabels.view(at: s, shape: [1]), batch: 1,
                                            units: units, unitStart: live.lowerBound, unitCount: live.count,
                                            losses: losses, dLogits: one)
            try network.backward(dLogits: one, batch: 1, step: 0)
            try backend.accumulate(network.gradients, into: values, scale: 1 / Float(chosen.count), transform: .square)
        }
        return ImportanceEstimate(values: values, sampleIndices: chosen, drawnLabels: drawn)
    }

}
