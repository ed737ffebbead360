// Divergence is traced to its exact step: each step's loss has its own device slot, read every
// `divergenceCheckInterval` steps and at epoch end. The epoch loss comes from the same slots.

import Foundation
@testable import SynapseContinual
import SynapseData
import SynapseEngine
import SynapseReference
import Testing

@Suite("Divergence and per-step losses")
struct DivergenceTests {
    /// Two multi-head tasks with odd sizes, batch 1 or 2: more steps per epoch than the check
    /// interval, so both the periodic check and the end-of-epoch check are exercised.
    static func problem(seed: UInt64) throws -> TaskSequence {
        let tasks = [
            blobTask(name: "a", seed: seed, classes: 2, dim: 7, trainPerClass: 37, testPerClass: 5, spread: 0.2),
            blobTask(name: "b", seed: seed + 1, classes: 3, dim: 7, trainPerClass: 11, testPerClass: 5, spread: 0.2),
        ]
        return try TaskSequence(tasks: tasks, headMode: .multiHead)
    }

    @Test("a NaN injected before a known step is reported at exactly that step, and the run stops within one check interval")
    func nanAtAKnownStepIsNamed() throws {
        var generator = SeededGenerator(seed: 0xD1FE)
        try forEachTestBackend { backend in
            for _ in 0..<3 {
                let sequence = try Self.problem(seed: UInt64(generator.nextInt(below: 1 << 20)))
                let batch = 1 + generator.nextInt(below: 2)
                let epochs = 2
                let options = ContinualOptions(method: .si, epochsPerTask: epochs, batchSize: batch,
                                               evaluationBatchSize: 7, seed: UInt64(generator.nextInt(below: 1000)))
                let trainer = try ContinualTrainer(backend: backend, sequence: sequence, inputShape: [7],
                                                   layers: mlp(hidden: 9, outputUnits: sequence.outputUnits, dropout: 0.25),
                                                   options: options)
                let stepsPerEpoch = sequence.tasks.map { ($0.train.count + batch - 1) / batch }
                let task = generator.nextInt(below: 2)
                let epoch = generator.nextInt(below: epochs)
                let step = generator.nextInt(below: stepsPerEpoch[task])
                trainer.beforeStepHook = { t, e, i in
                    if (t, e, i) == (task, epoch, step) { try backend.fill(trainer.state.theta, value: .nan) }
                }
                let expectedGlobal = (task == 0 ? 0 : epochs * stepsPerEpoch[0]) + epoch * stepsPerEpoch[task] + step
                do {
                    try trainer.run()
                    Issue.record("\(backend.deviceName): the injected NaN was not detected")
                } catch let error as ContinualError {
                    guard case let .diverged(t, name, e, i, steps, global, loss) = error else {
                        Issue.record("wrong error \(error)"); continue
                    }
                    #expect(t == task && name == sequence.tasks[task].name && e == epoch && i == step,
                            "\(backend.deviceName): injected at task \(task) epoch \(epoch) step \(step), reported \(error)")
                    #expect(steps == stepsPerEpoch[task] && global == expectedGlobal && loss.isNaN)
                    #expect(error.description.contains("task \(task + 1)") && error.description.contains("epoch \(epoch + 1)")
                            && error.description.contains("step \(step + 1) of \(steps)")
                            && error.description.contains("global step \(expectedGlobal + 1)"), "\(error)")
                    // Stopped at the first check after the bad step, not at the end of the epoch.
                    let stepsAfter = trainer.globalStep - 1 - expectedGlobal
                    #expect(stepsAfter >= 0 && stepsAfter < ContinualTrainer.divergenceCheckInterval,
                            "\(stepsAfter) steps ran after the bad one")
                    #expect(trainer.completedTasks == task)
                }
            }
        }
    }

    @Test("the epoch loss is the mean over the epoch's examples of the per-step slots (odd batches, partial last batch)")
    func epochLossIsTheMeanOverExamples() throws {
        var generator = SeededGenerator(seed: 0x1055)
        try forEachTestBackend { backend in
            for batch in [1, 7, 33] {
                let sequence = try Self.problem(seed: UInt64(generator.nextInt(below: 1 << 20)))
                // A learning rate so small that θ does not move in float32 terms: every step then sees
                // the initial θ, and without dropout the epoch loss must equal the mean training loss.
                var options = ContinualOptions(method: .finetune, epochsPerTask: 1, batchSize: batch,
                                               evaluationBatchSize: 5, seed: UInt64(generator.nextInt(below: 1000)))
                options.learningRate = 1e-30
                let trainer = try ContinualTrainer(backend: backend, sequence: sequence, inputShape: [7],
                                                   layers: mlp(hidden: 9, outputUnits: sequence.outputUnits), options: options)
                let before = try trainer.meanLoss(task: 0, split: .train)
                let (losses, _) = try trainer.train(task: 0)
                let n = sequence.tasks[0].train.count
                #expect(losses.count == 1)
                #expect(abs(losses[0] - before) / (1 + abs(before)) <= Tolerance.forReduction(length: n),
                        "\(backend.deviceName), batch \(batch): epoch loss \(losses[0]) vs mean loss \(before)")
            }
        }
    }
}
