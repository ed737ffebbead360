// Online EWC (Schwarz et al. 2018): one running Fisher F ← γF + F_task and one anchor (the latest θ).

import SynapseEngine

extension Method {
    /// Online EWC (`OnlineEWC`).
    public static let onlineEWC = Method(declared: "online-ewc")
}

/// Online EWC's hyper-parameters.
public struct OnlineEWCOptions: MethodOptions {
    /// Penalty strength λ of λ/2·ΣF(θ−θ*)².
    public var lambda: Float
    /// Decay γ of the running Fisher.
    public var gamma: Float
    /// Training examples per task for the Fisher estimate.
    public var samples: Int

    public init(lambda: Float = 100, gamma: Float = 1.0, samples: Int = 200) {
        self.lambda = lambda; self.gamma = gamma; self.samples = samples
    }

    public static let parameters: [HyperParameter<OnlineEWCOptions>] = [
        .real("lambda", \.lambda, symbol: "λ", help: "penalty strength λ", accepted: "a number ≥ 0", valid: { $0 >= 0 }),
        .real("gamma", \.gamma, symbol: "γ", help: "decay γ of the running Fisher", accepted: "a number in [0, 1]",
              valid: { $0 >= 0 && $0 <= 1 }),
        .count("samples", \.samples, symbol: "n", help: "training examples per task for the importance estimate",
               range: 1...1_000_000),
    ]

    public static func defaults(for p: ContinualProtocol) -> OnlineEWCOptions { OnlineEWCOptions() }
}

/// Online EWC: Ω ← γΩ + F_t, θ* ← θ after each task.
public final class OnlineEWC: ContinualMethod {
    public static let method = Method.onlineEWC
    public static let summary = "online EWC: one running Fisher F ← γF + F_task, anchored at the latest θ"
    let options: OnlineEWCOptions

    /// The Fisher of each task, at its end.
    private let estimator: ImportanceEstimator

    public init(options: OnlineEWCOptions, trainer: ContinualTrainer) throws {
        self.options = options
        estimator = try ImportanceEstimator(trainer: trainer)
    }

    /// The fused update's penalty gradient is 2·strength·Ω(θ−θ*); this penalty's is λF(θ−θ*).
    public var penaltyStrength: Float { options.lambda / 2 }

    public func consolidate(afterTask t: Int, trainer: ContinualTrainer) throws {
        let backend = trainer.backend, state = trainer.state
        let fisher = try backend.download(try estimator.fisherDiagonal(task: t, samples: options.samples).values)
        var running = try backend.download(state.bigOmega)
        for k in 0..<running.count { running[k] = options.gamma * running[k] + fisher[k] }
        try backend.upload(running, to: state.bigOmega)
        try backend.copy(state.theta, to: state.anchor)
        try backend.fill(state.smallOmega, value: 0)
    }
}
