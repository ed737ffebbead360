// Memory-aware synapses (Aljundi et al. 2018): importance = mean |∂‖f(x)‖²/∂θ| over samples, f the
// live logits; importances add up over tasks; penalty λ·ΣΩ(θ−θ*)².

import SynapseEngine

extension Method {
    /// Memory-aware synapses (`MAS`).
    public static let mas = Method(declared: "mas")
}

/// MAS's hyper-parameters.
public struct MASOptions: MethodOptions {
    /// Penalty strength λ of λ·ΣΩ(θ−θ*)².
    public var lambda: Float
    /// Training examples per task for the importance estimate.
    public var samples: Int

    public init(lambda: Float = 100, samples: Int = 200) { self.lambda = lambda; self.samples = samples }

    public static let parameters: [HyperParameter<MASOptions>] = [
        .real("lambda", \.lambda, symbol: "λ", help: "penalty strength λ", accepted: "a number ≥ 0", valid: { $0 >= 0 }),
        .count("samples", \.samples, symbol: "n", help: "training examples per task for the importance estimate",
               range: 1...1_000_000),
    ]

    public static func defaults(for p: ContinualProtocol) -> MASOptions { MASOptions() }
}

/// MAS: Ω ← Ω + I_t, θ* ← θ after each task.
public final class MAS: ContinualMethod {
    public static let method = Method.mas
    public static let summary = "memory-aware synapses: importance from the output norm's gradient, penalty λ·ΣΩ(θ−θ*)²"
    let options: MASOptions
    private let estimator: ImportanceEstimator

    public init(options: MASOptions, trainer: ContinualTrainer) throws {
        self.options = options
        estimator = try ImportanceEstimator(trainer: trainer)
    }

    /// The fused update's penalty gradient is 2·strength·Ω(θ−θ*); MAS's is 2λΩ(θ−θ*).
    public var penaltyStrength: Float { options.lambda }

    public func consolidate(afterTask t: Int, trainer: ContinualTrainer) throws {
        let backend = trainer.backend, state = trainer.state
        try backend.accumulate(try estimator.masImportance(task: t, samples: options.samples).values, into: state.bigOmega,
                               scale: 1, transform: .identity)
        try backend.copy(state.theta, to: state.anchor)
        try backend.fill(state.smallOmega, value: 0)
    }
}

extension ImportanceEstimator {
    /// MAS importance of task t at the current θ: mean over `samples` examples of
    /// |∂‖f(x)‖²/∂θ|, f = the logits of task t's live units (dropout off). Built from backend ops:
    /// dLogits = 2·f on the live units, 0 elsewhere, back-propagated one example at a time.
    public func masImportance(task t: Int, samples: Int) throws -> ImportanceEstimate {
        let chosen = try chooseSamples(task: t, count: samples, purpose: .masSamples)
        let (backend, network, data, sequence, dLogits) = (trainer.backend, trainer.network, trainer.data, trainer.sequence, trainer.dLogits)
        let split = data.train[t]
        let live = sequence.units(ofTask: t)
        try backend.fill(values, value: 0)
        let one = dLogits.leadingRows(1)
        for s in 0..<chosen.count {
            try backend.gatherRows(split.pixels, indices: sampleIndices.view(at: s, shape: [1]), rows: 1,
                                   rowLength: sequence.imageSize, scale: 1.0 / 255.0, into: network.input)
            let logits = try network.forward(batch: 1, training: false, step: 0)
            try backend.fill(one, value: 0)
            try backend.accumulate(logits.view(at: live.lowerBound, shape: [live.count]),
                                   into: one.view(at: live.lowerBound, shape: [live.count]), scale: 2, transform: .identity)
            try network.backward(dLogits: one, batch: 1, step: 0)
            try backend.accumulate(network.gradients, into: values, scale: 1 / Float(chosen.count), transform: .absolute)
        }
        return ImportanceEstimate(values: values, sampleIndices: chosen, drawnLabels: [])
    }
}
