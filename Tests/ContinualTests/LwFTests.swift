// Learning without Forgetting: it keeps the first task clearly better than fine-tuning does on a
// problem where fine-tuning forgets, and its distillation is what does it.

import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine
import SynapseReference
import Testing

/// Two multi-head tasks on the SAME images: four Gaussian blobs; task 1 tells blobs {0, 1} from
/// {2, 3}, task 2 tells {0, 2} from {1, 3}. The hidden layer is small, so training task 2 alone
/// repurposes it and task 1's (frozen) head loses its features: fine-tuning forgets. LwF's
/// distillation on task 2's inputs (which are task 1's inputs) holds task 1's outputs.
func forgettingProblem() throws -> TaskSequence {
    let blobs = blobTask(name: "blobs", seed: 91, classes: 4, dim: 6, trainPerClass: 25, testPerClass: 25,
                         spread: 0.12)
    func relabel(_ name: String, _ label: @escaping (Int32) -> Int32) -> ContinualTask {
        var task = blobs
        task.name = name
        task.classNames = ["a", "b"]
        task.train.labels = task.train.labels.map(label)
        task.test.labels = task.test.labels.map(label)
        return task
    }
    return try TaskSequence(tasks: [relabel("halves", { $0 / 2 }), relabel("parity", { $0 % 2 })], headMode: .multiHead)
}

func forgettingRun(_ method: Method, backend: any Backend, settings: [String: Double] = [:]) throws -> ContinualResult {
    var options = ContinualOptions(method: method, epochsPerTask: 40, batchSize: 16, evaluationBatchSize: 64, seed: 5,
                                   settings: settings)
    options.learningRate = 2e-2
    return try ContinualTrainer(backend: backend, sequence: try forgettingProblem(), inputShape: [6],
                                layers: [.dense(units: 4, relu: true), .output(units: 4)], options: options).run()
}

@Suite("Learning without Forgetting")
struct LwFTests {
    @Test("LwF keeps task 1 clearly above fine-tuning after task 2, on every test backend")
    func keepsTheFirstTask() throws {
        try forEachTestBackend { backend in
            let finetune = try forgettingRun(.finetune, backend: backend)
            let lwf = try forgettingRun(.lwf, backend: backend, settings: ["lambda": 1, "temperature": 2])
            // Measured (reference and PoCL): task 1 learned to 0.84; after task 2 fine-tuning is at
            // chance (0.50) on it, LwF still at 0.84.
            #expect(finetune.taskIncrementalAccuracy[0][0] >= 0.8, "\(backend.deviceName): task 1 is learned first")
            #expect(lwf.taskIncrementalAccuracy[1][1] >= 0.7, "\(backend.deviceName): LwF still learns task 2")
            #expect(lwf.taskIncrementalAccuracy[1][0] >= finetune.taskIncrementalAccuracy[1][0] + 0.2,
                    "\(backend.deviceName): task 1 after task 2: LwF \(lwf.taskIncrementalAccuracy[1][0]), fine-tuning \(finetune.taskIncrementalAccuracy[1][0])")
        }
    }

    @Test("with λ = 0 LwF is fine-tuning bit for bit, so the gap above comes from the distillation alone")
    func zeroWeightIsFineTuning() throws {
        let backend = ReferenceBackend()
        let finetune = try forgettingRun(.finetune, backend: backend)
        let silent = try forgettingRun(.lwf, backend: backend, settings: ["lambda": 0])
        #expect(silent.taskIncrementalAccuracy == finetune.taskIncrementalAccuracy)
        #expect(silent.trainingLoss == finetune.trainingLoss)
        let active = try forgettingRun(.lwf, backend: backend)
        #expect(active.trainingLoss[1] != finetune.trainingLoss[1], "the default λ changes training")
    }

    @Test("an LwF run resumed after a task (through JSON) continues exactly: the outputs are recorded again from the restored θ")
    func resumeContinuesExactly() throws {
        let sequence = try threeTaskProblem()
        let whole = try trainer(.lwf, sequence).run()
        let first = try trainer(.lwf, sequence)
        try first.runNextTask()
        let json = try JSONEncoder().encode(try first.captureState())
        let resumed = try trainer(.lwf, sequence)
        try resumed.restore(try JSONDecoder().decode(TrainerState.self, from: json))
        let continued = try resumed.run()
        #expect(continued.taskIncrementalAccuracy == whole.taskIncrementalAccuracy)
        #expect(continued.trainingLoss == whole.trainingLoss)
    }

    @Test("LwF's options are declared once: flags, defaults, validation")
    func options() throws {
        var options = ContinualOptions(method: .lwf)
        #expect(options.hyperParameter("lambda") == 1 && options.hyperParameter("temperature") == 2)
        #expect(throws: ContinualError.self) { try options.setIfDeclared("temperature", 0) }
        #expect(try options.setIfDeclared("temperature", 3.5) && options.hyperParameter("temperature") == 3.5)
        #expect(ContinualOptions(method: .ewc).hyperParameter("temperature") == nil)
        let json = try JSONEncoder().encode(options)
        #expect(try JSONDecoder().decode(ContinualOptions.self, from: json) == options)
    }
}
