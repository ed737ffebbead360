// What a continual-learning run is asked to do: the method with its options, the optimizer, the
// protocol's schedule. Everything here is a plain value, so the tools serialise it beside the result.

import Foundation
import SynapseEngine

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
    /// Kingma & Ba, as docs/algorithm.md and `AdamHyper` state it: Δθ = −lr·m̂/(√v̂ + ε) with m̂ = m/(1−β1^t),
    /// v̂ = v/(1−β2^t); a reset clears m, v and the step count t.
    case standard
    /// The authors' code (Keras 2.0 `Adam` inside pathint's `KOOptimizer`):
    /// Δθ = −lr·√(1−β2^t)/(1−β1^t) · m/(√v + ε), i.e. ε is added to √v, not to √v̂; and their
    /// `reset_optimizer` re-initialises only the variables made in the "wrapped_optimizer" scope
    /// (m and v): Keras' iteration counter is made outside it and keeps counting, so t is NOT
    /// reset and the steps after a task boundary are (almost) without bias correction.
    case keras
}

/// The optimizer of the training step (both add the penalty gradient and accumulate ω inside one fused update).
public enum Optimizer: String, Codable, Sendable, CaseIterable {
    /// Adam (`AdamVariant` says which formulation): the protocols' optimizer.
    case adam
    /// Plain gradient descent, Δθ = −lr·(g + penalty gradient): the setting of the paper's theory (Ω → H/2).
    case sgd
}

/// Which tasks are evaluated on their test split after each task.
public enum EvaluatedTasks: String, Codable, Sendable, CaseIterable {
    /// Every task, seen and unseen: row i of the accuracy matrix holds R[i][j] for every j, the
    /// protocols' schedule (docs/protocols.md).
    case all
    /// Only the tasks trained so far: row i holds R[i][0...i]. The final row, average accuracy,
    /// backward transfer and "when learned" are the same as with `all`; forgetting's max runs over
    /// the rows after each task was trained only (with `all` the rows before it count too, which
    /// matters only for a task that ends below its untrained accuracy). Saves the forward passes
    /// over the unseen tasks' test splits: with T tasks, (T − 1)/2T of the evaluation.
    case seen
}

/// The protocols whose values the defaults follow (docs/protocols.md).
public enum ContinualProtocol: String, Codable, Sendable, CaseIterable {
    case splitMNIST, permutedMNIST, splitCIFAR
}

/// The options of a run: the method with its own options (`methodOptions`), and what every method
/// shares (schedule, Adam, seed). Defaults are split MNIST's protocol (docs/protocols.md);
/// `init(method:protocol:seed:)` gives each protocol's values.
public struct ContinualOptions: Codable, Sendable, Equatable {
    /// The method; `methodOptions` is its options type.
    public private(set) var method: Method
    /// The method's hyper-parameters (its `ContinualMethod.Options`).
    public private(set) var methodOptions: any MethodOptions
    /// Epochs per task (every method; `joint` runs them over the union of the tasks so far).
    public var epochsPerTask: Int
    /// Training minibatch size; the last, partial batch of an epoch is kept.
    public var batchSize: Int
    /// Examples per forward pass when evaluating or estimating importances (memory only; no effect on results).
    public var evaluationBatchSize: Int
    /// Which tasks are evaluated after each task (default `.all`, the protocols').
    public var evaluatedTasks: EvaluatedTasks
    /// Adam (docs/algorithm.md: lr 1e-3, β1 0.9, β2 0.999, ε 1e-8, bias correction).
    public var learningRate: Float
    /// Adam β1 (first-moment decay).
    public var beta1: Float
    /// Adam β2 (second-moment decay).
    public var beta2: Float
    /// Adam ε (added to the root of the second moment).
    public var epsilon: Float
    /// Reset Adam (m, v ← 0, step count ← 0) after each task (docs/protocols.md: split MNIST yes,
    /// permuted MNIST no, split CIFAR yes). `scratch` always starts a fresh optimizer.
    public var resetOptimizerAtTaskBoundary: Bool
    /// The Adam formulation (default `.keras`: the authors' code, which the protocols' published
    /// numbers were run with; `.standard` is docs/algorithm.md's textbook Adam).
    public var adamVariant: AdamVariant
    /// Adam (default, every protocol) or plain SGD with the same learning rate.
    public var optimizer: Optimizer
    /// Seeds the initial weights, every shuffle (keyed by task and epoch), dropout masks and
    /// the samples and labels drawn for importance estimates.
    public var seed: UInt64

    /// Options for `method` starting from protocol `proto`'s schedule and the method's defaults for
    /// it; every other argument overrides one shared value (nil: the protocol's). `settings` holds
    /// hyper-parameter values by flag (`["lambda": 10, "samples": 500]`); each is applied when `method`
    /// has that hyper-parameter and ignored otherwise (as on the command line, where `--lambda`
    /// sets every listed method that has a λ). All values are checked by `validate`.
    public init(method: Method = MethodRegistry.standard, protocol proto: ContinualProtocol = .splitMNIST, epochsPerTask: Int? = nil,
                batchSize: Int? = nil, evaluationBatchSize: Int = 500, evaluatedTasks: EvaluatedTasks = .all, learningRate: Float = 1e-3, beta1: Float = 0.9,
                beta2: Float = 0.999, epsilon: Float = 1e-8, resetOptimizerAtTaskBoundary: Bool? = nil,
                adamVariant: AdamVariant = .keras, optimizer: Optimizer = .adam, seed: UInt64 = 0,
                settings: [String: Double] = [:]) {
        self.method = method
        methodOptions = method.implementation.defaultOptions(for: proto)
        self.epochsPerTask = epochsPerTask ?? [.splitMNIST: 10, .permutedMNIST: 20, .splitCIFAR: 60][proto]!
        self.batchSize = batchSize ?? (proto == .splitMNIST ? 64 : 256)
        self.evaluationBatchSize = evaluationBatchSize; self.evaluatedTasks = evaluatedTasks; self.learningRate = learningRate
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.resetOptimizerAtTaskBoundary = resetOptimizerAtTaskBoundary ?? (proto != .permutedMNIST)
        self.adamVariant = adamVariant
        self.optimizer = optimizer
        self.seed = seed
        for (flag, value) in settings.sorted(by: { $0.key < $1.key }) { settingsErrors += (try? setIfDeclared(flag, value)) == nil ? [flag] : [] }
    }

    /// Flags whose value `init(settings:)` could not take (reported by `validate`).
    private var settingsErrors: [String] = []

    /// Split MNIST (docs/protocols.md): batch 64, 10 epochs, c 1.0, ξ 1e-3, Adam reset per task.
    public static func splitMNIST(method: Method = MethodRegistry.standard, seed: UInt64 = 0) -> ContinualOptions {
        ContinualOptions(method: method, protocol: .splitMNIST, seed: seed)
    }

    /// Permuted MNIST (docs/protocols.md): batch 256, 20 epochs, c 0.1, ξ 0.1, NO Adam reset.
    public static func permutedMNIST(method: Method = MethodRegistry.standard, seed: UInt64 = 0) -> ContinualOptions {
        ContinualOptions(method: method, protocol: .permutedMNIST, seed: seed)
    }

    /// Split CIFAR-10/100 (docs/protocols.md): batch 256, 60 epochs, c 0.1 (the paper also runs 0.01), ξ 1e-3, Adam reset.
    public static func splitCIFAR(method: Method = MethodRegistry.standard, seed: UInt64 = 0) -> ContinualOptions {
        ContinualOptions(method: method, protocol: .splitCIFAR, seed: seed)
    }

    /// The method's hyper-parameter `flag`, nil when the method has none of that name.
    public func hyperParameter(_ flag: String) -> Double? { methodOptions.value(flag) }

    /// Sets the method's hyper-parameter `flag` (checked) when it has one; returns whether it has.
    @discardableResult
    public mutating func setIfDeclared(_ flag: String, _ value: Double) throws -> Bool {
        guard MethodRegistry.hyperParameters.contains(where: { $0.info.flag == flag }) else {
            throw ContinualError.invalidOption("--\(flag): no method has this hyper-parameter")
        }
        var options = methodOptions
        let declared = try options.set(flag, value)
        methodOptions = options
        return declared
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

    /// Checks every value; the error names the option, what was expected and what was found.
    public func validate() throws {
        func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw ContinualError.invalidOption(message()) }
        }
        if let flag = settingsErrors.first {
            throw ContinualError.invalidOption("--\(flag): not a hyper-parameter of any method, or out of range")
        }
        try require(epochsPerTask >= 1, "epochs per task must be ≥ 1, found \(epochsPerTask)")
        try require(batchSize >= 1, "batch size must be ≥ 1, found \(batchSize)")
        try require(evaluationBatchSize >= 1, "evaluation batch size must be ≥ 1, found \(evaluationBatchSize)")
        try require(learningRate.isFinite && learningRate > 0, "learning rate must be > 0, found \(learningRate)")
        try require(beta1 >= 0 && beta1 < 1, "β1 must be in [0, 1), found \(beta1)")
        try require(beta2 >= 0 && beta2 < 1, "β2 must be in [0, 1), found \(beta2)")
        try require(epsilon.isFinite && epsilon > 0, "ε must be > 0, found \(epsilon)")
        try methodOptions.validate()
    }

    // The method's options are stored under "method_options", decoded by the method's own type.
    enum CodingKeys: String, CodingKey {
        case method, methodOptions = "method_options", epochsPerTask, batchSize, evaluationBatchSize, evaluatedTasks, learningRate
        case beta1, beta2, epsilon, resetOptimizerAtTaskBoundary, adamVariant, optimizer, seed
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        method = try c.decode(Method.self, forKey: .method)
        methodOptions = try method.implementation.decodeOptions(from: try c.superDecoder(forKey: .methodOptions))
        epochsPerTask = try c.decode(Int.self, forKey: .epochsPerTask)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        evaluationBatchSize = try c.decode(Int.self, forKey: .evaluationBatchSize)
        // Saved before the option existed: every task was evaluated.
        evaluatedTasks = try c.decodeIfPresent(EvaluatedTasks.self, forKey: .evaluatedTasks) ?? .all
        learningRate = try c.decode(Float.self, forKey: .learningRate)
        beta1 = try c.decode(Float.self, forKey: .beta1)
        beta2 = try c.decode(Float.self, forKey: .beta2)
        epsilon = try c.decode(Float.self, forKey: .epsilon)
        resetOptimizerAtTaskBoundary = try c.decode(Bool.self, forKey: .resetOptimizerAtTaskBoundary)
        adamVariant = try c.decodeIfPresent(AdamVariant.self, forKey: .adamVariant) ?? .standard
        // Saved before the option existed: every run used Adam.
        optimizer = try c.decodeIfPresent(Optimizer.self, forKey: .optimizer) ?? .adam
        seed = try c.decode(UInt64.self, forKey: .seed)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try methodOptions.encode(to: c.superEncoder(forKey: .methodOptions))
        try c.encode(epochsPerTask, forKey: .epochsPerTask)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(evaluationBatchSize, forKey: .evaluationBatchSize)
        try c.encode(evaluatedTasks, forKey: .evaluatedTasks)
        try c.encode(learningRate, forKey: .learningRate)
        try c.encode(beta1, forKey: .beta1)
        try c.encode(beta2, forKey: .beta2)
        try c.encode(epsilon, forKey: .epsilon)
        try c.encode(resetOptimizerAtTaskBoundary, forKey: .resetOptimizerAtTaskBoundary)
        try c.encode(adamVariant, forKey: .adamVariant)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(seed, forKey: .seed)
    }

    public static func == (a: ContinualOptions, b: ContinualOptions) -> Bool {
        a.method == b.method && a.methodOptions.isEqual(b.methodOptions) && a.epochsPerTask == b.epochsPerTask
            && a.batchSize == b.batchSize && a.evaluationBatchSize == b.evaluationBatchSize
            && a.evaluatedTasks == b.evaluatedTasks
            && a.learningRate == b.learningRate && a.beta1 == b.beta1 && a.beta2 == b.beta2 && a.epsilon == b.epsilon
            && a.resetOptimizerAtTaskBoundary == b.resetOptimizerAtTaskBoundary && a.adamVariant == b.adamVariant
            && a.optimizer == b.optimizer
            && a.seed == b.seed && a.settingsErrors == b.settingsErrors
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
