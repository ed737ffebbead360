// What the trainer hands the network and the update: the output layer's initialisation follows
// the head mode (Glorot-uniform for one shared head, zeros for per-task heads), and
// `optimizer: .sgd` makes a training step plain gradient descent (m and v untouched, θ moved by
// exactly −lr·g, with g the gradient recomputed here by an independent finite difference).

import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine
import SynapseReference
import Testing

@Suite("Optimizer and output initialisation wiring")
struct OptimizerWiringTests {
    static func sequence(_ headMode: HeadMode) throws -> TaskSequence {
        let tasks = (0..<2).map { blobTask(name: "w\($0)", seed: 40 + UInt64($0), classes: 3, dim: 7, trainPerClass: 6, testPerClass: 2, spread: 0.2) }
        return try TaskSequence(tasks: tasks, headMode: headMode)
    }

    static func outputWeights(_ trainer: ContinualTrainer) throws -> [Float] {
        let all = try trainer.backend.download(trainer.network.parameters)
        let region = trainer.network.parameterRegions.first { $0.name == "output.weight" }!
        return Array(all[region.offset..<(region.offset + region.count)])
    }

    @Test("single-head outputs start Glorot-uniform (bounded by √(6/(in+out)), not all zero); multi-head at zero",
          arguments: [HeadMode.singleHead, .multiHead])
    func outputInitialisationFollowsTheHeadMode(headMode: HeadMode) throws {
        let sequence = try Self.sequence(headMode)
        let trainer = try ContinualTrainer(backend: ReferenceBackend(), sequence: sequence, inputShape: [7],
                                           layers: mlp(hidden: 9, outputUnits: sequence.outputUnits),
                                           options: ContinualOptions(method: .finetune, seed: 4))
        let weights = try Self.outputWeights(trainer)
        #expect(weights.count == 9 * sequence.outputUnits)
        if headMode == .singleHead {
            let limit = Float((6.0 / Double(9 + sequence.outputUnits)).squareRoot())
            #expect(weights.allSatisfy { abs($0) <= limit })
            // 27 uniform draws on ±limit: none near zero has probability ~0; most are far from it.
            #expect(weights.filter { abs($0) > limit / 10 }.count > weights.count / 2)
        } else {
            #expect(weights.allSatisfy { $0 == 0 })
        }
    }

    @Test("optimizer sgd: a step leaves Adam's m and v at zero and moves θ by −lr·g (g by finite differences)")
    func sgdStepIsPlainGradientDescent() throws {
        let sequence = try Self.sequence(.multiHead)
        var options = ContinualOptions(method: .finetune, epochsPerTask: 1, batchSize: 18, evaluationBatchSize: 18,
                                       optimizer: .sgd, seed: 6)
        options.learningRate = 0.05
        let backend = ReferenceBackend()
        let trainer = try ContinualTrainer(backend: backend, sequence: sequence, inputShape: [7],
                                           layers: mlp(hidden: 5, outputUnits: sequence.outputUnits), options: options)
        let before = try backend.download(trainer.state.theta)
        // The whole task-0 training split (18 examples) is one minibatch, so one epoch is one step
        // on the mean loss over the split: the loss `meanLoss` computes at θ (no dropout in this net).
        var gradient = [Double](repeating: 0, count: before.count)
        let h: Float = 1e-2
        for k in 0..<before.count {
            var plus = before, minus = before
            plus[k] += h; minus[k] -= h
            try backend.upload(plus, to: trainer.state.theta)
            let lossPlus = try trainer.meanLoss(task: 0, split: .train)
            try backend.upload(minus, to: trainer.state.theta)
            let lossMinus = try trainer.meanLoss(task: 0, split: .train)
            gradient[k] = (lossPlus - lossMinus) / Double(2 * h)
        }
        try backend.upload(before, to: trainer.state.theta)
        _ = try trainer.train(task: 0)
        let after = try backend.download(trainer.state.theta)
        #expect(try backend.download(trainer.state.m).allSatisfy { $0 == 0 })
        #expect(try backend.download(trainer.state.v).allSatisfy { $0 == 0 })
        var worst = 0.0
        for k in before.indices {
            let expected = Double(before[k]) - 0.05 * gradient[k]
            worst = max(worst, abs(Double(after[k]) - expected))
        }
        #expect(worst < 2e-4, "largest |θ − (θ₀ − lr·g)| = \(worst)")
        #expect(zip(before, after).contains { $0 != $1 })
    }
}
