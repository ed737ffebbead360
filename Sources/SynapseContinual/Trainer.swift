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
    public private(set) var result: ContinualResult
    /// Training steps taken in the whole run (keys the dropout masks).
    public private(set) var globalStep = 0
    /// Adam's step count t since the last reset (the next update uses t + 1).
    public private(set) var adamStep = 0
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
    private var ranks: (rank: Int, size: Int) { dataParallel.map { ($0.rank, $0.size) } ?? (0, 1) }

    let data: DeviceTasks
    let maxBatch: Int
    /// int32: the current epoch's index array (`EpochSchedule.order`), grown to the longest epoch so far.
    private var batchIndices: Tensor?
    /// int32: 0, 1, 2, ... (evaluation reads the splits in order).
    private let identityIndices: Tensor
    /// The training step (public so that a benchmark can time exactly this step).
    public let trainingStep: TrainingStep
    /// Scratch shared with the training step (evaluation, importances and `meanLoss` reuse it).
    var labels: Tensor { trainingStep.labels }
    var losses: Tensor { trainingStep.losses }
    var dLogits: Tensor { trainingStep.dLogits }
    private let lossSum: Tensor
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
    private let counters: Tensor

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

    // MARK: Evaluation

    /// Accuracy of every evaluated task j on its test split at the current θ (dropout off):
    /// task-incremental (argmax over task j's units) and class-incremental (argmax over the units
    /// of tasks 0...t; nil for j > t in multi-head mode). The evaluated tasks are every task, or
    /// with `EvaluatedTasks.seen` tasks 0...t only (shorter rows). One host wait for all tasks.
    public func evaluate(afterTask t: Int) throws -> (taskIncremental: [Double], classIncremental: [Double?]) {
        try backend.fill(counters, value: 0)
        let (rank, size) = ranks
        let seen = sequence.unitsSeen(throughTask: t)
        let evaluated = options.evaluatedTasks == .seen ? min(t + 1, sequence.count) : sequence.count
        func classDefined(_ j: Int) -> Bool { sequence.headMode == .singleHead || j <= t }
        for j in 0..<evaluated {
            let split = data.test[j]
            let own = sequence.units(ofTask: j)
            let mine = size > 1 ? BatchShare.slice(of: split.count, rank: rank, size: size) : .whole(split.count)
            try forEachInferenceBatch(of: split, rows: mine.first..<(mine.first + mine.count)) { logits, rows in
                try backend.countCorrect(logits: logits, labels: labels, batch: rows, units: sequence.outputUnits,
                                         unitStart: own.lowerBound, unitCount: own.count,
                                         counter: counters.view(at: 2 * j, shape: [1]))
                if classDefined(j) {
                    try backend.countCorrect(logits: logits, labels: labels, batch: rows, units: sequence.outputUnits,
                                             unitStart: seen.lowerBound, unitCount: seen.count,
                                             counter: counters.view(at: 2 * j + 1, shape: [1]))
                }
            }
        }
        var counts = try backend.download(counters)
        try dataParallel?.allreduceSum(&counts)   // each rank counted its slice of every test split
        let taskIncremental = (0..<evaluated).map { Double(counts[2 * $0]) / Double(data.test[$0].count) }
        let classIncremental = (0..<evaluated).map { j -> Double? in
            classDefined(j) ? Double(counts[2 * j + 1]) / Double(data.test[j].count) : nil
        }
        return (taskIncremental, classIncremental)
    }

    /// Which split `meanLoss` reads.
    public enum Split { case train, test }

    /// Mean cross-entropy of task t over a whole split at the current θ, dropout off (nats per example).
    public func meanLoss(task t: Int, split which: Split) throws -> Double {
        let split = which == .train ? data.train[t] : data.test[t]
        let live = sequence.units(ofTask: t)
        try backend.fill(lossSum, value: 0)
        try forEachInferenceBatch(of: split) { logits, rows in
            try backend.softmaxCrossEntropy(logits: logits, labels: labels, batch: rows, units: sequence.outputUnits,
                                            unitStart: live.lowerBound, unitCount: live.count,
                                            losses: losses, dLogits: dLogits.leadingRows(rows))
            try backend.accumulateSum(losses, count: rows, into: lossSum)
        }
        return Double(try backend.download(lossSum)[0]) / Double(split.count)
    }

    /// Walks rows `range` of `split` in order (all of them when nil), `maxBatch` rows at a time (the
    /// last batch may be smaller): gathers the rows (pixels/255) and their labels into `labels`, runs
    /// the forward pass with dropout off and hands `body` the logits and the row count. Only
    /// enqueues; no host wait.
    func forEachInferenceBatch(of split: DeviceSplit, rows range: Range<Int>? = nil,
                               _ body: (_ logits: Tensor, _ rows: Int) throws -> Void) throws {
        let range = range ?? 0..<split.count
        var start = range.lowerBound
        while start < range.upperBound {
            let rows = min(maxBatch, range.upperBound - start)
            let indices = identityIndices.view(at: start, shape: [rows])
            try backend.gatherRows(split.pixels, indices: indices, rows: rows, rowLength: sequence.imageSize,
                                   scale: 1.0 / 255.0, into: network.input)
            try backend.gatherLabels(split.labels, indices: indices, rows: rows, into: labels)
            let logits = try network.forward(batch: rows, training: false, step: 0)
            try body(logits, rows)
            start += rows
        }
    }

    // MARK: Data-parallel agreement

    /// Data-parallel only: every rank compares a digest of its whole checkpointed state (θ, θ*, Ω,
    /// ω, Adam m and v, the method's arrays) with rank 0's; any difference stops every rank with an error naming the ranks that differ.
    /// - Throws: `ContinualError.mismatch` on every rank when any rank's state differs.
    public func checkRanksAgree(afterTask t: Int) throws {
        guard let communicator = dataParallel, communicator.size > 1 else { return }
        // Everything a checkpoint holds: θ, θ*, Ω, ω, Adam m and v, and the method's own arrays.
        let saved = try captureState()
        let mine = stateDigest(saved.arrays.keys.sorted().map { saved.arrays[$0]! })
        var reference = (0..<8).map { UInt8(truncatingIfNeeded: mine >> (8 * $0)) }
        try communicator.broadcast(&reference, root: 0)
        let rankZero = reference.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        var differs = [Float](repeating: 0, count: communicator.size)
        differs[communicator.rank] = mine == rankZero ? 0 : 1
        try communicator.allreduceSum(&differs)
        let bad = differs.indices.filter { differs[$0] != 0 }
        guard bad.isEmpty else {
            throw ContinualError.mismatch("data-parallel ranks disagree after task \(t + 1): rank(s) \(bad.map(String.init).joined(separator: ", ")) "
                                          + "hold a different θ, θ*, Ω, ω or Adam state than rank 0 (state digest \(String(rankZero, radix: 16)) on rank 0)")
        }
    }

    // MARK: Resumability

    /// The complete state after a finished task: enough to continue the run exactly (shuffles,
    /// dropout and Fisher labels are pure functions of (seed, task, epoch, step), so counters suffice).
    ///
    /// Arrays (float32, `parameterCount` each): "theta", "anchor", "importance", "omega", "adam.m",
    /// "adam.v", and the method's own (`ContinualMethod.checkpointArrays`, e.g. EWC's Fisher sums).
    /// Counters: "completedTasks", "globalStep", "adamStep".
    public func captureState() throws -> TrainerState {
        var arrays: [String: [Float]] = [
            "theta": try backend.download(state.theta),
            "anchor": try backend.download(state.anchor),
            "importance": try backend.download(state.bigOmega),
            "omega": try backend.download(state.smallOmega),
            "adam.m": try backend.download(state.m),
            "adam.v": try backend.download(state.v),
        ]
        for (name, values) in try method.checkpointArrays() {
            guard arrays[name] == nil else { throw ContinualError.badState("the method's array '\(name)' clashes with the trainer's") }
            arrays[name] = values
        }
        return TrainerState(arrays: arrays,
                            counters: ["completedTasks": completedTasks, "globalStep": globalStep, "adamStep": adamStep],
                            result: result)
    }

    /// Restores a state captured by `captureState` (same tasks, network and options); `run` then
    /// continues with task `completedTasks`.
    public func restore(_ saved: TrainerState) throws {
        // Counters, result rows, array sizes and health, against this run (throws the first misfit).
        try SavedStateCheck.validate(saved, for: SavedStateCheck.Run(
            options: options, taskNames: result.taskNames,
            stepsPerEpoch: try sequence.tasks.indices.map { try epochSize(task: $0).steps },
            parameterCount: network.parameterCount))
        let p = network.parameterCount
        func array(_ name: String) throws -> [Float] { try checkpointArray(saved.arrays, name, count: p) }
        func counter(_ name: String) throws -> Int {
            guard let value = saved.counters[name] else { throw ContinualError.badState("counter '\(name)' is missing") }
            return value
        }
        let completed = try counter("completedTasks")
        let names = ["theta": state.theta, "anchor": state.anchor, "importance": state.bigOmega,
                     "omega": state.smallOmega, "adam.m": state.m, "adam.v": state.v]
        var loaded: [(Tensor, [Float])] = []
        for (name, tensor) in names { loaded.append((tensor, try array(name))) }
        let steps = (try counter("globalStep"), try counter("adamStep"))
        // The method's state is restored into a fresh instance first, so a failure leaves this trainer as it was.
        let restored = try options.method.implementation.make(options.methodOptions, trainer: self)
        try restored.restore(arrays: saved.arrays, completedTasks: completed, parameterCount: p)
        for (tensor, values) in loaded { try backend.upload(values, to: tensor) }
        method = restored
        (globalStep, adamStep) = steps
        result = saved.result
    }

    private func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}

/// The array `name` of a saved state, checked to hold `count` values.
func checkpointArray(_ arrays: [String: [Float]], _ name: String, count: Int) throws -> [Float] {
    guard let values = arrays[name] else { throw ContinualError.badState("array '\(name)' is missing") }
    guard values.count == count else {
        throw ContinualError.badState("array '\(name)' has \(values.count) values, the network has \(count) parameters")
    }
    return values
}

/// A trainer's complete state between tasks, as named arrays and counters (see `captureState`).
public struct TrainerState: Codable, Sendable {
    /// Named float32 arrays (see `ContinualTrainer.captureState`).
    public var arrays: [String: [Float]]
    /// Named counters: "completedTasks", "globalStep", "adamStep".
    public var counters: [String: Int]
    /// The result so far (its options identify the run).
    public var result: ContinualResult

    /// A state from its parts.
    public init(arrays: [String: [Float]], counters: [String: Int], result: ContinualResult) {
        self.arrays = arrays; self.counters = counters; self.result = result
    }
}
