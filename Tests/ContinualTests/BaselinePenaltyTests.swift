// EWC, online EWC and MAS inside the trainer, against PenaltyReference's plain loops: after two
// consolidated tasks, θ is moved to a random point and task 3 takes exactly one plain-SGD step on
// its whole training split. That step must be θ − lr·(∇ task loss + ∇ penalty), with the task
// gradient, the importances (the Fisher from the labels the trainer drew, MAS's output-norm
// gradient), the anchors, γ's decay and the λ/2 or λ scaling all computed here independently.
// A method whose penalty does nothing fails: the penalty's share of the step is checked to be far
// larger than the tolerance. The importances themselves are compared too.

import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine
import SynapseReference
import Testing

@Suite("Baseline penalties against the independent reference")
struct BaselinePenaltyTests {
    static let tiny = TinyMLP(inputs: 5, hidden: 4, outputs: 6)
    static let samples = 8

    /// Three tasks of two classes (multi-head: units 0-1, 2-3, 4-5), 4 training examples per class.
    static func sequence(seed: UInt64) throws -> TaskSequence {
        let tasks = (0..<3).map { blobTask(name: "p\($0)", seed: seed + UInt64($0), classes: 2, dim: 5, trainPerClass: 4,
                                            testPerClass: 2, spread: 0.25) }
        return try TaskSequence(tasks: tasks, headMode: .multiHead)
    }

    /// The network input of training example i of task t (pixels / 255, as the trainer gathers it).
    static func input(_ sequence: TaskSequence, task t: Int, _ i: Int) -> [Double] {
        let set = sequence.tasks[t].train
        return (0..<set.imageSize).map { Double(set.pixels[i * set.imageSize + $0]) / 255 }
    }

    /// The importance of task t at the current θ, from the reference, on the examples (and drawn
    /// labels) the trainer's estimator uses. `kind`: "fisher" or "mas".
    static func referenceImportance(_ trainer: ContinualTrainer, task t: Int, kind: String) throws -> (theta: [Double], importance: [Double], device: [Float]) {
        let theta = try trainer.backend.download(trainer.state.theta).map(Double.init)
        let live = trainer.sequence.units(ofTask: t)
        if kind == "fisher" {
            let estimate = try ImportanceEstimator(trainer: trainer).fisherDiagonal(task: t, samples: samples)
            let inputs = estimate.sampleIndices.map { input(trainer.sequence, task: t, Int($0)) }
            let reference = PenaltyReference.fisher(tiny, theta: theta, inputs: inputs, labels: estimate.drawnLabels.map(Int.init), live: live)
            return (theta, reference, try trainer.backend.download(estimate.values))
        }
        let estimate = try ImportanceEstimator(trainer: trainer).masImportance(task: t, samples: samples)
        let inputs = estimate.sampleIndices.map { input(trainer.sequence, task: t, Int($0)) }
        return (theta, PenaltyReference.masImportance(tiny, theta: theta, inputs: inputs, live: live),
                try trainer.backend.download(estimate.values))
    }

    /// Runs tasks 1 and 2 of `method`, checks its importances, then one SGD step of task 3 from a
    /// random θ against θ − lr·(task gradient + `penaltyGradient(θ, per-task (θ*, importance))`).
    static func check(_ method: Method, settings: [String: Double], importance kind: String, seed: UInt64,
                      penaltyGradient: ([Double], [(anchor: [Double], importance: [Double])]) -> [Double]) throws {
        let sequence = try Self.sequence(seed: seed)
        // One epoch of one batch per task: task 3's training is exactly one step.
        var options = ContinualOptions(method: method, epochsPerTask: 1, batchSize: 8, evaluationBatchSize: 8,
                                       optimizer: .sgd, seed: seed, settings: settings.merging(["samples": Double(samples)]) { a, _ in a })
        options.learningRate = 0.1
        let backend = ReferenceBackend()
        let trainer = try ContinualTrainer(backend: backend, sequence: sequence, inputShape: [5],
                                           layers: mlp(hidden: 4, outputUnits: 6), options: options)
        #expect(trainer.network.parameterCount == Self.tiny.parameterCount)
        var tasks: [(anchor: [Double], importance: [Double])] = []
        var generator = SeededGenerator(seed: seed &+ 99)
        for t in 0..<2 {
            // Each task starts from its own random θ, so the anchors θ*_1 and θ*_2 lie far apart
            // (one step per task would leave them nearly equal, and a wrong anchor unnoticed).
            let random = (0..<trainer.network.parameterCount).map { _ in Float(2 * generator.nextDouble() - 1) }
            try backend.upload(random, to: trainer.state.theta)
            try trainer.runNextTask()
            // θ is unchanged by consolidation, so the estimator recomputed now sees what it saw then.
            let (theta, reference, device) = try referenceImportance(trainer, task: t, kind: kind)
            let scale = reference.map(abs).max()!
            #expect(scale > 1e-4, "\(method) task \(t): the importance is all but zero")
            for k in reference.indices {
                #expect(abs(Double(device[k]) - reference[k]) <= 1e-4 * scale, "\(method) task \(t) importance [\(k)]")
            }
            tasks.append((theta, reference))
        }
        // A random θ away from every anchor; one step on the whole split of task 3 (8 examples = one batch).
        let start = tasks[1].anchor.map { $0 + 0.5 * (2 * generator.nextDouble() - 1) }
        try backend.upload(start.map(Float.init), to: trainer.state.theta)
        try trainer.prepare(task: 2)
        _ = try trainer.train(task: 2)
        let after = try backend.download(trainer.state.theta).map(Double.init)

        let live = sequence.units(ofTask: 2)
        var taskGradient = [Double](repeating: 0, count: start.count)
        let n = sequence.tasks[2].train.count
        for i in 0..<n {
            let g = Self.tiny.negativeLogLikelihoodGradient(start, input(sequence, task: 2, i),
                                                           label: Int(sequence.tasks[2].train.labels[i]) + live.lowerBound, live: live)
            for k in g.indices { taskGradient[k] += g[k] / Double(n) }
        }
        let penalty = penaltyGradient(start, tasks)
        let lr = 0.1
        let penaltyStep = penalty.map { lr * abs($0) }.max()!
        var worst = 0.0
        for k in start.indices {
            worst = max(worst, abs(after[k] - (start[k] - lr * (taskGradient[k] + penalty[k]))))
        }
        #expect(worst < 1e-4, "\(method): largest difference from the reference step \(worst)")
        // Without the penalty the step would be off by about penaltyStep: far outside the tolerance.
        #expect(penaltyStep > 100 * 1e-4, "\(method): the penalty's share of the step (\(penaltyStep)) is too small to test")
    }

    @Test("EWC: one step is θ − lr·(g + Σ_t λ·F_t(θ − θ*_t)), F_t and θ*_t of each past task (the combined anchor)")
    func ewc() throws {
        let lambda = 30.0
        try Self.check(.ewc, settings: ["lambda": lambda], importance: "fisher", seed: 301) { theta, tasks in
            PenaltyReference.ewcPenaltyGradient(theta: theta, anchors: tasks.map(\.anchor), fishers: tasks.map(\.importance), lambda: lambda)
        }
    }

    @Test("online EWC: one step is θ − lr·(g + λ·F̃(θ − θ*)), F̃ = γ·F_1 + F_2, θ* the latest θ")
    func onlineEWC() throws {
        let lambda = 30.0, gamma = 0.4
        try Self.check(.onlineEWC, settings: ["lambda": lambda, "gamma": gamma], importance: "fisher", seed: 302) { theta, tasks in
            let running = PenaltyReference.onlineFishers(tasks.map(\.importance), gamma: gamma).last!
            let value = { (t: [Double]) in
                PenaltyReference.onlineEWCPenalty(theta: t, anchor: tasks.last!.anchor, runningFisher: running, lambda: lambda)
            }
            // The gradient of the online penalty, by central differences of its value.
            return theta.indices.map { k in
                var plus = theta, minus = theta
                plus[k] += 1e-5; minus[k] -= 1e-5
                return (value(plus) - value(minus)) / 2e-5
            }
        }
    }

    @Test("MAS: one step is θ − lr·(g + 2λ·ΣΩ_t(θ − θ*)), Ω_t = mean |∂‖f‖²/∂θ|, θ* the latest θ")
    func mas() throws {
        let lambda = 100.0
        try Self.check(.mas, settings: ["lambda": lambda], importance: "mas", seed: 303) { theta, tasks in
            // MAS's penalty λ·Σ_k Ω_k(θ_k − θ*_k)² (docs/methods.md) with Ω the sum of the tasks' importances.
            let omega = theta.indices.map { k in tasks.reduce(0.0) { $0 + $1.importance[k] } }
            return theta.indices.map { k in 2 * lambda * omega[k] * (theta[k] - tasks.last!.anchor[k]) }
        }
    }
}
