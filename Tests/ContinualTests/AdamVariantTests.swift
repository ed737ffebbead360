// The two Adam formulations: `.standard` (Kingma & Ba; docs/algorithm.md) and `.keras` (the authors' code:
// ε added to √v, and a task-boundary reset that zeroes m and v but keeps the step count t).

import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine
import SynapseReference
import Testing

@Suite("Adam variants")
struct AdamVariantTests {
    /// Keras 2.0 Adam for one parameter, in Double: returns Δθ and the new m, v.
    static func kerasStep(g: Double, m: Double, v: Double, t: Int, lr: Double, b1: Double, b2: Double,
                          eps: Double) -> (delta: Double, m: Double, v: Double) {
        let m1 = b1 * m + (1 - b1) * g
        let v1 = b2 * v + (1 - b2) * g * g
        let lrT = lr * (1 - pow(b2, Double(t))).squareRoot() / (1 - pow(b1, Double(t)))
        return (-lrT * m1 / (v1.squareRoot() + eps), m1, v1)
    }

    @Test("the keras variant's hyper-parameters make the fused update equal Keras' Adam formula (and the standard ones do not)",
          arguments: [1, 7, 33, 257])
    func kerasHyperMatchesKerasFormula(t: Int) throws {
        // Gradients of the same scale as ε, where the placement of ε matters.
        let count = 33
        var generator = SeededGenerator(seed: UInt64(t))
        func draw(_ scale: Double) -> [Float] { (0..<count).map { _ in Float(scale * (2 * generator.nextDouble() - 1)) } }
        let gTask = draw(1e-3), theta = draw(1), m = draw(1e-3)
        let v = draw(1e-6).map { abs($0) }
        var options = ContinualOptions(epsilon: 1e-3, adamVariant: .keras, settings: ["c": 0])
        options.learningRate = 1e-2
        let expected = (0..<count).map { k -> Float in
            let step = Self.kerasStep(g: Double(gTask[k]), m: Double(m[k]), v: Double(v[k]), t: t,
                                      lr: Double(options.learningRate), b1: Double(options.beta1),
                                      b2: Double(options.beta2), eps: Double(options.epsilon))
            return Float(Double(theta[k]) + step.delta)
        }
        func run(_ hyper: AdamHyper) throws -> [Float] {
            let backend = ReferenceBackend()
            func tensor(_ values: [Float]) throws -> Tensor {
                let view = Tensor(storage: try backend.allocate(.float32, count: count), shape: [count])
                try backend.upload(values, to: view)
                return view
            }
            let state = ParameterState(theta: try tensor(theta), anchor: try tensor(theta), bigOmega: try tensor(draw(0)),
                                       smallOmega: try tensor(draw(0)), m: try tensor(m), v: try tensor(v))
            try backend.fusedSIUpdate(state, taskGradient: try tensor(gTask), strength: 0, hyper: hyper, step: t)
            return try backend.download(state.theta)
        }
        // θ values are O(1) and the steps O(lr): compare the steps themselves, relative to lr.
        func stepError(_ actual: [Float]) -> Double {
            zip(actual, expected).map { abs(Double($0) - Double($1)) }.max()! / Double(options.learningRate)
        }
        let tolerance = Tolerance.forReduction(length: 1) * 1e2   // θ rounding (ε·|θ| ≈ 1.2e-7) over lr 1e-2
        #expect(stepError(try run(options.adam(atStep: t))) <= tolerance)
        #expect(stepError(try run(options.adam)) > 10 * tolerance, "ε placement must make a visible difference here")
        options.adamVariant = .standard
        #expect(options.adam(atStep: t) == options.adam)
    }

    /// Two small multi-head tasks, one hidden layer.
    static func trainer(_ method: Method, variant: AdamVariant, epochs: Int, batch: Int,
                        epsilon: Float = 1e-8) throws -> ContinualTrainer {
        let tasks = (0..<2).map { blobTask(name: "a\($0)", seed: 90 + UInt64($0), classes: 2, dim: 7, trainPerClass: 17, testPerClass: 5, spread: 0.2) }
        let sequence = try TaskSequence(tasks: tasks, headMode: .multiHead)
        let options = ContinualOptions(method: method, epochsPerTask: epochs, batchSize: batch, evaluationBatchSize: 9,
                                       epsilon: epsilon, resetOptimizerAtTaskBoundary: true, adamVariant: variant, seed: 5)
        return try ContinualTrainer(backend: ReferenceBackend(), sequence: sequence, inputShape: [7],
                                    layers: mlp(hidden: 11, outputUnits: sequence.outputUnits), options: options)
    }

    @Test("a task-boundary reset zeroes m and v in both variants; it clears t only in standard; scratch always starts at t = 0",
          arguments: AdamVariant.allCases)
    func resetKeepsStepOnlyInKeras(variant: AdamVariant) throws {
        let trainer = try Self.trainer(.si, variant: variant, epochs: 3, batch: 5)
        try trainer.runNextTask()
        let stepsPerTask = 3 * ((34 + 4) / 5)   // 34 examples in batches of 5, the partial one kept
        #expect(trainer.globalStep == stepsPerTask)
        #expect(trainer.adamStep == (variant == .keras ? stepsPerTask : 0))
        let backend = trainer.backend
        #expect(try backend.download(trainer.state.m).allSatisfy { $0 == 0 })
        #expect(try backend.download(trainer.state.v).allSatisfy { $0 == 0 })

        let scratch = try Self.trainer(.scratch, variant: variant, epochs: 2, batch: 5)
        try scratch.runNextTask()
        try scratch.prepare(task: 1)
        #expect(scratch.adamStep == 0)
    }

    @Test("the trainer's first step under the keras variant is Keras' Adam step from m = v = 0 at t = 1")
    func trainerUsesKerasHyper() throws {
        // One epoch in one batch: exactly one update, whose task gradient stays in `network.gradients`.
        // ε = 0.01 is far above the default so that ε/√(1−β2) ≈ 0.32 is comparable with the gradients.
        let trainer = try Self.trainer(.finetune, variant: .keras, epochs: 1, batch: 64, epsilon: 1e-2)
        let before = try trainer.backend.download(trainer.state.theta)
        _ = try trainer.train(task: 0)
        let after = try trainer.backend.download(trainer.state.theta)
        let gradient = try trainer.backend.download(trainer.network.gradients)
        let o = trainer.options
        let lr = Double(o.learningRate)
        var worst = 0.0, worstStandard = 0.0
        for k in 0..<before.count {
            let g = Double(gradient[k])
            let step = Self.kerasStep(g: g, m: 0, v: 0, t: 1, lr: lr, b1: Double(o.beta1),
                                      b2: Double(o.beta2), eps: Double(o.epsilon))
            // Standard Adam at t = 1 from zero moments: −lr·g/(|g| + ε).
            let standard = -lr * g / (abs(g) + Double(o.epsilon))
            worst = max(worst, abs(Double(after[k]) - (Double(before[k]) + step.delta)) / lr)
            worstStandard = max(worstStandard, abs(Double(after[k]) - (Double(before[k]) + standard)) / lr)
        }
        // θ is O(1) and rounds to ≈ 1.2e-7 absolute; relative to lr = 1e-3 that is ≈ 1e-4.
        let tolerance = Tolerance.forReduction(length: 1) * 1e3
        #expect(trainer.adamStep == 1)
        #expect(worst <= tolerance, "worst step error relative to lr: \(worst)")
        #expect(worstStandard > 10 * tolerance, "the standard formula would not match: \(worstStandard)")
    }
}
