// What a continual-learning run is asked to do: the method, its strengths, the optimizer, the
// protocol's schedule. Everything here is a plain value, so the tools serialise it beside the result.

import Foundation
import SynapseEngine

/// The continual-learning methods, selectable by name (the raw value is the command-line name).
public enum Method: String, Codable, Sendable, CaseIterable {
    /// Synaptic Intelligence exactly as SI.md: ω from the unregularised task gradient and the real
    /// Adam update, penalty c·ΣΩ(θ−θ*)², Ω ← max(0, Ω + ω/(Δ²+ξ)) at task end.
    case si
    /// Plain sequential training (SI with c = 0; nothing is consolidated).
    case finetune
    /// A fresh network and a fresh optimizer for every task.
    case scratch
    /// One network trained on the union of the tasks so far (the upper bound).
    case joint
    /// Elastic weight consolidation: one Fisher penalty per past task, λ/2·Σ_t Σ_k F_k(θ_k − θ*_k,t)².
    case ewc
    /// Online EWC: one running Fisher F ← γF + F_task and one anchor (the latest θ).
    case onlineEWC = "online-ewc"
    /// Memory-aware synapses: importance = mean |∂‖f(x)‖²/∂θ| over samples, f the live logits.
    case mas

    /// Parses a command-line name; the error lists the accepted names.
    public init(name: String) throws {
        guard let method = Method(rawValue: name.lowercased()) else {
            throw ContinualError.invalidOption(
                "method '\(name)' is unknown; expected one of \(Method.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = method
    }
}

/// How tasks map to output units.
public enum HeadMode: String, Codable, Sendable {
    /// Task t owns a consecutive block of units (Σ classCount units in all); only its block is live
    /// while it trains or is evaluated (the authors' masked softmax).
    case multiHead = "multi-head"
    /// Every task uses units 0 ..< classCount (permuted MNIST).
    case singleHead = "single-head"
}

/// Which Adam formulation the fused update follows (both use lr, β1, β2, ε of the options).
public enum AdamVariant: String, Codable, Sendable, CaseIterable {
    /// Kingma & Ba, as SI.md and `AdamHyper` state it: Δθ = −lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1^t),
    /// v̂ = v/(1−β2^t); a reset clears m, v and the step count t.
    case standard
    /// The authors' code (Keras 2.0 `Adam` inside pathint's `KOOptimizer`):
    /// Δθ = −lr·√(1−β2^t)/(1−β1^t) · m/(√v + ε), i.e. ε is added to √v, not to √v̂; and their
    /// `reset_optimizer` re-initialises only the variables made in the "wrapped_optimizer" scope
    /// (m and v): Keras' iteration counter is made outside it and keeps counting, so t is NOT
    /// reset and the steps after a task boundary are (almost) without bias correction.
    case keras
}

/// The options of a run. Defaults are split MNIST's protocol (SI.md); `ContinualOptions.protocol…`
/// give each protocol's values.
public struct ContinualOptions: Codable, Sendable, Equatable {
    public var method: Method
    /// Epochs per task (every method; `joint` runs them over the union of the tasks so far).
    public var epochsPerTask: Int
    /// Training minibatch size; the last, partial batch of an epoch is kept.
    public var batchSize: Int
    /// Examples per forward pass when evaluating or estimating importances (memory only; no effect on results).
    public var evaluationBatchSize: Int
    /// Adam (SI.md: lr 1e-3, β1 0.9, β2 0.999, ε 1e-8, bias correction).
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// SI strength c (the penalty is c·ΣΩ(θ−θ*)², no ½). Used by `si` only.
    public var c: Float
    /// SI damping ξ in Ω += ω/((θ−θ*)² + ξ). Used by `si` only.
    public var xi: Float
    /// Penalty strength λ of `ewc`, `online-ewc` (λ/2·ΣF(θ−θ*)²) and `mas` (λ·ΣΩ(θ−θ*)²).
    public var lambda: Float
    /// Decay γ of the running Fisher of `online-ewc`.
    public var gamma: Float
    /// Training examples per task used to estimate the Fisher (`ewc`, `online-ewc`); default 200.
    public var fisherSamples: Int
    /// Training examples per task used to estimate MAS importance; default 200.
    public var masSamples: Int
    /// Reset Adam (m, v ← 0, step count ← 0) after each task (SI.md: split MNIST yes, permuted MNIST no,
    /// split CIFAR yes). `scratch` always starts a fresh optimizer.
    public var resetOptimizerAtTaskBoundary: Bool
    /// The Adam formulation (default `.standard`, as SI.md; `.keras` is the authors' code).
    public var adamVariant: AdamVariant
    /// Seeds the initial weights, every shuffle (keyed by task and epoch), dropout masks and
    /// the labels drawn for the Fisher.
    public var seed: UInt64

    public init(method: Method = .si, epochsPerTask: Int = 10, batchSize: Int = 64,
                evaluationBatchSize: Int = 500, learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, epsilon: Float = 1e-8, c: Float = 1.0, xi: Float = 1e-3,
                lambda: Float = 100, gamma: Float = 1.0, fisherSamples: Int = 200, masSamples: Int = 200,
                resetOptimizerAtTaskBoundary: Bool = true, adamVariant: AdamVariant = .standard, seed: UInt64 = 0) {
        self.method = method; self.epochsPerTask = epochsPerTask; self.batchSize = batchSize
        self.evaluationBatchSize = evaluationBatchSize; self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.c = c; self.xi = xi
        self.lambda = lambda; self.gamma = gamma; self.fisherSamples = fisherSamples
        self.masSamples = masSamples; self.resetOptimizerAtTaskBoundary = resetOptimizerAtTaskBoundary
        self.adamVariant = adamVariant
        self.seed = seed
    }

    /// Split MNIST (SI.md): batch 64, 10 epochs, c 1.0, ξ 1e-3, Adam reset per task.
    public static func splitMNIST(method: Method = .si, seed: UInt64 = 0) -> ContinualOptions {
        ContinualOptions(method: method, epochsPerTask: 10, batchSize: 64, c: 1.0, xi: 1e-3,
                         resetOptimizerAtTaskBoundary: true, seed: seed)
    }

    /// Permuted MNIST (SI.md): batch 256, 20 epochs, c 0.1, ξ 0.1, NO Adam reset.
    public static func permutedMNIST(method: Method = .si, seed: UInt64 = 0) -> ContinualOptions {
        ContinualOptions(method: method, epochsPerTask: 20, batchSize: 256, c: 0.1, xi: 0.1,
                         resetOptimizerAtTaskBoundary: false, seed: seed)
    }

    /// Split CIFAR-10/100 (SI.md): batch 256, 60 epochs, c 0.1 (the paper also runs 0.01), ξ 1e-3, Adam reset.
    public static func splitCIFAR(method: Method = .si, seed: UInt64 = 0) -> ContinualOptions {
        ContinualOptions(method: method, epochsPerTask: 60, batchSize: 256, c: 0.1, xi: 1e-3,
                         resetOptimizerAtTaskBoundary: true, seed: seed)
    }

    /// Adam's hyper-parameters as the backend takes them (the `.standard` formulation).
    public var adam: AdamHyper {
        AdamHyper(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    /// The hyper-parameters for the update with Adam step `t` (≥ 1) under `adamVariant`. The backend
    /// computes −lr·m̂/(√v̂ + ε'); Keras computes −lr·√c2/c1·m/(√v + ε) = −lr·m̂/(√v̂ + ε/√c2) with
    /// c1 = 1−β1^t, c2 = 1−β2^t, so `.keras` is exactly the backend's update with ε' = ε/√c2.
    public func adam(atStep t: Int) -> AdamHyper {
        var hyper = adam
        if adamVariant == .keras {
            let correction2 = 1 - Foundation.pow(Double(beta2), Double(max(t, 1)))
            hyper.epsilon = Float(Double(epsilon) / correction2.squareRoot())
        }
        return hyper
    }

    /// The `c` handed to the fused update, g = g_task + 2·c·Ω⊙(θ − θ*): SI's c; λ/2 for the EWC
    /// family (their penalty λ/2·ΣF(θ−θ*)² has gradient λF(θ−θ*)); λ for MAS; 0 otherwise.
    public var fusedStrength: Float {
        switch method {
        case .si: return c
        case .ewc, .onlineEWC: return lambda / 2
        case .mas: return lambda
        case .finetune, .scratch, .joint: return 0
        }
    }

    /// Checks every value; the error names the option, what was expected and what was found.
    public func validate() throws {
        func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw ContinualError.invalidOption(message()) }
        }
        try require(epochsPerTask >= 1, "epochs per task must be ≥ 1, found \(epochsPerTask)")
        try require(batchSize >= 1, "batch size must be ≥ 1, found \(batchSize)")
        try require(evaluationBatchSize >= 1, "evaluation batch size must be ≥ 1, found \(evaluationBatchSize)")
        try require(learningRate.isFinite && learningRate > 0, "learning rate must be > 0, found \(learningRate)")
        try require(beta1 >= 0 && beta1 < 1, "β1 must be in [0, 1), found \(beta1)")
        try require(beta2 >= 0 && beta2 < 1, "β2 must be in [0, 1), found \(beta2)")
        try require(epsilon.isFinite && epsilon > 0, "ε must be > 0, found \(epsilon)")
        try require(c.isFinite && c >= 0, "c must be ≥ 0, found \(c)")
        try require(xi.isFinite && xi > 0, "ξ must be > 0 (it keeps Ω finite for parameters that did not move), found \(xi)")
        try require(lambda.isFinite && lambda >= 0, "λ must be ≥ 0, found \(lambda)")
        try require(gamma.isFinite && gamma >= 0 && gamma <= 1, "γ must be in [0, 1], found \(gamma)")
        try require(fisherSamples >= 1, "Fisher sample count must be ≥ 1, found \(fisherSamples)")
        try require(masSamples >= 1, "MAS sample count must be ≥ 1, found \(masSamples)")
    }
}

/// Errors of the continual-learning layer, each with what went wrong and where.
public enum ContinualError: Error, CustomStringConvertible, Equatable {
    /// An option or argument is out of range.
    case invalidOption(String)
    /// Tasks, network and data do not fit together.
    case mismatch(String)
    /// The training loss became NaN or infinite: the first such minibatch. All indices 0-based:
    /// `step` within the epoch (of `stepsInEpoch`), `globalStep` since the start of the run;
    /// `loss` is that minibatch's mean loss (nats per example).
    case diverged(task: Int, taskName: String, epoch: Int, step: Int, stepsInEpoch: Int, globalStep: Int, loss: Double)
    /// A saved state does not fit this run.
    case badState(String)

    public var description: String {
        switch self {
        case .invalidOption(let message): return "invalid option: \(message)"
        case .mismatch(let message): return "mismatch: \(message)"
        case let .diverged(task, name, epoch, step, steps, globalStep, loss):
            return "training diverged: task \(task + 1) ('\(name)'), epoch \(epoch + 1), step \(step + 1) of \(steps) "
                + "(global step \(globalStep + 1)): the minibatch loss is \(loss); lower the learning rate or the penalty strength"
        case .badState(let message): return "saved state does not fit: \(message)"
        }
    }
}
