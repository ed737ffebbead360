// The method hooks a gradient-projection or replay method needs: the change of the gradient
// between the backward pass and the update, and the batch schedule that composes each minibatch.
// A test-only method (`ProbeMethod`) stands in for fine-tuning and does what each test sets.

import Foundation
@testable import SynapseContinual
import SynapseData
import SynapseEngine
import SynapseReference
import Testing

/// A test-only method: fine-tuning, plus whatever schedule and gradient change a test gives it.
final class ProbeMethod: ContinualMethod {
    static let method = Method.finetune
    static let summary = "test only"
    /// The schedule of (task, epoch); nil: the default (the task alone).
    var compose: ((_ t: Int, _ e: Int, _ trainer: ContinualTrainer) throws -> EpochSchedule)?
    /// Changes the gradient in place; nil: leaves it.
    var change: ((_ gradient: Tensor, _ trainer: ContinualTrainer) throws -> Void)?
    /// How often the gradient hook ran.
    private(set) var gradientCalls = 0

    init(options: NoOptions, trainer: ContinualTrainer) {}
    init() {}

    var penaltyStrength: Float { 0 }

    func schedule(task t: Int, epoch e: Int, trainer: ContinualTrainer) throws -> EpochSchedule {
        try compose?(t, e, trainer) ?? .wholeTasks([t], task: t, epoch: e, trainer: trainer)
    }

    func adjustGradient(task t: Int, batch: TrainingBatch, gradient: Tensor, trainer: ContinualTrainer) throws {
        gradientCalls += 1
        try change?(gradient, trainer)
    }
}

@Suite("Method hooks: the gradient before the update, the batch schedule")
struct MethodHookTests {
    /// Task 1: 2 classes (units 0..<2), task 2: 3 classes (units 2..<5), multi-head, 5 inputs.
    static func sequence() throws -> TaskSequence {
        try TaskSequence(tasks: [
            blobTask(name: "two", seed: 71, classes: 2, dim: 5, trainPerClass: 9, testPerClass: 4, spread: 0.2),
            blobTask(name: "three", seed: 72, classes: 3, dim: 5, trainPerClass: 7, testPerClass: 4, spread: 0.2),
        ], headMode: .multiHead)
    }

    /// A trainer (fine-tuning, no dropout) whose method is `probe`.
    static func trainer(_ probe: ProbeMethod, backend: any Backend, optimizer: Optimizer = .adam, lr: Float = 0.05,
                        epochs: Int = 2, single: Bool = false) throws -> ContinualTrainer {
        var options = ContinualOptions(method: .finetune, epochsPerTask: epochs, batchSize: 5, evaluationBatchSize: 16, seed: 3)
        options.optimizer = optimizer
        options.learningRate = lr
        let sequence = try Self.sequence()
        let layers: [LayerSpec] = single ? [.output(units: sequence.outputUnits)] : mlp(hidden: 6, outputUnits: sequence.outputUnits)
        let trainer = try ContinualTrainer(backend: backend, sequence: sequence, inputShape: [5], layers: layers, options: options)
        trainer.method = probe
        return trainer
    }

    @Test("a gradient hook that zeroes the gradient leaves θ where it started (Adam), once per step; without it θ moves")
    func zeroedGradientFreezesTheta() throws {
        try forEachTestBackend { backend in
            let probe = ProbeMethod()
            probe.change = { gradient, trainer in try trainer.backend.fill(gradient, value: 0) }
            let trainer = try Self.trainer(probe, backend: backend)
            let start = try backend.download(trainer.state.theta)
            try trainer.run()
            let steps = try (0..<2).map { try trainer.epochSize(task: $0).steps }.reduce(0, +) * 2
            #expect(probe.gradientCalls == steps && steps == 2 * (4 + 5), "\(backend.deviceName): \(probe.gradientCalls) calls")
            #expect(try backend.download(trainer.state.theta) == start, "\(backend.deviceName): θ moved")
            // The same run without the change does move θ (so the equality above is the hook's doing).
            let free = try Self.trainer(ProbeMethod(), backend: backend)
            try free.run()
            #expect(try backend.download(free.state.theta) != start)
        }
    }

    @Test("a gradient hook that doubles the gradient at half the SGD learning rate gives fine-tuning's θ bit for bit")
    func doubledGradientAtHalfTheRate() throws {
        try forEachTestBackend { backend in
            let plain = try Self.trainer(ProbeMethod(), backend: backend, optimizer: .sgd, lr: 0.1)
            try plain.run()
            let probe = ProbeMethod()
            var copy: Tensor?
            probe.change = { gradient, trainer in
                // g ← g + g on the device (exact: a power-of-two scaling).
                if copy == nil { copy = Tensor(storage: try trainer.backend.allocate(.float32, count: gradient.count), shape: [gradient.count]) }
                try trainer.backend.copy(gradient, to: copy!)
                try trainer.backend.accumulate(copy!, into: gradient, scale: 1, transform: .identity)
            }
            let doubled = try Self.trainer(probe, backend: backend, optimizer: .sgd, lr: 0.05)
            try doubled.run()
            let theta = try backend.download(plain.state.theta)
            #expect(try backend.download(doubled.state.theta) == theta, "\(backend.deviceName)")
            #expect(doubled.result.trainingLoss == plain.result.trainingLoss, "\(backend.deviceName)")
            // At the same rate the doubled gradient takes other steps.
            let probe2 = ProbeMethod()
            probe2.change = probe.change
            let faster = try Self.trainer(probe2, backend: backend, optimizer: .sgd, lr: 0.1)
            try faster.run()
            #expect(try backend.download(faster.state.theta) != theta, "\(backend.deviceName)")
        }
    }

    /// Task 2's epochs: each minibatch is `fresh` of task 2's rows (shuffled) then `replayed` rows of
    /// task 1 (cycling through its rows in order), as a replay method would compose them.
    static func replaySchedule(fresh: Int, replayed: Int) -> (Int, Int, ContinualTrainer) throws -> EpochSchedule {
        { t, e, trainer in
            guard t == 1 else { return .wholeTasks([t], task: t, epoch: e, trainer: trainer) }
            let new = trainer.trainingRows(ofTask: 1), old = trainer.trainingRows(ofTask: 0)
            let shuffled = EpochSchedule.wholeTasks([1], task: t, epoch: e, trainer: trainer).order
            var order: [Int32] = [], batches: [TrainingBatch] = []
            var start = 0, cursor = 0
            while start < new.count {
                let rows = min(fresh, new.count - start)
                var parts = [BatchPart(source: new, offset: order.count, rows: rows)]
                order += shuffled[start..<(start + rows)]
                parts.append(BatchPart(source: old, offset: order.count, rows: replayed))
                for _ in 0..<replayed { order.append(Int32(cursor % old.count)); cursor += 1 }
                batches.append(TrainingBatch(parts: parts))
                start += rows
            }
            return EpochSchedule(order: order, batches: batches)
        }
    }

    @Test("a replay schedule trains task 2's minibatches on task 2's rows plus task 1's rows, each on its own head")
    func replayScheduleMixesTheTasks() throws {
        try forEachTestBackend { backend in
            // A vanishing rate keeps the zero-initialised heads at zero, so every row's loss is
            // ln(its task's class count): the epoch's mean loss counts the rows of each task.
            let probe = ProbeMethod()
            probe.compose = Self.replaySchedule(fresh: 3, replayed: 2)
            let trainer = try Self.trainer(probe, backend: backend, optimizer: .sgd, lr: 1e-20)
            #expect(try trainer.epochSize(task: 1) == (steps: 7, examples: 21 + 14))
            let result = try trainer.run()
            let (two, three) = (Foundation.log(2.0), Foundation.log(3.0))
            for loss in result.trainingLoss[0] { #expect(abs(loss - two) < 1e-5, "\(backend.deviceName): task 1 \(loss)") }
            for loss in result.trainingLoss[1] {
                #expect(abs(loss - (21 * three + 14 * two) / 35) < 1e-5, "\(backend.deviceName): task 2 \(loss)")
            }
            // The default schedule: task 2 alone.
            let alone = try Self.trainer(ProbeMethod(), backend: backend, optimizer: .sgd, lr: 1e-20).run()
            #expect(abs(alone.trainingLoss[1][0] - three) < 1e-5)
        }
    }

    /// The gradient of one step whose minibatch is `parts(trainer)` (task 1's only epoch), at the
    /// initial θ, read in the gradient hook.
    static func gradient(of parts: @escaping (ContinualTrainer) -> (order: [Int32], parts: [(task: Int, offset: Int, rows: Int)]),
                         backend: any Backend) throws -> [Float] {
        let probe = ProbeMethod()
        var seen: [Float] = []
        probe.compose = { _, _, trainer in
            let (order, layout) = parts(trainer)
            return EpochSchedule(order: order, batches: [TrainingBatch(parts: layout.map {
                BatchPart(source: trainer.trainingRows(ofTask: $0.task), offset: $0.offset, rows: $0.rows)
            })])
        }
        probe.change = { gradient, trainer in seen = try trainer.backend.download(gradient) }
        let trainer = try Self.trainer(probe, backend: backend, epochs: 1, single: true)
        _ = try trainer.train(task: 0)
        return seen
    }

    @Test("a minibatch of two parts has the gradient of the mean over all its rows, each part on its own head")
    func twoPartGradientIsTheRowWeightedMean() throws {
        try forEachTestBackend { backend in
            // Rows 0, 3, 4 of task 1 and rows 2, 5 of task 2 (one output layer: its gradient is nonzero
            // on each task's own units only).
            let a: [Int32] = [0, 3, 4], b: [Int32] = [2, 5]
            let mixed = try Self.gradient(of: { _ in (a + b, [(0, 0, 3), (1, 3, 2)]) }, backend: backend)
            let first = try Self.gradient(of: { _ in (a, [(0, 0, 3)]) }, backend: backend)
            let second = try Self.gradient(of: { _ in (b, [(1, 0, 2)]) }, backend: backend)
            #expect(mixed.count == first.count && mixed.contains { $0 != 0 })
            for i in mixed.indices {
                let expected = 0.6 * Double(first[i]) + 0.4 * Double(second[i])
                #expect(abs(Double(mixed[i]) - expected) <= 1e-6 + 1e-5 * abs(expected), "\(backend.deviceName): parameter \(i)")
            }
            // Both heads are trained: task 1's units by the first part, task 2's by the second.
            #expect(first.contains { $0 != 0 } && second.contains { $0 != 0 } && zip(first, second).contains { $0 != 0 && $1 == 0 })
        }
    }

    @Test("a schedule that reads outside its source is refused before any step")
    func outOfRangeRowsAreRefused() throws {
        let probe = ProbeMethod()
        probe.compose = { _, _, trainer in
            EpochSchedule(order: [0, 99], batches: [TrainingBatch(parts: [BatchPart(source: trainer.trainingRows(ofTask: 0), offset: 0, rows: 2)])])
        }
        let trainer = try Self.trainer(probe, backend: ReferenceBackend())
        #expect(throws: ContinualError.self) { try trainer.run() }
        #expect(trainer.globalStep == 0 && probe.gradientCalls == 0)
    }
}
