// The trainer: every method runs and labels both accuracies; runs are reproducible and resumable;
// bad input and divergence are clear errors.

import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine
import SynapseReference
import Testing

/// Three easy two-class tasks (multi-head) and a network with dropout.
func threeTaskProblem() throws -> TaskSequence {
    let tasks = (0..<3).map { blobTask(name: "t\($0)", seed: 60 + UInt64($0), classes: 2, dim: 7, trainPerClass: 21, testPerClass: 9, spread: 0.15) }
    return try TaskSequence(tasks: tasks, headMode: .multiHead)
}

/// `adamVariant`: `.standard` unless a test asks otherwise, the Adam these tests (and the
/// bit-identity fixture, recorded before `.keras` became the protocols' default) were written for.
func trainer(_ method: Method, _ sequence: TaskSequence, backend: any Backend = ReferenceBackend(),
             seed: UInt64 = 1, adamVariant: AdamVariant = .standard) throws -> ContinualTrainer {
    var options = ContinualOptions(method: method, epochsPerTask: 12, batchSize: 10, evaluationBatchSize: 7,
                                   adamVariant: adamVariant, seed: seed,
                                   settings: ["c": 0.5, "xi": 1e-3, "lambda": 10, "gamma": 0.9, "samples": 9])
    options.learningRate = 1e-2
    return try ContinualTrainer(backend: backend, sequence: sequence, inputShape: [7],
                                layers: mlp(hidden: 13, outputUnits: sequence.outputUnits, dropout: 0.25), options: options)
}

@Suite("Continual trainer")
struct TrainerTests {
    @Test("every method trains each task well and reports labelled task- and class-incremental matrices",
          arguments: Method.allCases)
    func everyMethodTrains(method: Method) throws {
        let sequence = try threeTaskProblem()
        let result = try trainer(method, sequence).run()
        #expect(result.completedTasks == 3)
        #expect(result.taskIncrementalAccuracy.count == 3 && result.taskIncrementalAccuracy.allSatisfy { $0.count == 3 })
        for i in 0..<3 {
            #expect(result.taskIncrementalAccuracy[i][i] >= 0.8, "\(method): R[\(i)][\(i)] = \(result.taskIncrementalAccuracy[i][i])")
            for j in 0..<3 {
                let cls = result.classIncrementalAccuracy[i][j]
                #expect((cls == nil) == (j > i), "class-incremental is defined exactly for seen tasks")
                if let cls { #expect(cls <= result.taskIncrementalAccuracy[i][j] + 1e-12, "more candidate units cannot help") }
            }
        }
        #expect(result.trainingLoss.count == 3 && result.trainingLoss.allSatisfy { $0.count == 12 && $0.allSatisfy(\.isFinite) })
        #expect(result.trainingLoss[0].last! < result.trainingLoss[0].first!, "\(method): the loss falls during task 1")
        #expect(result.wallSeconds.count == 3 && result.peakDeviceBytes.allSatisfy { $0 > 0 })
        #expect(result.peakResidentBytes.allSatisfy { $0 > 0 }, "VmHWM is read on Linux")
        #expect(result.taskIncremental.averageAccuracy != nil && result.taskIncremental.forgetting.count == 2)
    }

    @Test("single-head mode: class- and task-incremental accuracies are the same")
    func singleHeadAccuraciesAgree() throws {
        let tasks = (0..<2).map { blobTask(name: "p\($0)", seed: 70 + UInt64($0), classes: 3, dim: 7, trainPerClass: 11, testPerClass: 7, spread: 0.2) }
        let sequence = try TaskSequence(tasks: tasks, headMode: .singleHead)
        #expect(sequence.outputUnits == 3 && sequence.unitStarts == [0, 0])
        let result = try trainer(.si, sequence).run()
        #expect(result.classIncrementalAccuracy == result.taskIncrementalAccuracy.map { $0.map { Optional($0) } })
    }

    @Test("the same seed on the same device gives identical results; another seed does not")
    func sameSeedIdenticalResults() throws {
        let sequence = try threeTaskProblem()
        try forEachTestBackend { backend in
            let first = try trainer(.si, sequence, backend: backend).run()
            let second = try trainer(.si, sequence, backend: backend).run()
            #expect(first.taskIncrementalAccuracy == second.taskIncrementalAccuracy, "\(backend.deviceName)")
            #expect(first.classIncrementalAccuracy == second.classIncrementalAccuracy, "\(backend.deviceName)")
            #expect(first.trainingLoss == second.trainingLoss, "\(backend.deviceName)")
            let other = try trainer(.si, sequence, backend: backend, seed: 2).run()
            #expect(other.trainingLoss != first.trainingLoss, "the seed must matter")
        }
    }

    @Test("a run resumed from a saved state (through JSON) continues exactly", arguments: [Method.si, .ewc, .onlineEWC, .mas, .joint, .scratch])
    func resumeContinuesExactly(method: Method) throws {
        let sequence = try threeTaskProblem()
        let whole = try trainer(method, sequence).run()
        let first = try trainer(method, sequence)
        try first.runNextTask()
        try first.runNextTask()
        let json = try JSONEncoder().encode(try first.captureState())
        let resumed = try trainer(method, sequence)
        try resumed.restore(try JSONDecoder().decode(TrainerState.self, from: json))
        #expect(resumed.completedTasks == 2)
        let continued = try resumed.run()
        #expect(continued.taskIncrementalAccuracy == whole.taskIncrementalAccuracy, "\(method)")
        #expect(continued.trainingLoss == whole.trainingLoss, "\(method)")
        #expect(try resumed.backend.download(resumed.state.theta) == (try first.run(), try first.backend.download(first.state.theta)).1)
    }

    @Test("evaluating only seen tasks: row i holds tasks 0...i with the full evaluation's values; summaries agree; resumes exactly")
    func evaluatingSeenTasksOnly() throws {
        let sequence = try threeTaskProblem()
        let full = try trainer(.si, sequence).run()
        func seenOnly() throws -> ContinualTrainer {
            let t = try trainer(.si, sequence)
            var options = t.options
            options.evaluatedTasks = .seen
            return try ContinualTrainer(backend: ReferenceBackend(), sequence: sequence, inputShape: [7],
                                        layers: mlp(hidden: 13, outputUnits: sequence.outputUnits, dropout: 0.25), options: options)
        }
        let seen = try seenOnly().run()
        #expect(seen.taskIncrementalAccuracy.map(\.count) == [1, 2, 3], "row i holds the tasks trained so far")
        #expect(seen.classIncrementalAccuracy.map(\.count) == [1, 2, 3])
        for i in 0..<3 {
            #expect(seen.taskIncrementalAccuracy[i] == Array(full.taskIncrementalAccuracy[i][0...i]), "row \(i)")
            #expect(seen.classIncrementalAccuracy[i] == Array(full.classIncrementalAccuracy[i][0...i]), "row \(i)")
        }
        #expect(full.taskIncrementalAccuracy.allSatisfy { $0.count == 3 }, "the default evaluates every task")
        #expect(seen.trainingLoss == full.trainingLoss, "evaluation does not touch training")
        #expect(seen.taskIncremental.averageAccuracy == full.taskIncremental.averageAccuracy)
        #expect(seen.taskIncremental.backwardTransfer == full.taskIncremental.backwardTransfer)
        #expect(seen.taskIncremental.forgetting.count == 2)
        // Resumed through JSON (the saved rows are checked against the option), it continues exactly.
        let first = try seenOnly()
        try first.runNextTask()
        let json = try JSONEncoder().encode(try first.captureState())
        let resumed = try seenOnly()
        try resumed.restore(try JSONDecoder().decode(TrainerState.self, from: json))
        #expect(try resumed.run().taskIncrementalAccuracy == seen.taskIncrementalAccuracy)
        // A state saved with full rows does not pass as a seen-only one (the options differ), nor
        // would a seen-only row pass under full evaluation.
        let fullState = try trainer(.si, sequence)
        try fullState.runNextTask()
        #expect(throws: ContinualError.self) { try seenOnly().restore(try fullState.captureState()) }
        var padded = try first.captureState()
        padded.result.taskIncrementalAccuracy[0] += [0.5, 0.5]
        #expect(throws: ContinualError.self) { try seenOnly().restore(padded) }
    }

    @Test("a state from other options is refused with a clear error")
    func restoreRefusesOtherOptions() throws {
        let sequence = try threeTaskProblem()
        let saved = try trainer(.si, sequence).captureState()
        #expect(throws: ContinualError.self) { try trainer(.ewc, sequence).restore(saved) }
    }

    @Test("a diverging run throws an error naming the task, epoch and a step consistent with the global step")
    func divergenceIsReported() throws {
        let sequence = try threeTaskProblem()
        var options = ContinualOptions(method: .si, epochsPerTask: 3, batchSize: 10, seed: 1)
        options.learningRate = 1e38
        let diverging = try ContinualTrainer(backend: ReferenceBackend(), sequence: sequence, inputShape: [7],
                                             layers: mlp(hidden: 13, outputUnits: 6), options: options)
        do {
            try diverging.run()
            Issue.record("expected divergence")
        } catch let error as ContinualError {
            guard case let .diverged(task, name, epoch, step, steps, globalStep, loss) = error else {
                Issue.record("wrong error \(error)"); return
            }
            // Task 1 has 42 examples: 5 steps of ≤ 10 per epoch.
            #expect(task == 0 && name == "t0" && epoch <= 2 && steps == 5 && step < steps && !loss.isFinite)
            #expect(globalStep == epoch * steps + step)
            #expect(error.description.contains("task 1") && error.description.contains("epoch \(epoch + 1)")
                    && error.description.contains("step \(step + 1) of 5"), "\(error)")
        }
    }

    @Test("bad input is refused with errors naming what is wrong")
    func badInputErrors() throws {
        #expect(throws: ContinualError.self) { try Method(name: "sgd") }
        #expect(try Method(name: "online-ewc") == .onlineEWC)
        var bad = blobTask(name: "bad", seed: 1, classes: 2, dim: 3, trainPerClass: 2, testPerClass: 2, spread: 0.1)
        bad.train.labels[1] = 2
        do {
            _ = try TaskSequence(tasks: [bad], headMode: .multiHead)
            Issue.record("label 2 of a 2-class task was accepted")
        } catch let error as ContinualError {
            #expect(error.description.contains("label 2") && error.description.contains("0..<2"))
        }
        let sequence = try threeTaskProblem()
        #expect(throws: ContinualError.self) {
            try ContinualTrainer(backend: ReferenceBackend(), sequence: sequence, inputShape: [7],
                                 layers: mlp(hidden: 4, outputUnits: 5), options: ContinualOptions())
        }
        #expect(throws: ContinualError.self) {
            try ContinualTrainer(backend: ReferenceBackend(), sequence: sequence, inputShape: [7],
                                 layers: mlp(hidden: 4, outputUnits: 6), options: ContinualOptions(settings: ["xi": 0]))
        }
    }
}
