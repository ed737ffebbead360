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

/// Trains a `TaskSequence` with one `Method` on one backend.
///
/// Joint training (`Method.joint`) cycles the tasks per minibatch: every epoch of task t shuffles
/// each of the tasks 0...t on its own, cuts each into minibatches, and runs those minibatches in a
/// seeded random order. Each minibatch therefore holds one task's examples and uses that task's
/// live units, so every example keeps its own head (multi-head) exactly as when it was trained alone.
public final class ContinualTrainer {
    public let backend: any Backend
    public let sequence: TaskSequence
    public let options: ContinualOptions
    public let network: Network
    /// θ (the network's parameters), θ*, Ω, ω, Adam m and v.
    public let state: ParameterState
    /// Everything measured so far (rows for the finished tasks).
    public private(set) var result: ContinualResult
    /// Training steps taken in the whole run (keys the dropout masks).
    public private(set) var globalStep = 0
    /// Adam's step count t since the last reset (the next update uses t + 1).
    public private(set) var adamStep = 0

    /// Tasks finished (trained, consolidated, evaluated).
    public var completedTasks: Int { result.completedTasks }

    private let data: DeviceTasks
    private let maxBatch: Int
    /// int32: the current epoch's example order (all tasks so far back to back for `joint`).
    private let batchIndices: Tensor
    /// int32: 0, 1, 2, ... (evaluation reads the splits in order).
    private let identityIndices: Tensor
    /// int32: examples chosen for an importance estimate, and the labels drawn for the Fisher.
    private let sampleIndices: Tensor
    private let sampleLabels: Tensor
    /// The training step (public so that a benchmark can time exactly this step).
    public let trainingStep: TrainingStep
    /// Scratch shared with the training step (evaluation, importances and `meanLoss` reuse it).
    private var labels: Tensor { trainingStep.labels }
    private var losses: Tensor { trainingStep.losses }
    private var dLogits: Tensor { trainingStep.dLogits }
    private let lossSum: Tensor
    /// float32 [the most steps of any epoch]: slot i holds the summed loss of step i of the
    /// current epoch (nats), so a non-finite loss can be traced to its exact step.
    private let stepLosses: Tensor

    /// Steps between two reads of the loss slots. Each read is a small blocking download that
    /// drains the device queue, so the device idles while the host enqueues the next step: a
    /// smaller interval stops a diverged run sooner (at most interval − 1 wasted steps) but costs
    /// more stalls; 32 keeps the stalls to about 3% of a small step's enqueue time and stops
    /// within one short stretch of an epoch.
    static let divergenceCheckInterval = 32
    /// float32 [2·tasks]: correct counts, task-incremental then class-incremental for each task.
    private let counters: Tensor
    /// The latest task's Fisher or MAS importance.
    private let taskImportance: Tensor
    /// EWC: Σ_t F_t and Σ_t F_t⊙θ*_t on the host (enough to rebuild Ω and the combined anchor).
    private var fisherSum: [Float]?
    private var fisherAnchorSum: [Float]?

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
        network = try Network(backend: backend, inputShape: inputShape, layers: layers, maxBatch: maxBatch,
                              seed: CounterRandom(seed: options.seed, purpose: .initialization, task: 0, epoch: 0).derivedSeed)
        network.dropoutSeed = CounterRandom(seed: options.seed, purpose: .dropout, task: 0, epoch: 0).derivedSeed

        func floats(_ count: Int) throws -> Tensor {
            Tensor(storage: try backend.allocate(.float32, count: max(count, 1)), shape: [count])
        }
        func ints(_ count: Int) throws -> Tensor {
            Tensor(storage: try backend.allocate(.int32, count: max(count, 1)), shape: [count])
        }
        let p = network.parameterCount
        state = ParameterState(theta: network.parameters, anchor: try floats(p), importance: try floats(p),
                               omega: try floats(p), m: try floats(p), v: try floats(p))
        try backend.copy(state.theta, to: state.anchor)

        data = try DeviceTasks(backend: backend, sequence: sequence)
        let trainCounts = sequence.tasks.map(\.train.count)
        let epochExamples = options.method == .joint ? trainCounts.reduce(0, +) : trainCounts.max()!
        batchIndices = try ints(epochExamples)
        let longest = sequence.tasks.map { max($0.train.count, $0.test.count) }.max()!
        identityIndices = try ints(longest)
        try backend.upload((0..<longest).map { Int32($0) }, to: identityIndices)
        let samples = max(options.fisherSamples, options.masSamples)
        sampleIndices = try ints(samples)
        sampleLabels = try ints(samples)
        trainingStep = try TrainingStep(network: network, state: state)
        lossSum = try floats(1)
        // Steps per epoch: ⌈n/batch⌉ per task trained in the epoch (joint: every task so far).
        let stepsPerTask = trainCounts.map { ($0 + options.batchSize - 1) / options.batchSize }
        stepLosses = try floats(options.method == .joint ? stepsPerTask.reduce(0, +) : stepsPerTask.max()!)
        counters = try floats(2 * sequence.count)
        taskImportance = try floats(p)
        result = ContinualResult(options: options, headMode: sequence.headMode, device: backend.deviceName,
                                 taskNames: sequence.tasks.map(\.name))
    }

    // MARK: The run

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

    /// Before task t: `scratch` starts a fresh network (seeded by task) and a fresh optimizer.
    public func prepare(task t: Int) throws {
        guard options.method == .scratch, t > 0 else { return }
        try network.initializeParameters(
            seed: CounterRandom(seed: options.seed, purpose: .initialization, task: t, epoch: 0).derivedSeed)
        try backend.copy(state.theta, to: state.anchor)
        try backend.fill(state.omega, value: 0)
        try backend.fill(state.importance, value: 0)
        try resetOptimizer()
        // A fresh optimizer in both variants: the authors' scratch runs re-initialise every
        // variable, Keras' iteration counter included.
        adamStep = 0
    }

    // MARK: Training

    /// One minibatch: which task's data, where its indices start in `batchIndices`, how many rows.
    private struct Batch {
        let task: Int
        let offset: Int
        let rows: Int
    }

    /// The minibatches of epoch `e` of task `t` and the index order to upload (one array for the epoch).
    private func schedule(task t: Int, epoch e: Int) -> (batches: [Batch], order: [Int32]) {
        let sources = options.method == .joint ? Array(0...t) : [t]
        var batches: [Batch] = []
        var order: [Int32] = []
        for s in sources {
            let offset = order.count
            let n = sequence.tasks[s].train.count
            order += CounterRandom(seed: options.seed, purpose: .epochShuffle, task: t, epoch: e, stream: s).permutation(n)
            var start = 0
            while start < n {   // the last, partial batch is kept
                let rows = min(options.batchSize, n - start)
                batches.append(Batch(task: s, offset: offset + start, rows: rows))
                start += rows
            }
        }
        if sources.count > 1 {
            let mix = CounterRandom(seed: options.seed, purpose: .jointOrder, task: t, epoch: e).permutation(batches.count)
            batches = mix.map { batches[Int($0)] }
        }
        return (batches, order)
    }

    /// Runs the epochs of task t; returns the mean loss of each epoch and the mean images/s.
    ///
    /// Divergence: every step adds its minibatch's summed loss to its own slot of `stepLosses`;
    /// the slots are downloaded every `divergenceCheckInterval` steps (between steps) and at the
    /// end of the epoch. The first non-finite slot stops the run with `ContinualError.diverged`
    /// naming that step. The epoch's mean loss is the sum of its slots over its examples.
    /// - Throws: `ContinualError.diverged` at the first non-finite minibatch loss; backend errors.
    public func train(task t: Int, progress: ((TrainingProgress) -> Void)? = nil) throws -> (losses: [Double], imagesPerSecond: Double) {
        let clock = ContinuousClock()
        var epochLosses: [Double] = []
        var totalImages = 0
        var totalSeconds = 0.0
        for e in 0..<options.epochsPerTask {
            let start = clock.now
            let (batches, order) = schedule(task: t, epoch: e)
            try backend.upload(order, to: batchIndices.view(at: 0, shape: [order.count]))
            try backend.fill(stepLosses.view(at: 0, shape: [batches.count]), value: 0)
            let firstStep = globalStep
            var slots: [Float] = []   // the slots read so far, in step order
            /// Reads the slots of steps slots.count ..< end and throws at the first non-finite one.
            func readSlots(through end: Int) throws {
                let begin = slots.count
                guard end > begin else { return }
                let values = try backend.download(stepLosses.view(at: begin, shape: [end - begin]))
                if let bad = values.firstIndex(where: { !$0.isFinite }) {
                    let i = begin + bad
                    throw ContinualError.diverged(
                        task: t, taskName: sequence.tasks[t].name, epoch: e, step: i, stepsInEpoch: batches.count,
                        globalStep: firstStep + i, loss: Double(values[bad]) / Double(batches[i].rows))
                }
                slots += values
            }
            for (i, batch) in batches.enumerated() {
                try beforeStepHook?(t, e, i)
                try step(batch, lossSlot: stepLosses.view(at: i, shape: [1]))
                if (i + 1) % Self.divergenceCheckInterval == 0 { try readSlots(through: i + 1) }
            }
            try readSlots(through: batches.count)
            let loss = slots.reduce(0.0) { $0 + Double($1) } / Double(order.count)
            let elapsed = seconds(clock.now - start)
            epochLosses.append(loss)
            totalImages += order.count
            totalSeconds += elapsed
            progress?(TrainingProgress(
                task: t, taskCount: sequence.count, epoch: e, epochCount: options.epochsPerTask, loss: loss,
                averageAccuracy: result.taskIncremental.averageAccuracy,
                imagesPerSecond: Double(order.count) / max(elapsed, 1e-9)))
        }
        return (epochLosses, Double(totalImages) / max(totalSeconds, 1e-9))
    }

    /// Tests only: called before each step is enqueued with (task, epoch, step within the epoch),
    /// all 0-based, e.g. to overwrite θ with NaN so that exactly that step's loss is NaN.
    var beforeStepHook: ((Int, Int, Int) throws -> Void)?

    /// One training step, enqueued only (see `TrainingStep`), with the method's strength and this
    /// step's Adam hyper-parameters; its summed loss is added to `lossSlot`.
    private func step(_ batch: Batch, lossSlot: Tensor) throws {
        let split = data.train[batch.task]
        adamStep += 1
        try trainingStep.enqueue(images: split.pixels, labels: split.labels,
                                 indices: batchIndices.view(at: batch.offset, shape: [batch.rows]), rows: batch.rows,
                                 liveUnits: sequence.units(ofTask: batch.task), strength: options.fusedStrength,
                                 hyper: options.adam(atStep: adamStep), adamStep: adamStep,
                                 dropoutStep: UInt32(truncatingIfNeeded: globalStep), lossSlot: lossSlot)
        globalStep += 1
    }

    // MARK: Consolidation

    /// The method's end-of-task work, then the optional optimizer reset.
    ///
    /// - si, finetune, joint, scratch: `siConsolidate(ξ)` (Ω ← max(0, Ω + ω/(Δ²+ξ)), θ* ← θ, ω ← 0).
    ///   For the methods with strength 0 this only keeps Ω for analysis; it never acts.
    /// - ewc: F_t from `fisherDiagonal`; Ω = Σ_t F_t and θ* = Σ_t F_t⊙θ*_t / Σ_t F_t (θ where Σ F_t = 0),
    ///   combined on the host: the sum of the per-task quadratics has exactly this gradient.
    /// - online-ewc: Ω ← γΩ + F_t, θ* ← θ.  - mas: Ω ← Ω + I_t (importances add up over tasks), θ* ← θ.
    public func consolidate(afterTask t: Int) throws {
        switch options.method {
        case .si, .finetune, .joint, .scratch:
            try backend.siConsolidate(state, xi: options.xi)
        case .ewc:
            let fisher = try backend.download(try fisherDiagonal(task: t).values)
            let theta = try backend.download(state.theta)
            var sum = fisherSum ?? [Float](repeating: 0, count: theta.count)
            var anchorSum = fisherAnchorSum ?? [Float](repeating: 0, count: theta.count)
            var anchor = theta
            for k in 0..<theta.count {
                sum[k] += fisher[k]
                anchorSum[k] += fisher[k] * theta[k]
                if sum[k] > 0 { anchor[k] = anchorSum[k] / sum[k] }
            }
            fisherSum = sum
            fisherAnchorSum = anchorSum
            try backend.upload(sum, to: state.importance)
            try backend.upload(anchor, to: state.anchor)
            try backend.fill(state.omega, value: 0)
        case .onlineEWC:
            let fisher = try backend.download(try fisherDiagonal(task: t).values)
            var running = try backend.download(state.importance)
            for k in 0..<running.count { running[k] = options.gamma * running[k] + fisher[k] }
            try backend.upload(running, to: state.importance)
            try backend.copy(state.theta, to: state.anchor)
            try backend.fill(state.omega, value: 0)
        case .mas:
            try backend.accumulate(try masImportance(task: t).values, into: state.importance, scale: 1, transform: .identity)
            try backend.copy(state.theta, to: state.anchor)
            try backend.fill(state.omega, value: 0)
        }
        if options.resetOptimizerAtTaskBoundary {
            try resetOptimizer()
        }
    }

    /// Adam m, v ← 0, and step count ← 0 (the next update uses t = 1) unless `adamVariant` is
    /// `.keras`, whose reset keeps t (see `AdamVariant.keras`).
    public func resetOptimizer() throws {
        try backend.fill(state.m, value: 0)
        try backend.fill(state.v, value: 0)
        if options.adamVariant == .standard { adamStep = 0 }
    }

    // MARK: Importance estimates

    /// A per-parameter importance and the examples (and, for the Fisher, labels) it was computed from.
    public struct ImportanceEstimate {
        /// float32 [parameterCount] on the device (overwritten by the next estimate).
        public let values: Tensor
        /// Training-set indices of the examples used.
        public let sampleIndices: [Int32]
        /// Fisher: the label drawn for each example (a GLOBAL unit index). Empty for MAS.
        public let drawnLabels: [Int32]
    }

    /// Chooses min(count, train size) training examples of task t, seeded by (seed, purpose, t).
    private func chooseSamples(task t: Int, count: Int, purpose: RandomPurpose) throws -> [Int32] {
        let n = data.train[t].count
        let chosen = Array(CounterRandom(seed: options.seed, purpose: purpose, task: t, epoch: 0).permutation(n).prefix(min(count, n)))
        try backend.upload(chosen, to: sampleIndices.view(at: 0, shape: [chosen.count]))
        return chosen
    }

    /// Diagonal empirical-model Fisher of task t at the current θ: mean over `fisherSamples`
    /// examples of (∂ log p(y|x)/∂θ)², one example at a time (batch of 1). The label y is DRAWN from
    /// the model's own predictive distribution over task t's live units (seeded), not the true label.
    /// Dropout is off (evaluation mode): the deterministic network is the model being protected.
    public func fisherDiagonal(task t: Int) throws -> ImportanceEstimate {
        let chosen = try chooseSamples(task: t, count: options.fisherSamples, purpose: .fisherSamples)
        let split = data.train[t]
        let live = sequence.units(ofTask: t)
        let units = sequence.outputUnits
        let draws = CounterRandom(seed: options.seed, purpose: .fisherLabels, task: t, epoch: 0)
        // 1. The predictive distributions, a chunk at a time (host waits are fine at task end).
        var drawn: [Int32] = []
        var start = 0
        while start < chosen.count {
            let rows = min(maxBatch, chosen.count - start)
            try backend.gatherRows(split.pixels, indices: sampleIndices.view(at: start, shape: [rows]), rows: rows,
                                   rowLength: sequence.imageSize, scale: 1.0 / 255.0, into: network.input)
            let logits = try backend.download(try network.forward(batch: rows, training: false, step: 0))
            for r in 0..<rows {
                let row = live.map { Double(logits[r * units + $0]) }
                let top = row.max()!
                let weights = row.map { Foundation.exp($0 - top) }
                let u = draws.uniform(start + r) * weights.reduce(0, +)
                var cumulative = 0.0
                var pick = live.count - 1
                for (i, w) in weights.enumerated() {
                    cumulative += w
                    if u < cumulative { pick = i; break }
                }
                drawn.append(Int32(live.lowerBound + pick))
            }
            start += rows
        }
        try backend.upload(drawn, to: sampleLabels.view(at: 0, shape: [drawn.count]))
        // 2. Per-example gradients of −log p(y|x), squared and averaged.
        try backend.fill(taskImportance, value: 0)
        let one = dLogits.leadingRows(1)
        for s in 0..<chosen.count {
            try backend.gatherRows(split.pixels, indices: sampleIndices.view(at: s, shape: [1]), rows: 1,
                                   rowLength: sequence.imageSize, scale: 1.0 / 255.0, into: network.input)
            let logits = try network.forward(batch: 1, training: false, step: 0)
            try backend.softmaxCrossEntropy(logits: logits, labels: sampleLabels.view(at: s, shape: [1]), batch: 1,
                                            units: units, unitStart: live.lowerBound, unitCount: live.count,
                                            losses: losses, dLogits: one)
            try network.backward(dLogits: one, batch: 1, step: 0)
            try backend.accumulate(network.gradients, into: taskImportance, scale: 1 / Float(chosen.count), transform: .square)
        }
        return ImportanceEstimate(values: taskImportance, sampleIndices: chosen, drawnLabels: drawn)
    }

    /// MAS importance of task t at the current θ: mean over `masSamples` examples of
    /// |∂‖f(x)‖²/∂θ|, f = the logits of task t's live units (dropout off). Built from backend ops:
    /// dLogits = 2·f on the live units, 0 elsewhere, back-propagated one example at a time.
    public func masImportance(task t: Int) throws -> ImportanceEstimate {
        let chosen = try chooseSamples(task: t, count: options.masSamples, purpose: .masSamples)
        let split = data.train[t]
        let live = sequence.units(ofTask: t)
        try backend.fill(taskImportance, value: 0)
        let one = dLogits.leadingRows(1)
        for s in 0..<chosen.count {
            try backend.gatherRows(split.pixels, indices: sampleIndices.view(at: s, shape: [1]), rows: 1,
                                   rowLength: sequence.imageSize, scale: 1.0 / 255.0, into: network.input)
            let logits = try network.forward(batch: 1, training: false, step: 0)
            try backend.fill(one, value: 0)
            try backend.accumulate(logits.view(at: live.lowerBound, shape: [live.count]),
                                   into: one.view(at: live.lowerBound, shape: [live.count]), scale: 2, transform: .identity)
            try network.backward(dLogits: one, batch: 1, step: 0)
            try backend.accumulate(network.gradients, into: taskImportance, scale: 1 / Float(chosen.count), transform: .absolute)
        }
        return ImportanceEstimate(values: taskImportance, sampleIndices: chosen, drawnLabels: [])
    }

    // MARK: Evaluation

    /// Accuracy of every task j on its test split at the current θ (dropout off): task-incremental
    /// (argmax over task j's units) and class-incremental (argmax over the units of tasks 0...t;
    /// nil for j > t in multi-head mode). One host wait for all tasks.
    public func evaluate(afterTask t: Int) throws -> (taskIncremental: [Double], classIncremental: [Double?]) {
        try backend.fill(counters, value: 0)
        let seen = sequence.unitsSeen(throughTask: t)
        func classDefined(_ j: Int) -> Bool { sequence.headMode == .singleHead || j <= t }
        for j in 0..<sequence.count {
            let split = data.test[j]
            let own = sequence.units(ofTask: j)
            try forEachInferenceBatch(of: split) { logits, rows in
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
        let counts = try backend.download(counters)
        let taskIncremental = (0..<sequence.count).map { Double(counts[2 * $0]) / Double(data.test[$0].count) }
        let classIncremental = (0..<sequence.count).map { j -> Double? in
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

    /// Walks `split` in order, `maxBatch` rows at a time (the last batch may be smaller): gathers the
    /// rows (pixels/255) and their labels into `labels`, runs the forward pass with dropout off and
    /// hands `body` the logits and the row count. Only enqueues; no host wait.
    private func forEachInferenceBatch(of split: DeviceSplit, _ body: (_ logits: Tensor, _ rows: Int) throws -> Void) throws {
        var start = 0
        while start < split.count {
            let rows = min(maxBatch, split.count - start)
            let indices = identityIndices.view(at: start, shape: [rows])
            try backend.gatherRows(split.pixels, indices: indices, rows: rows, rowLength: sequence.imageSize,
                                   scale: 1.0 / 255.0, into: network.input)
            try backend.gatherLabels(split.labels, indices: indices, rows: rows, into: labels)
            let logits = try network.forward(batch: rows, training: false, step: 0)
            try body(logits, rows)
            start += rows
        }
    }

    // MARK: Resumability

    /// The complete state after a finished task: enough to continue the run exactly (shuffles,
    /// dropout and Fisher labels are pure functions of (seed, task, epoch, step), so counters suffice).
    ///
    /// Arrays (float32, `parameterCount` each): "theta", "anchor", "importance", "omega", "adam.m",
    /// "adam.v"; for `ewc` also "ewc.fisherSum" (Σ_t F_t) and "ewc.fisherAnchorSum" (Σ_t F_t⊙θ*_t):
    /// the per-task F_t and θ*_t are not kept, because the penalty's gradient (all that training
    /// uses) depends on them only through these two sums. Counters: "completedTasks", "globalStep", "adamStep".
    public func captureState() throws -> TrainerState {
        var arrays: [String: [Float]] = [
            "theta": try backend.download(state.theta),
            "anchor": try backend.download(state.anchor),
            "importance": try backend.download(state.importance),
            "omega": try backend.download(state.omega),
            "adam.m": try backend.download(state.m),
            "adam.v": try backend.download(state.v),
        ]
        if let fisherSum, let fisherAnchorSum {
            arrays["ewc.fisherSum"] = fisherSum
            arrays["ewc.fisherAnchorSum"] = fisherAnchorSum
        }
        return TrainerState(arrays: arrays,
                            counters: ["completedTasks": completedTasks, "globalStep": globalStep, "adamStep": adamStep],
                            result: result)
    }

    /// Restores a state captured by `captureState` (same tasks, network and options); `run` then
    /// continues with task `completedTasks`.
    public func restore(_ saved: TrainerState) throws {
        guard saved.result.options == options else {
            throw ContinualError.badState("it was saved with other options (\(saved.result.options.method.rawValue), seed \(saved.result.options.seed)) than this run's (\(options.method.rawValue), seed \(options.seed))")
        }
        guard saved.result.taskNames == result.taskNames else {
            throw ContinualError.badState("it was saved for tasks \(saved.result.taskNames), this run has \(result.taskNames)")
        }
        let p = network.parameterCount
        func array(_ name: String) throws -> [Float] {
            guard let values = saved.arrays[name] else { throw ContinualError.badState("array '\(name)' is missing") }
            guard values.count == p else {
                throw ContinualError.badState("array '\(name)' has \(values.count) values, the network has \(p) parameters")
            }
            return values
        }
        func counter(_ name: String) throws -> Int {
            guard let value = saved.counters[name], value >= 0 else {
                throw ContinualError.badState("counter '\(name)' is missing or negative")
            }
            return value
        }
        let completed = try counter("completedTasks")
        guard completed <= sequence.count, saved.result.completedTasks == completed,
              saved.result.taskIncrementalAccuracy.count == completed else {
            throw ContinualError.badState("completedTasks \(completed) does not match its \(saved.result.taskIncrementalAccuracy.count) result rows or the \(sequence.count) tasks")
        }
        let names = ["theta": state.theta, "anchor": state.anchor, "importance": state.importance,
                     "omega": state.omega, "adam.m": state.m, "adam.v": state.v]
        var loaded: [(Tensor, [Float])] = []
        for (name, tensor) in names { loaded.append((tensor, try array(name))) }
        var sums: ([Float], [Float])?
        if options.method == .ewc && completed > 0 {
            sums = (try array("ewc.fisherSum"), try array("ewc.fisherAnchorSum"))
        }
        let steps = (try counter("globalStep"), try counter("adamStep"))
        for (tensor, values) in loaded { try backend.upload(values, to: tensor) }
        fisherSum = sums?.0
        fisherAnchorSum = sums?.1
        (globalStep, adamStep) = steps
        result = saved.result
    }

    private func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}

/// A trainer's complete state between tasks, as named arrays and counters (see `captureState`).
public struct TrainerState: Codable, Sendable {
    public var arrays: [String: [Float]]
    public var counters: [String: Int]
    /// The result so far (its options identify the run).
    public var result: ContinualResult

    public init(arrays: [String: [Float]], counters: [String: Int], result: ContinualResult) {
        self.arrays = arrays; self.counters = counters; self.result = result
    }
}
