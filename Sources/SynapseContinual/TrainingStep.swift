// The training step of the continual trainer, as a public type so that a benchmark times exactly
// the step the trainer runs (not a copy of it). It only enqueues ops: no host wait.

import SynapseEngine

/// One SI/Adam training step on one minibatch, exactly as `ContinualTrainer` runs it:
/// gather each part's rows (pixels/255) and labels → forward (dropout on) → masked softmax
/// cross-entropy, per part on its own task's units → add the minibatch's summed loss to a
/// one-element slot → the method's extra loss, if any → (several parts: each part's gradient
/// weighted by its share of the rows) → backward (the UNREGULARISED task gradient) → `reducer`
/// (data-parallel: the whole minibatch's gradient from every rank's share) → the method's change
/// of the gradient, if any → fused update (penalty c·2Ω⊙(θ−θ*) added inside, Adam,
/// ω ← ω − g_task⊙Δθ, θ ← θ + Δθ).
///
/// It owns the step's scratch buffers (labels, per-row losses, dLogits) for up to
/// `network.maxBatch` rows. Nothing here waits for the device.
public final class TrainingStep {
    /// The network's backend.
    public let backend: any Backend
    /// The network trained (its `maxBatch` bounds the rows of a step).
    public let network: Network
    /// θ (the network's parameters), θ*, Ω, ω, Adam m and v.
    public let state: ParameterState
    /// Output units of the network (all heads together), `network.outputUnits`.
    public let outputUnits: Int
    /// int32 [maxBatch]: the labels of the current minibatch.
    let labels: Tensor
    /// float32 [maxBatch]: per-row cross-entropy (nats).
    let losses: Tensor
    /// float32 [maxBatch, outputUnits].
    let dLogits: Tensor
    /// float32 [maxBatch, outputUnits]: each part's own dLogits before its weighting (allocated by
    /// the first minibatch of several parts).
    private var partDLogits: Tensor?
    /// Between backward and update when this process computes only a share of each minibatch
    /// (nil: it computes whole minibatches and the gradient is used as it is).
    public var reducer: (any GradientReducer)?

    /// - Parameters:
    ///   - network: runs on its own backend; its `maxBatch` bounds the minibatch size.
    ///   - state: its `theta` must be `network.parameters` (the update writes θ in place).
    /// - Throws: `ContinualError.mismatch` when `state.theta` is not the network's parameter buffer.
    public init(network: Network, state: ParameterState) throws {
        guard state.theta.storage === network.parameters.storage, state.theta.offset == network.parameters.offset,
              state.theta.count == network.parameters.count else {
            throw ContinualError.mismatch("the training step's state.theta must be the network's parameter buffer")
        }
        backend = network.backend
        self.network = network
        self.state = state
        outputUnits = network.outputUnits
        let rows = network.maxBatch
        labels = Tensor(storage: try backend.allocate(.int32, count: rows), shape: [rows])
        losses = Tensor(storage: try backend.allocate(.float32, count: rows), shape: [rows])
        dLogits = Tensor(storage: try backend.allocate(.float32, count: rows * outputUnits), shape: [rows, outputUnits])
    }

    /// Enqueues one training step.
    /// - Parameters:
    ///   - batch: the minibatch: its parts' sources (uint8 images [n, network.inputSize], int32
    ///     labels [n], the live units) and where each part's indices start in `indices`; 1...network.maxBatch rows
    ///     (a partial last batch is a smaller one; the loss is the mean over its rows).
    ///   - indices: int32: the index array the parts point into (the trainer's: the epoch's).
    ///   - strength: the `c` of the fused update (`ContinualMethod.penaltyStrength`; 0 = no penalty).
    ///   - optimizer: Adam (`fusedSIUpdate`) or plain SGD (`fusedSISGDUpdate`, lr from `hyper`).
    ///   - hyper: Adam's hyper-parameters for this update (`ContinualOptions.adam(atStep:)`).
    ///   - adamStep: Adam's step count t ≥ 1 of this update (bias correction).
    ///   - dropoutStep: keys this step's dropout masks (the trainer passes its global step).
    ///   - lossSlot: float32, one element: the minibatch's SUMMED cross-entropy is added to it (nats)
    ///     (with a share: the summed cross-entropy of this process's rows only).
    ///   - extraLoss: a method's loss on the outputs (LwF's distillation), called once per part
    ///     this process computes rows of, with the part's index in `batch.parts`, those rows (0-based
    ///     within the part) and their logits and dLogits ([rows, outputUnits]), after the
    ///     cross-entropy and before the backward pass; it adds the gradient of its mean over those
    ///     rows to dLogits. Only enqueues.
    ///   - adjustGradient: a method's change of the gradient (`ContinualMethod.adjustGradient`),
    ///     called with the network's gradient buffer after the backward pass and the reduction,
    ///     before the update. Only enqueues.
    ///   - share: the rows of the minibatch this process computes (nil: all of them); a share
    ///     smaller than the minibatch needs a `reducer`.
    /// - Throws: `ContinualError.invalidOption` when the minibatch has no rows or more than
    ///   network.maxBatch, a part has no rows or lies outside `indices`, or the share does not fit
    ///   it; backend errors.
    public func enqueue(batch: TrainingBatch, indices: Tensor, strength: Float, optimizer: Optimizer = .adam,
                        hyper: AdamHyper, adamStep: Int, dropoutStep: UInt32, lossSlot: Tensor,
                        extraLoss: ((_ part: Int, _ rows: Range<Int>, _ logits: Tensor, _ dLogits: Tensor) throws -> Void)? = nil,
                        adjustGradient: ((_ gradient: Tensor) throws -> Void)? = nil,
                        share: BatchShare? = nil) throws {
        let rows = batch.rows
        guard rows >= 1, rows <= network.maxBatch,
              batch.parts.allSatisfy({ $0.rows >= 1 && $0.offset >= 0 && $0.offset + $0.rows <= indices.count }) else {
            throw ContinualError.invalidOption("a training step takes 1...\(network.maxBatch) rows in parts of ≥ 1 row inside the \(indices.count) indices, found parts (offset, rows) \(batch.parts.map { ($0.offset, $0.rows) })")
        }
        let share = share ?? .whole(rows)
        guard share.total == rows, share.first >= 0, share.count >= 0, share.first + share.count <= rows,
              share.count == rows || reducer != nil else {
            throw ContinualError.invalidOption("a training step's share must be rows first..<first+count of its \(rows) rows (and a share smaller than the minibatch needs a gradient reducer), found \(share)")
        }
        if share.count > 0 {
            // The parts' rows inside the share: (part index, rows within the part, first row in the share).
            var pieces: [(part: Int, rows: Range<Int>, at: Int)] = []
            var start = 0
            for (p, part) in batch.parts.enumerated() {
                let low = max(start, share.first), high = min(start + part.rows, share.first + share.count)
                if low < high { pieces.append((p, (low - start)..<(high - start), low - share.first)) }
                start += part.rows
            }
            let width = network.inputSize
            for piece in pieces {
                let part = batch.parts[piece.part]
                let mine = indices.view(at: part.offset + piece.rows.lowerBound, shape: [piece.rows.count])
                try backend.gatherRows(part.source.images, indices: mine, rows: piece.rows.count, rowLength: width,
                                       scale: 1.0 / 255.0, into: network.input.view(at: piece.at * width, shape: [piece.rows.count, width]))
                try backend.gatherLabels(part.source.labels, indices: mine, rows: piece.rows.count,
                                         into: labels.view(at: piece.at, shape: [piece.rows.count]))
            }
            let logits = try network.forward(batch: share.count, training: true, step: dropoutStep, rowOffset: share.first)
            let dLogitsView = dLogits.leadingRows(share.count)
            // One part: its dLogits are the minibatch's. Several: each part's mean-loss gradient is
            // weighted by the part's share of the rows, so the sum is the gradient of the mean over all rows.
            let perPart: Tensor
            if pieces.count == 1 {
                perPart = dLogits
            } else {
                if partDLogits == nil {
                    partDLogits = Tensor(storage: try backend.allocate(.float32, count: dLogits.count), shape: dLogits.shape)
                }
                perPart = partDLogits!
            }
            func rowsOf(_ tensor: Tensor, _ piece: (part: Int, rows: Range<Int>, at: Int)) -> Tensor {
                tensor.view(at: piece.at * outputUnits, shape: [piece.rows.count, outputUnits])
            }
            for piece in pieces {
                let live = batch.parts[piece.part].source.liveUnits
                try backend.softmaxCrossEntropy(logits: rowsOf(logits, piece), labels: labels.view(at: piece.at, shape: [piece.rows.count]),
                                                batch: piece.rows.count, units: outputUnits,
                                                unitStart: live.lowerBound, unitCount: live.count,
                                                losses: losses.view(at: piece.at, shape: [piece.rows.count]),
                                                dLogits: rowsOf(perPart, piece))
            }
            try backend.accumulateSum(losses, count: share.count, into: lossSlot)
            for piece in pieces {
                try extraLoss?(piece.part, piece.rows, rowsOf(logits, piece), rowsOf(perPart, piece))
            }
            if pieces.count > 1 {
                try backend.fill(dLogitsView, value: 0)
                for piece in pieces {
                    try backend.accumulate(rowsOf(perPart, piece), into: rowsOf(dLogits, piece),
                                           scale: Float(piece.rows.count) / Float(share.count), transform: .identity)
                }
            }
            // `gradients` is now the UNREGULARISED task gradient; the penalty is added inside the fused update.
            try network.backward(dLogits: dLogitsView, batch: share.count, step: dropoutStep)
        } else {
            try backend.fill(network.gradients, value: 0)   // no rows here: contributes nothing to the sum
        }
        if let reducer { try reducer.reduce(network.gradients, on: backend, share: share) }
        try adjustGradient?(network.gradients)
        switch optimizer {
        case .adam:
            try backend.fusedSIUpdate(state, taskGradient: network.gradients, strength: strength,
                                      hyper: hyper, step: adamStep)
        case .sgd:
            // Plain SGD uses only the learning rate of `hyper`; m and v stay untouched.
            try backend.fusedSISGDUpdate(state, taskGradient: network.gradients, strength: strength,
                                         learningRate: hyper.learningRate)
        }
    }
}
