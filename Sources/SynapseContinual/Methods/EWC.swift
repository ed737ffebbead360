// Elastic weight consolidation (Kirkpatrick et al. 2017): one Fisher penalty per past task,
// λ/2·Σ_t Σ_k F_k,t (θ_k − θ*_k,t)². The per-task quadratics are combined into one (docs/methods.md):
// Ω = Σ_t F_t and θ* = Σ_t F_t⊙θ*_t / Σ_t F_t (θ where Σ_t F_t = 0) have exactly the same gradient.

import SynapseEngine

extension Method {
    /// Elastic weight consolidation (`EWC`).
    public static let ewc = Method(declared: "ewc")
}

/// EWC's hyper-parameters.
public struct EWCOptions: MethodOptions {
    /// Penalty strength λ of λ/2·ΣF(θ−θ*)².
    public var lambda: Float
    /// Training examples per task for the Fisher estimate.
    public var samples: Int

    public init(lambda: Float = 100, samples: Int = 200) { self.lambda = lambda; self.samples = samples }

    public static let parameters: [HyperParameter<EWCOptions>] = [
        .real("lambda", \.lambda, symbol: "λ", help: "penalty strength λ", accepted: "a number ≥ 0", valid: { $0 >= 0 }),
        .count("samples", \.samples, symbol: "n", help: "training examples per task for the importance estimate",
               range: 1...1_000_000),
    ]

    public static func defaults(for p: ContinualProtocol) -> EWCOptions { EWCOptions() }
}

/// EWC: after each task, the diagonal Fisher of that task at the learned θ joins the penalty.
public final class EWC: ContinualMethod {
    public static let method = Method.ewc
    public static let summary = "elastic weight consolidation: one Fisher penalty λ/2·ΣF(θ−θ*)² per past task"
    let options: EWCOptions
    /// Σ_t F_t and Σ_t F_t⊙θ*_t on the host (enough to rebuild Ω and the combined anchor).
    private var fisherSum: [Float]?
    private var fisherAnchorSum: [Float]?

    /// The Fisher of each task, at its end.
    private let estimator: ImportanceEstimator

    public init(options: EWCOptions, trainer: ContinualTrainer) throws {
        self.options = options
        estimator = try ImportanceEstimator(trainer: trainer)
    }

    /// The fused update's penalty gradient is 2·strength·Ω(θ−θ*); EWC's is λF(θ−θ*).
    public var penaltyStrength: Float { options.lambda / 2 }

    public func consolidate(afterTask t: Int, trainer: ContinualTrainer) throws {
        let backend = trainer.backend, state = trainer.state
        let fisher = try backend.download(try estimator.fisherDiagonal(task: t, samples: options.samples).values)
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
        try backend.upload(sum, to: state.bigOmega)
        try backend.upload(anchor, to: state.anchor)
        try backend.fill(state.smallOmega, value: 0)
    }

    /// "ewc.fisherSum" (Σ_t F_t) and "ewc.fisherAnchorSum" (Σ_t F_t⊙θ*_t): the per-task F_t and
    /// θ*_t are not kept, because the penalty's gradient depends on them only through these sums.
    public func checkpointArrays() throws -> [String: [Float]] {
        guard let fisherSum, let fisherAnchorSum else { return [:] }
        return [Self.checkpointArrayNames[0]: fisherSum, Self.checkpointArrayNames[1]: fisherAnchorSum]
    }

    public static let checkpointArrayNames = ["ewc.fisherSum", "ewc.fisherAnchorSum"]

    public func restore(arrays: [String: [Float]], completedTasks: Int, parameterCount: Int) throws {
        guard completedTasks > 0 else { fisherSum = nil; fisherAnchorSum = nil; return }
        fisherSum = try checkpointArray(arrays, Self.checkpointArrayNames[0], count: parameterCount)
        fisherAnchorSum = try checkpointArray(arrays, Self.checkpointArrayNames[1], count: parameterCount)
    }

    public static func label(_ options: EWCOptions) -> String { "ewc (λ=\(HyperValues.format(options.value("lambda")!)))" }
}
