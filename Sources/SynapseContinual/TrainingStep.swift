// The training step of the continual trainer, as a public type so that a benchmark times exactly
// the step the trainer runs (not a copy of it). It only enqueues ops: no host wait.

import SynapseEngine

/// One SI/Adam training step on one minibatch, exactly as `ContinualTrainer` runs it:
/// gather (pixels/255) → gather labels → forward (dropout on) → masked softmax cross-entropy →
/// add the minibatch's summed loss to a one-element slot → the method's extra loss, if any → backward (the UNREGULARISED task
/// gradient) → `reducer` (data-parallel: the whole minibatch's gradient from every rank's share) →
/// fused update (penalty c·2Ω⊙(θ−θ*) added inside, Adam, ω ← ω − g_task⊙Δθ, θ ← θ + Δθ).
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
    ///   - images: uint8 [n, network.inputSize], the images as stored.
    ///   - sourceLabels: int32 [n], their class labels (global unit indices of the head).
    ///   - indices: int32 [rows], which rows of `images`/`labels` form the minibatch.
    ///   - rows: minibatch size, 1...network.maxBatch (a partial last batch is a smaller `rows`;
    ///     the loss is the mean over these rows).
    ///   - liveUnits: the output units of the minibatch's task; the others are masked out.
    ///   - strength: the `c` of the fused update (`ContinualMethod.penaltyStrength`; 0 = no penalty).
    ///   - optimizer: Adam (`fusedSIUpdate`) or plain SGD (`fusedSISGDUpdate`, lr from `hyper`).
    ///   - hyper: Adam's hyper-parameters for this update (`ContinualOptions.adam(atStep:)`).
    ///   - adamStep: Adam's step count t ≥ 1 of this update (bias correction).
    ///   - dropoutStep: keys this step's dropout masks (the trainer passes its global step).
    ///   - lossSlot: float32, one element: the minibatch's SUMMED cross-entropy is added to it (nats)
    ///     (with a share: the summed cross-entropy of this process's rows only).
    ///   - extraLoss: a method's loss on the outputs (LwF's distillation): called with the logits and
    ///     dLogits ([share.count, outputUnits]) of the rows this process computes, and that share of
    ///     the minibatch, after the cross-entropy and before the backward pass; it adds its gradient
    ///     (of its mean over those rows) to dLogits. Only enqueues.
    ///   - share: the rows of the minibatch this process computes (nil: all of them); a share
    ///     smaller than the minibatch needs a `reducer`.
    /// - Throws: `ContinualError.invalidOption` when `rows` is outside 1...network.maxBatch or the
    ///   share does not fit it; backend errors.
    public func enqueue(images: Tensor, labels sourceLabels: Tensor, indices: Tensor, rows: Int,
                        liveUnits: Range<Int>, strength: Float, optimizer: Optimizer = .adam, hyper: AdamHyper, adamStep: Int,
                        dropoutStep: UInt32, lossSlot: Tensor,
                        extraLoss: ((_ logits: Tensor, _ dLogits: Tensor, _ share: BatchShare) throws -> Void)? = nil,
                        share: BatchShare? = nil) throws {
        guard rows >= 1, rows <= network.maxBatch, indices.count >= rows else {
            throw ContinualError.invalidOption("a training step takes 1...\(network.maxBatch) rows (and as many indices), found \(rows) rows and \(indices.count) indices")
        }
        let share = share ?? .whole(rows)
        guard share.total == rows, share.first >= 0, share.count >= 0, share.first + share.count <= rows,
              share.count == rows || reducer != nil else {
            throw ContinualError.invalidOption("a training step's share must be rows first..<first+count of its \(rows) rows (and a share smaller than the minibatch needs a gradient reducer), found \(share)")
        }
        if share.count > 0 {
            let mine = indices.view(at: share.first, shape: [share.count])
            try backend.gatherRows(images, indices: mine, rows: share.count, rowLength: network.inputSize,
                                   scale: 1.0 / 255.0, into: network.input)
            try backend.gatherLabels(sourceLabels, indices: mine, rows: share.count, into: labels)
            let logits = try network.forward(batch: share.count, training: true, step: dropoutStep, rowOffset: share.first)
            let dLogitsView = dLogits.leadingRows(share.count)
            try backend.softmaxCrossEntropy(logits: logits, labels: labels, batch: share.count, units: outputUnits,
                                            unitStart: liveUnits.lowerBound, unitCount: liveUnits.count,
                                            losses: losses, dLogits: dLogitsView)
            try backend.accumulateSum(losses, count: share.count, into: lossSlot)
            try extraLoss?(logits, dLogitsView, share)
            // `gradients` is now the UNREGULARISED task gradient; the penalty is added inside the fused update.
            try network.backward(dLogits: dLogitsView, batch: share.count, step: dropoutStep)
        } else {
            try backend.fill(network.gradients, value: 0)   // no rows here: contributes nothing to the sum
        }
        if let reducer { try reducer.reduce(network.gradients, on: backend, share: share) }
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
