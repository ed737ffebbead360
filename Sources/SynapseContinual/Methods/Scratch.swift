// From scratch: a fresh network and a fresh optimizer for every task.

import SynapseEngine

extension Method {
    /// A fresh network per task (`Scratch`).
    public static let scratch = Method(declared: "scratch")
}

/// Trains every task on a newly initialised network (seeded by the task) with a new optimizer.
public final class Scratch: ContinualMethod {
    public static let method = Method.scratch
    public static let summary = "a fresh network and optimizer for every task"
    public init(options: NoOptions, trainer: ContinualTrainer) {}
    public var penaltyStrength: Float { 0 }
    /// After the last task only the last task's network is left: what measures scratch is each
    /// task's accuracy right after its own training.
    public static var measuredWhenLearned: Bool { true }

    public func prepare(task t: Int, trainer: ContinualTrainer) throws {
        guard t > 0 else { return }
        let backend = trainer.backend, state = trainer.state
        try trainer.network.initializeParameters(
            seed: CounterRandom(seed: trainer.options.seed, purpose: .initialization, task: t, epoch: 0).derivedSeed)
        try backend.copy(state.theta, to: state.anchor)
        try backend.fill(state.smallOmega, value: 0)
        try backend.fill(state.bigOmega, value: 0)
        // A fresh optimizer in both Adam variants: the authors' scratch runs re-initialise every
        // variable, Keras' iteration counter included.
        try trainer.resetOptimizer(keepingStepCount: false)
    }
}
