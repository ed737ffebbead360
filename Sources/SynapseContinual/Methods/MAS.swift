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

    public init(options: MASOptions, trainer: ContinualTrainer) { self.options = options }

    /// The fused update's penalty gradient is 2·strength·Ω(θ−θ*); MAS's is 2λΩ(θ−θ*).
    public var penaltyStrength: Float { options.lambda }

    public func consolidate(afterTask t: Int, trainer: ContinualTrainer) throws {
        let backend = trainer.backend, state = trainer.state
        try backend.accumulate(try trainer.masImportance(task: t, samples: options.samples).values, into: state.bigOmega,
                               scale: 1, transform: .identity)
        try backend.copy(state.theta, to: state.anchor)
        try backend.fill(state.smallOmega, value: 0)
    }
}
