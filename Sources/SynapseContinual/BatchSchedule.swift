// The batch schedule: what the minibatches of one epoch hold. A method composes it
// (`ContinualMethod.schedule`); the trainer checks it, uploads its index array once per epoch and
// runs one training step per minibatch. A minibatch is one or more parts, each a run of rows from
// one source: a task's training split, or an array a method keeps (a replay memory). Every part
// keeps its own task's output units, so a minibatch may mix the heads of several tasks.

import SynapseEngine

/// Where the rows of a minibatch part come from: images and labels on the device and the output
/// units they are trained on.
public struct RowSource {
    /// What the rows are: a task's training split, or an array a method keeps.
    public enum Origin: Equatable, Sendable {
        /// The training split of `RowSource.task` (indices are training-set indices).
        case trainingSplit
        /// An array a method keeps (e.g. a replay memory), named for messages.
        case kept(String)
    }

    /// uint8 [count, imageSize]: the images as stored (the step scales them by 1/255).
    public let images: Tensor
    /// int32 [count]: their labels, global unit indices inside `liveUnits`.
    public let labels: Tensor
    /// Rows available; a part's indices must lie in 0..<count.
    public let count: Int
    /// The task the rows belong to.
    public let task: Int
    /// The output units the rows are trained on (their task's head); the cross-entropy masks the others.
    public let liveUnits: Range<Int>
    /// A task's training split or a method's array.
    public let origin: Origin

    /// A source from its parts (a method's own array: `origin` `.kept(name)`).
    public init(images: Tensor, labels: Tensor, count: Int, task: Int, liveUnits: Range<Int>, origin: Origin) {
        self.images = images; self.labels = labels; self.count = count
        self.task = task; self.liveUnits = liveUnits; self.origin = origin
    }
}

/// A run of rows of one minibatch, all from one source.
public struct BatchPart {
    /// Where the rows come from.
    public let source: RowSource
    /// Where the part's indices (into `source`) start in the epoch's index array (`EpochSchedule.order`).
    public let offset: Int
    /// Rows in the part (≥ 1).
    public let rows: Int

    public init(source: RowSource, offset: Int, rows: Int) {
        self.source = source; self.offset = offset; self.rows = rows
    }
}

/// The minibatch a training step runs: its parts, back to back (row r of the minibatch is row
/// r − (rows of the parts before) of its part). The loss is the mean over all its rows.
public struct TrainingBatch {
    /// The parts, in row order (at least one).
    public let parts: [BatchPart]
    /// Examples in the minibatch (the last of an epoch may be short).
    public var rows: Int { parts.reduce(0) { $0 + $1.rows } }

    public init(parts: [BatchPart]) { self.parts = parts }
}

/// One epoch: the index array to upload (one per epoch) and the minibatches in training order.
///
/// Every epoch of a task must have the same number of minibatches: a resumed run checks its step
/// counter against them (`ContinualTrainer.epochSize`, the one place the size is computed).
public struct EpochSchedule {
    /// int32 values, indices into the parts' sources: each part reads order[offset ..< offset + rows].
    public var order: [Int32]
    /// The minibatches, in the order they train.
    public var batches: [TrainingBatch]

    public init(order: [Int32], batches: [TrainingBatch]) { self.order = order; self.batches = batches }

    /// Examples the epoch trains on (rows of all its minibatches; a row drawn twice counts twice).
    public var examples: Int { batches.reduce(0) { $0 + $1.rows } }

    /// Whole tasks: each of `tasks`' training splits is shuffled on its own (seeded by the run's
    /// seed, task `t`, epoch `e` and the task shuffled) and cut into minibatches of
    /// `trainer.options.batchSize` rows (the last, partial one kept), one task per minibatch; with
    /// more than one task the minibatches run in a seeded random order. `[t]` is sequential
    /// training (the default schedule), `0...t` joint training.
    public static func wholeTasks(_ tasks: [Int], task t: Int, epoch e: Int, trainer: ContinualTrainer) -> EpochSchedule {
        let options = trainer.options
        var batches: [TrainingBatch] = []
        var order: [Int32] = []
        for s in tasks {
            let source = trainer.trainingRows(ofTask: s)
            let offset = order.count
            let n = source.count
            order += CounterRandom(seed: options.seed, purpose: .epochShuffle, task: t, epoch: e, stream: s).permutation(n)
            var start = 0
            while start < n {   // the last, partial batch is kept
                let rows = min(options.batchSize, n - start)
                batches.append(TrainingBatch(parts: [BatchPart(source: source, offset: offset + start, rows: rows)]))
                start += rows
            }
        }
        if tasks.count > 1 {
            let mix = CounterRandom(seed: options.seed, purpose: .jointOrder, task: t, epoch: e).permutation(batches.count)
            batches = mix.map { batches[Int($0)] }
        }
        return EpochSchedule(order: order, batches: batches)
    }
}
