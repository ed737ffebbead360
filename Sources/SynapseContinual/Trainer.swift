// The task trainer: for each task, N epochs of shuffled minibatches, then the method's
// consolidation, then evaluation of every task on its test split. Written once against
// `any Backend`; a training step only enqueues ops. Each step's summed loss goes to its own
// device slot; the slots are read every `divergenceCheckInterval` steps and at epoch end.

import Foundation
import SynapseData
import SynapseEngine

/// Reported after every epoch (for the command-line tools).
public struct TrainingProgress: Sendable {
    /// Task index, 0-based, and the number of tasks.
    public var task: Int
    public var taskCount: Int
    /// Epoch index within the task, 0-based, and epochs per task.
    public var epoch: Int
    public var epochCount: Int
    /// Mean unregularised training loss of this epoch (nats per example).
    public var loss: Double
    /// Mean task-incremental accuracy over the tasks trained so far, from the last evaluation
    /// (nil before the first task is finished).
    public var averageAccuracy: Double?
    /// Training images per second in this epoch.
    public var imagesPerSecond: Double
}

/// Trains a `TaskSequence` with one method on one backend: the loop and the evaluation. What the
/// method adds (penalty strength, extra loss, change of the gradient, work before and after each
/// task, what each epoch's minibatches hold, extra checkpoint arrays, per-task recordings) comes
/// from its `ContinualMethod` (Methods/).
///
/// Each epoch runs the minibatches of the method's `EpochSchedule` in order. Every part of a
/// minibatch uses its own task's live units, so every example keeps its own head (multi-head)
/// whichever minibatch it is in.
public final class ContinualTrainer {
    /// The device every op runs on.
    public let backend: any Backend
    /// The tasks, in training order.
    public let sequence: TaskSequence
    /// The run's options (the method's own included).
    public let options: ContinualOptions
    /// The network (the protocol's architecture), on `backend`.
    public let network: Network
    /// θ (the network's parameters), θ*, Ω, ω, Adam m and v.
    public let state: ParameterState
    /// Everything measured so far (rows for the finished tasks).
    public internal(set) var result: ContinualResult
    /// Training steps taken in the whole run (keys the dropout masks).
    public internal(set) var globalStep = 0
    /// Adam's step count t since the last reset (the next update uses t + 1).
    public internal(set) var adamStep = 0
    /// The method being trained (made from `options.methodOptions`; tests may put in a method of
    /// their own, through `@testable import`).
    public internal(set) var method: (any ContinualMethod)!

    /// Tasks finished (trained, consolidated, evaluated).
    public var completedTasks: Int { result.completedTasks }

    /// Data-parallel training over the ranks of a communicator (nil or one rank: this process
    /// trains alone). Every rank builds the same trainer and runs the same calls; each computes
    /// its slice of every minibatch (`BatchShare.slice`) and of every test split, the gradients
    /// and counts are summed over the ranks, and every rank applies the identical update, so all
    /// hold the same θ, θ*, Ω, ω and Adam state (checked by digest after every task).
    public var dataParallel: (any Communicator)? {
        didSet {
            trainingStep.reducer = dataParallel.map { $0.size > 1 ? AllreduceGradients(communicator: $0) : nil } ?? nil
        }
    }
    /// The ranks taking part (1 when training alone).
    var ranks: (rank: Int, size: Int) { dataParallel.map { ($0.rank, $0.size) } ?? (0, 1) }

    let data: DeviceTasks
    let maxBatch: Int
    /// int32: the current epoch's index array (`EpochSchedule.order`), grown to the longest epoch so far.
    private var batchIndices: Tensor?
    /// int32: 0, 1, 2, ... (evaluation reads the splits in order).
    let identityIndices: Tensor
    /// The training step (public so that a benchmark can time exactly this step).
    public let trainingStep: TrainingStep
    /// Scratch shared with the training step (evaluation, importances and `meanLoss` reuse it).
    var labels: Tensor { trainingStep.labels }
    var losses: Tensor { trainingStep.losses }
    var dLogits: Tensor { trainingStep.dLogits }
    let lossSum: Tensor
    /// float32 [2 × the most steps of any epoch so far]: element 2i holds the summed loss of step i of
    /// the current epoch (nats), so a non-finite loss can be traced to its exact step; element
    /// 2i + 1 holds the `stateHealth` flags taken after step i at every loss read (0 elsewhere),
    /// so one download brings both.
    private var stepLosses: Tensor?

    /// Steps between two reads of the loss slots. Each read is a small blocking download that
    /// drains the device queue, so the device idles while the host enqueues the next step: a
    /// smaller interval stops a diverged run sooner (at most interval − 1 wasted steps) but costs
    /// more stalls; 32 keeps the stalls to about 3% of a small step's enqueue time and stops
    /// within one short stretch of an epoch.
    static let divergenceCheckInterval = 32
    /// float32 [2·tasks]: correct counts, task-incremental then class-incremental for each task.
    let counters: Tensor

    /// Builds the network (`layers` must end in `.output(units: sequence.outputUnits)`), uploads
    /// every task's data once and sets θ* ← θ, ω ← 0, Ω ← 0.
    public init(backend: any Backend, sequence: TaskSequence, inputShape: [Int], layers: [LayerSpec],
                options: ContinualOptions) throws {
        try options.validate()
        let inputSize = inputShape.reduce(1, *)
        guard inputSize == sequence.imageSize else {
            throw ContinualError.mismatch("network input \(inputShape) has \(inputSize) values but the task images have \(sequence.imageSize)")
        }
        guard case .output(let units)? = layers.last else {
            throw ContinualError.mismatch("the last layer must be .output(units:) (the zero-initialised heads), found \(layers.last.map { "\($0)" } ?? "no layers")")
        }
        guard units == sequence.outputUnits else {
            throw ContinualError.mismatch("the output layer has \(units) units but the \(sequence.headMode.rawValue) task sequence needs \(sequence.outputUnits)")
        }
        self.backend = backend
        self.sequence = sequence
        self.options = options
        maxBatch = max(options.batchSize, options.evaluationBatchSize)
        // The authors' heads: zero weights when each task owns its units (multi-head); one shared
        // head (single-head) is an ordinary Keras Dense layer, Glorot-uniform.
        network = try Network(backend: backend, inputShape: inputShape, layers: layers, maxBatch: maxBatch,
                              seed: CounterRandom(seed: options.seed, purpose: .initialization, task: 0, epoch: 0).derivedSeed,
                              outputInitialization: Self.outputInitialization(sequence.headMode))
        network.dropoutSeed = CounterRandom(seed: options.seed, purpose: .dropout, task: 0, epoch: 0).derivedSeed

        func floats(_ count: Int) throws -> Tensor {
            Tensor(storage: try backend.allocate(.float32, count: max(count, 1)), shape: [count])
        }
        func ints(_ count: Int) throws -> Tensor {
            Tensor(storage: try backend.allocate(.int32, count: max(count, 1)), shape: [count])
        }
        let p = network.parameterCount
        state = ParameterState(theta: network.parameters, anchor: try floats(p), bigOmega: try floats(p),
                               smallOmega: try floats(p), m: try floats(p), v: try floats(p))
        try backend.copy(state.theta, to: state.anchor)

        data = try DeviceTasks(backend: backend, sequence: sequence)
        let longest = sequence.tasks.map { max($0.train.count, $0.test.count) }.max()!
        identityIndices = try ints(longest)
        try backend.upload((0..<longest).map { Int32($0) }, to: identityIndices)
        trainingStep = try TrainingStep(network: network, state: state)
        lossSum = try floats(1)
        counters = try floats(2 * sequence.count)
        result = ContinualResult(options: options, headMode: sequence.headMode, device: backend.deviceName,
                                 taskNames: sequence.tasks.map(\.name))
        method = try options.method.implementation.make(options.methodOptions, trainer: self)
    }

    // MARK: The run

    /// How the output layer starts for `headMode`: `.zero` multi-head, `.glorotUniform` single-head.
    public static func outputInitialization(_ headMode: HeadMode) -> OutputInitialization {
        headMode == .singleHead ? .glorotUniform : .zero
    }

    /// Runs every remaining task (all of them, or those after a restored state) and returns the result.
    @discardableResult
    public func run(progress: ((TrainingProgress) -> Void)? = nil) throws -> ContinualResult {
        while completedTasks < sequence.count {
            try runNextTask(progress: progress)
        }
        return result
    }

    /// Trains, consolidates and evaluates the next task; appends its row to `result`.
    public func runNextTask(progress: ((TrainingProgress) -> Void)? = nil) throws {
        let t = completedTasks
        guard t < sequence.count else {
            throw ContinualError.invalidOption("all \(sequence.count) tasks are already trained")
        }
        let clock = ContinuousClock()
        let start = clock.now
        try prepare(task: t)
        let (epochLosses, imagesPerSecond) = try train(task: t, progress: progress)
        try consolidate(afterTask: t)
        let accuracy = try evaluate(afterTask: t)
        try checkRanksAgree(afterTask: t)
        result.taskIncrementalAccuracy.append(accuracy.taskIncremental)
        result.classIncrementalAccuracy.append(accuracy.classIncremental)
        result.trainingLoss.append(epochLosses)
        result.imagesPerSecond.append(imagesPerSecond)
        result.wallSeconds.append(seconds(clock.now - start))
        result.peakDeviceBytes.append(backend.peakAllocatedBytes)
        result.peakResidentBytes.append(processPeakResidentBytes() ?? 0)
        result.completedTasks = t + 1
        result.summarise()
    }

    /// Before task t: the method's preparation (e.g. `scratch`: a fresh network and optimizer).
    public func prepare(task t: Int) throws {
        try method.prepare(task: t, trainer: self)
    }

    // MARK: Training

    /// Task t's training split as a source of minibatch rows (its images, labels and live units).
    public func trainingRows(ofTask t: Int) -> RowSource {
        let split = data.train[t]
        return RowSource(images: split.pixels, labels: split.labels, count: split.count, task: t,
                         liveUnits: sequence.units(ofTask: t), origin: .trainingSplit)
    }

    /// The method's schedule of epoch `e` of task `t`, checked: every minibatch holds
    /// 1...`maxBatch` rows in parts of at least one row, and every index a part reads lies in the
    /// index array and inside its source.
    /// - Throws: `ContinualError.mismatch` naming the first minibatch that does not fit.
    func epochSchedule(task t: Int, epoch e: Int) throws -> EpochSchedule {
        let schedule = try method.schedule(task: t, epoch: e, trainer: self)
        guard !schedule.batches.isEmpty else {
            throw ContinualError.mismatch("the \(options.method.rawValue) schedule of task \(t + 1), epoch \(e + 1) has no minibatches")
        }
        for (i, batch) in schedule.batches.enumerated() {
            func misfit(_ what: String) -> ContinualError {
                .mismatch("the \(options.method.rawValue) schedule of task \(t + 1), epoch \(e + 1): minibatch \(i + 1) \(what)")
            }
            guard !batch.parts.isEmpty, batch.rows <= maxBatch else { throw misfit("has \(batch.rows) rows (expected 1...\(maxBatch))") }
            for part in batch.parts {
                guard part.rows >= 1, part.offset >= 0, part.offset + part.rows <= schedule.order.count else {
                    throw misfit("has a part of \(part.rows) rows at \(part.offset), outside the \(schedule.order.count) indices")
                }
                if let bad = schedule.order[part.offset..<(part.offset + part.rows)].first(where: { $0 < 0 || Int($0) >= part.source.count }) {
                    throw misfit("reads row \(bad) of a source of \(part.source.count) rows (task \(part.source.task + 1), \(part.source.origin))")
                }
            }
        }
        return schedule
    }

    /// Training steps and examples of one epoch of task t, as the method schedules it: the one
    /// place an epoch's size is computed (buffers, progress, the resume check). Every epoch of a
    /// task has this size.
    public func epochSize(task t: Int) throws -> (steps: Int, examples: Int) {
        let schedule = try epochSchedule(task: t, epoch: 0)
        return (schedule.batches.count, schedule.examples)
    }

    /// Runs the epochs of task t; returns the mean loss of each epoch and the mean images/s.
    ///
    /// Divergence (see `Divergence`): every step adds its minibatch's summed loss to its own slot
    /// of `stepLosses`, and the step before each read also enqueues `stateHealth`; the slots are
    /// downloaded every `divergenceCheckInterval` steps (between steps) and at the end of the
    /// epoch. The first bad slot stops the run naming that step. The epoch's mean loss is the sum
    /// of its slots over its examples.
    /// - Throws: `ContinualError.diverged` at the first minibatch loss that is not finite or above
    ///   `Divergence.lossLimit`; `StateDivergence` at the first unhealthy state; backend errors.
    public func train(task t: Int, progress: ((TrainingProgress) -> Void)? = nil) throws -> (losses: [Double], imagesPerSecond: Double) {
        let clock = ContinuousClock()
        var epochLosses: [Double] = []
        var totalImages = 0
        var totalSeconds = 0.0
        var firstEpochSteps: Int?
        for e in 0..<options.epochsPerTask {
            let start = clock.now
            let schedule = try epochSchedule(task: t, epoch: e)
            let batches = schedule.batches, order = schedule.order
            guard batches.count == (firstEpochSteps ?? batches.count) else {
                throw ContinualError.mismatch("the \(options.method.rawValue) schedule of task \(t + 1) has \(batches.count) minibatches in epoch \(e + 1) but \(firstEpochSteps!) in epoch 1 (every epoch of a task must have the same)")
            }
            firstEpochSteps = batches.count
            let batchIndices = try buffer(&self.batchIndices, .int32, count: max(order.count, 1))
            let stepLosses = try buffer(&self.stepLosses, .float32, count: 2 * batches.count)
            if !order.isEmpty { try backend.upload(order, to: batchIndices.view(at: 0, shape: [order.count])) }
            try backend.fill(stepLosses.view(at: 0, shape: [2 * batches.count]), value: 0)
            let firstStep = globalStep
            var slots: [Float] = []   // the losses read so far, in step order
            /// Reads the slots of steps slots.count ..< end and throws at the first step whose loss
            /// is not finite or above `Divergence.lossLimit`, or after which the state was unhealthy.
            func readSlots(through end: Int) throws {
                let begin = slots.count
                guard end > begin else { return }
                let values = try backend.download(stepLosses.view(at: 2 * begin, shape: [2 * (end - begin)]))
                // Data-parallel: each rank's slot holds its rows' loss; the step's loss is the sum.
                // The health flags stay local: every rank checks its own copy of the state.
                var losses = stride(from: 0, to: values.count, by: 2).map { values[$0] }
                try dataParallel?.allreduceSum(&losses)
                for k in 0..<(end - begin) {
                    let i = begin + k
                    let loss = Double(losses[k]) / Double(batches[i].rows)
                    if !loss.isFinite || loss > Divergence.lossLimit {
                        throw ContinualError.diverged(
                            task: t, taskName: sequence.tasks[t].name, epoch: e, step: i, stepsInEpoch: batches.count,
                            globalStep: firstStep + i, loss: loss)
                    }
                    let health = StateHealth(resultElement: values[2 * k + 1])
                    if !health.isEmpty {
                        throw StateDivergence(task: t, taskName: sequence.tasks[t].name, epoch: e, step: i,
                                              stepsInEpoch: batches.count, globalStep: firstStep + i, health: health)
                    }
                    slots.append(losses[k])
                }
            }
            for (i, batch) in batches.enumerated() {
                try beforeStepHook?(t, e, i)
                try step(batch, task: t, indices: batchIndices, lossSlot: stepLosses.view(at: 2 * i, shape: [1]))
                let read = (i + 1) % Self.divergenceCheckInterval == 0
                if read || i == batches.count - 1 {
                    try backend.stateHealth(state, result: stepLosses.view(at: 2 * i + 1, shape: [1]))
                }
                if read { try readSlots(through: i + 1) }
            }
            try readSlots(through: batches.count)
            let examples = schedule.examples
            let loss = slots.reduce(0.0) { $0 + Double($1) } / Double(examples)
            let elapsed = seconds(clock.now - start)
            epochLosses.append(loss)
            totalImages += examples
            totalSeconds += elapsed
            progress?(TrainingProgress(
                task: t, taskCount: sequence.count, epoch: e, epochCount: options.epochsPerTask, loss: loss,
                averageAccuracy: result.taskIncremental.averageAccuracy,
                imagesPerSecond: Double(examples) / max(elapsed, 1e-9)))
        }
        return (epochLosses, Double(totalImages) / max(totalSeconds, 1e-9))
    }

    /// `buffer` when it holds at least `count` elements, else a new one of `count` elements
    /// (the old one released first).
    private func buffer(_ buffer: inout Tensor?, _ type: ElementType, count: Int) throws -> Tensor {
        if let existing = buffer, existing.count >= count { return existing }
        buffer = nil
        let grown = Tensor(storage: try backend.allocate(type, count: count), shape: [count])
        buffer = grown
        return grown
    }

    /// Where a method's per-task recordings go (`TaskRecording`), by recording name: each is
    /// called with the task index and the recorded values. A recording without an entry is not
    /// computed (nothing is downloaded).
    public var recorders: [String: (_ task: Int, _ values: [Float]) throws -> Void] = [:]

    /// For methods, at task t's end: hands the values of recording `name` to its recorder when the
    /// run records it; `values` (typically a download: one host wait) runs only then.
    public func record(_ name: String, task t: Int, values: () throws -> [Float]) throws {
        guard let recorder = recorders[name] else { return }
        try recorder(t, try values())
    }

    /// Tests only: called before each step is enqueued with (task, epoch, step within the epoch),
    /// all 0-based, e.g. to overwrite θ with NaN so that exactly that step's loss is NaN.
    var beforeStepHook: ((Int, Int, Int) throws -> Void)?

    /// One training step, enqueued only (see `TrainingStep`), with the method's strength, extra
    /// loss and change of the gradient and this step's Adam hyper-parameters; its summed loss is
    /// added to `lossSlot`. `indices` holds the epoch's index array.
    private func step(_ batch: TrainingBatch, task t: Int, indices: Tensor, lossSlot: Tensor) throws {
        let (rank, size) = ranks
        adamStep += 1
        try trainingStep.enqueue(batch: batch, indices: indices, strength: method.penaltyStrength,
                                 optimizer: options.optimizer, hyper: options.adam(atStep: adamStep), adamStep: adamStep,
                                 dropoutStep: UInt32(truncatingIfNeeded: globalStep), lossSlot: lossSlot,
                                 extraLoss: { p, rows, logits, dLogits in
                                     // The rows of the part this process computes, as a part of their own.
                                     let part = batch.parts[p]
                                     try self.method.addToLogitGradient(
                                         task: t, part: BatchPart(source: part.source, offset: part.offset + rows.lowerBound, rows: rows.count),
                                         indices: indices.view(at: part.offset + rows.lowerBound, shape: [rows.count]), logits: logits,
                                         dLogits: dLogits, trainer: self)
                                 },
                                 adjustGradient: { gradient in
                                     try self.method.adjustGradient(task: t, batch: batch, gradient: gradient, trainer: self)
                                 },
                                 share: size > 1 ? .slice(of: batch.rows, rank: rank, size: size) : nil)
        globalStep += 1
    }

    // MARK: Consolidation

    /// The method's end-of-task work (Methods/), then the optional optimizer reset.
    public func consolidate(afterTask t: Int) throws {
        try method.consolidate(afterTask: t, trainer: self)
        if options.resetOptimizerAtTaskBoundary {
            try resetOptimizer()
        }
    }

    /// Adam m, v ← 0, and step count ← 0 (the next update uses t = 1) unless `adamVariant` is
    /// `.keras`, whose reset keeps t (see `AdamVariant.keras`).
    public func resetOptimizer() throws {
        try resetOptimizer(keepingStepCount: options.adamVariant == .keras)
    }

    /// Adam m, v ← 0, and the step count ← 0 unless `keepingStepCount`.
    public func resetOptimizer(keepingStepCount: Bool) throws {
        try backend.fill(state.m, value: 0)
        try backend.fill(state.v, value: 0)
        if !keepingStepCount { adamStep = 0 }
    }

    private func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
