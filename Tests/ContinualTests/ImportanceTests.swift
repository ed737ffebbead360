// EWC's Fisher and MAS's importance against a direct per-sample computation with the network.

import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine
import SynapseReference
import Testing

@Suite("Importance estimates")
struct ImportanceTests {
    /// A trained two-task multi-head trainer, so task 2's head (units 3..<6) is non-trivial and the
    /// live-unit offset is exercised.
    func trainedTrainer(samples: Int) throws -> (ContinualTrainer, ReferenceBackend, [ContinualTask]) {
        let tasks = (0..<2).map { blobTask(name: "t\($0)", seed: 50 + UInt64($0), classes: 3, dim: 7, trainPerClass: 20, testPerClass: 5, spread: 0.3) }
        let sequence = try TaskSequence(tasks: tasks, headMode: .multiHead)
        let options = ContinualOptions(method: .finetune, epochsPerTask: 2, batchSize: 8, evaluationBatchSize: 16, seed: 4, settings: ["samples": Double(samples)])
        let backend = ReferenceBackend()
        let trainer = try ContinualTrainer(backend: backend, sequence: sequence, inputShape: [7],
                                           layers: mlp(hidden: 9, outputUnits: 6), options: options)
        try trainer.run()
        return (trainer, backend, tasks)
    }

    /// Forward pass of training example `index` of `task` as a batch of one (dropout off).
    func forwardOne(_ trainer: ContinualTrainer, _ backend: ReferenceBackend, _ task: ContinualTask, _ index: Int) throws -> Tensor {
        let size = task.train.imageSize
        let pixels = task.train.pixels[index * size ..< (index + 1) * size].map { Float($0) / 255 }
        try backend.upload(pixels, to: trainer.network.input.view(at: 0, shape: [size]))
        return try trainer.network.forward(batch: 1, training: false, step: 0)
    }

    @Test("EWC Fisher equals the mean of squared per-sample gradients of −log p(drawn label)", arguments: [1, 33])
    func fisherMatchesDirectComputation(samples: Int) throws {
        let (trainer, backend, tasks) = try trainedTrainer(samples: samples)
        let estimate = try ImportanceEstimator(trainer: trainer).fisherDiagonal(task: 1, samples: samples)
        let fisher = try backend.download(estimate.values)
        #expect(estimate.sampleIndices.count == samples && estimate.drawnLabels.count == samples)
        #expect(estimate.drawnLabels.allSatisfy { (3..<6).contains($0) }, "labels are drawn among task 2's units only")
        let label = Tensor(storage: try backend.allocate(.int32, count: 1), shape: [1])
        let loss = Tensor(storage: try backend.allocate(.float32, count: 1), shape: [1])
        let dLogits = Tensor(storage: try backend.allocate(.float32, count: 6), shape: [1, 6])
        var expected = [Double](repeating: 0, count: fisher.count)
        for (index, drawn) in zip(estimate.sampleIndices, estimate.drawnLabels) {
            let logits = try forwardOne(trainer, backend, tasks[1], Int(index))
            try backend.upload([drawn], to: label)
            try backend.softmaxCrossEntropy(logits: logits, labels: label, batch: 1, units: 6, unitStart: 3, unitCount: 3,
                                            losses: loss, dLogits: dLogits)
            try trainer.network.backward(dLogits: dLogits, batch: 1, step: 0)
            for (k, g) in try backend.download(trainer.network.gradients).enumerated() {
                expected[k] += Double(g) * Double(g) / Double(samples)
            }
        }
        #expect(sum(fisher) > 0, "the Fisher of a trained head is not all zero")
        let error = Tolerance.maxError(fisher, expected.map { Float($0) })
        #expect(error < Tolerance.forReduction(length: samples), "max error \(error)")
    }

    /// The drawn labels follow the model's predictive distribution: with many draws, each unit's
    /// frequency is within 5 standard errors of the mean predicted probability.
    @Test("Fisher labels are drawn from the model's predictive distribution")
    func fisherLabelsFollowPrediction() throws {
        let (trainer, backend, tasks) = try trainedTrainer(samples: 40)
        let estimate = try ImportanceEstimator(trainer: trainer).fisherDiagonal(task: 1, samples: 40)
        var meanProbability = [Double](repeating: 0, count: 3)
        for index in estimate.sampleIndices {
            let logits = try backend.download(try forwardOne(trainer, backend, tasks[1], Int(index)))
            let live = logits[3..<6].map(Double.init)
            let top = live.max()!
            let weights = live.map { exp($0 - top) }
            for u in 0..<3 { meanProbability[u] += weights[u] / weights.reduce(0, +) / 40 }
        }
        for u in 0..<3 {
            let frequency = Double(estimate.drawnLabels.filter { $0 == Int32(3 + u) }.count) / 40
            let standardError = (meanProbability[u] * (1 - meanProbability[u]) / 40).squareRoot()
            #expect(abs(frequency - meanProbability[u]) <= 5 * standardError + 1e-9,
                    "unit \(3 + u): drawn \(frequency), predicted \(meanProbability[u])")
        }
    }

    @Test("MAS importance equals the mean of |∂‖f‖²/∂θ| over samples, f the live logits", arguments: [1, 33])
    func masMatchesDirectComputation(samples: Int) throws {
        let (trainer, backend, tasks) = try trainedTrainer(samples: samples)
        let estimate = try ImportanceEstimator(trainer: trainer).masImportance(task: 1, samples: samples)
        let importance = try backend.download(estimate.values)
        let dLogits = Tensor(storage: try backend.allocate(.float32, count: 6), shape: [1, 6])
        var expected = [Double](repeating: 0, count: importance.count)
        for index in estimate.sampleIndices {
            let logits = try backend.download(try forwardOne(trainer, backend, tasks[1], Int(index)))
            // ∂‖f‖²/∂f = 2f on the live units; masked units are not part of f.
            try backend.upload((0..<6).map { (3..<6).contains($0) ? 2 * logits[$0] : 0 }, to: dLogits)
            try trainer.network.backward(dLogits: dLogits, batch: 1, step: 0)
            for (k, g) in try backend.download(trainer.network.gradients).enumerated() {
                expected[k] += abs(Double(g)) / Double(samples)
            }
        }
        #expect(sum(importance) > 0)
        let error = Tolerance.maxError(importance, expected.map { Float($0) })
        #expect(error < Tolerance.forReduction(length: samples), "max error \(error)")
    }
}
