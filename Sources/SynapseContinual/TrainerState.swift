// A trainer's complete state between tasks, for checkpoints: capture it, and restore it after
// checking it against this run (`SavedStateCheck`).

import Foundation
import SynapseData
import SynapseEngine

extension ContinualTrainer {
    // MARK: Resumability

    /// The complete state after a finished task: enough to continue the run exactly (shuffles,
    /// dropout and Fisher labels are pure functions of (seed, task, epoch, step), so counters suffice).
    ///
    /// Arrays (float32, `parameterCount` each): "theta", "anchor", "importance", "omega", "adam.m",
    /// "adam.v", and the method's own (`ContinualMethod.checkpointArrays`, e.g. EWC's Fisher sums).
    /// Counters: "completedTasks", "globalStep", "adamStep".
    public func captureState() throws -> TrainerState {
        var arrays: [String: [Float]] = [
            "theta": try backend.download(state.theta),
            "anchor": try backend.download(state.anchor),
            "importance": try backend.download(state.bigOmega),
            "omega": try backend.download(state.smallOmega),
            "adam.m": try backend.download(state.m),
            "adam.v": try backend.download(state.v),
        ]
        for (name, values) in try method.checkpointArrays() {
            guard arrays[name] == nil else { throw ContinualError.badState("the method's array '\(name)' clashes with the trainer's") }
            arrays[name] = values
        }
        return TrainerState(arrays: arrays,
                            counters: ["completedTasks": completedTasks, "globalStep": globalStep, "adamStep": adamStep],
                            result: result)
    }

    /// Restores a state captured by `captureState` (same tasks, network and options); `run` then
    /// continues with task `completedTasks`.
    public func restore(_ saved: TrainerState) throws {
        // Counters, result rows, array sizes and health, against this run (throws the first misfit).
        try SavedStateCheck.validate(saved, for: SavedStateCheck.Run(
            options: options, taskNames: result.taskNames,
            stepsPerEpoch: try sequence.tasks.indices.map { try epochSize(task: $0).steps },
            parameterCount: network.parameterCount))
        let p = network.parameterCount
        func array(_ name: String) throws -> [Float] { try checkpointArray(saved.arrays, name, count: p) }
        func counter(_ name: String) throws -> Int {
            guard let value = saved.counters[name] else { throw ContinualError.badState("counter '\(name)' is missing") }
            return value
        }
        let completed = try counter("completedTasks")
        let names = ["theta": state.theta, "anchor": state.anchor, "importance": state.bigOmega,
                     "omega": state.smallOmega, "adam.m": state.m, "adam.v": state.v]
        var loaded: [(Tensor, [Float])] = []
        for (name, tensor) in names { loaded.append((tensor, try array(name))) }
        let steps = (try counter("globalStep"), try counter("adamStep"))
        // The method's state is restored into a fresh instance first, so a failure leaves this trainer as it was.
        let restored = try options.method.implementation.make(options.methodOptions, trainer: self)
        try restored.restore(arrays: saved.arrays, completedTasks: completed, parameterCount: p)
        for (tensor, values) in loaded { try backend.upload(values, to: tensor) }
        method = restored
        (globalStep, adamStep) = steps
        result = saved.result
    }
}

/// The array `name` of a saved state, checked to hold `count` values.
func checkpointArray(_ arrays: [String: [Float]], _ name: String, count: Int) throws -> [Float] {
    guard let values = arrays[name] else { throw ContinualError.badState("array '\(name)' is missing") }
    guard values.count == count else {
        throw ContinualError.badState("array '\(name)' has \(values.count) values, the network has \(count) parameters")
    }
    return values
}

/// A trainer's complete state between tasks, as named arrays and counters (see `captureState`).
public struct TrainerState: Codable, Sendable {
    /// Named float32 arrays (see `ContinualTrainer.captureState`).
    public var arrays: [String: [Float]]
    /// Named counters: "completedTasks", "globalStep", "adamStep".
    public var counters: [String: Int]
    /// The result so far (its options identify the run).
    public var result: ContinualResult

    /// A state from its parts.
    public init(arrays: [String: [Float]], counters: [String: Int], result: ContinualResult) {
        self.arrays = arrays; self.counters = counters; self.result = result
    }
}
