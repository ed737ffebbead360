// When a run counts as diverged, beyond a NaN loss:
//
// - The state is unhealthy (`StateHealth`): some element of θ, θ*, Ω, ω, Adam m or v is NaN or
//   ±∞, or Ω or v is negative. The loss alone misses this: with multi-head masking and ReLU,
//   NaN weights feeding only masked units or dead ReLUs leave the live loss finite while the
//   saved network is garbage. The trainer runs the device check with every loss read, and the
//   tools check the whole state on the host before every checkpoint.
// - The loss blew up: a minibatch's mean loss above `lossLimit` nats per example. A cross-entropy
//   of L nats means the true class got probability e^−L; float32 cannot even represent a
//   probability below about e^−103, so a mean above 1000 nats means logits apart by more than
//   1000 on typical examples: the softmax is saturated, its gradients are ±1 or 0, and the run
//   (e.g. `--lr 1e30`, whose loss sits near 1e30 with finite weights) is no longer learning
//   anything. A working run's minibatch loss stays within a few nats of ln(classes).

import SynapseEngine

public enum Divergence {
    /// The most a minibatch's mean loss may be (nats per example) before the run counts as diverged.
    public static let lossLimit: Double = 1000
}

/// The state became unhealthy while the loss stayed finite (see `Divergence`).
public struct StateDivergence: Error, CustomStringConvertible, Equatable {
    /// 0-based task index and its name.
    public var task: Int
    public var taskName: String
    /// Where it was found, 0-based: the epoch and the step within it (of `stepsInEpoch`) and since
    /// the start of the run; nil step = found after the task's consolidation, before its checkpoint.
    public var epoch: Int
    public var step: Int?
    public var stepsInEpoch: Int
    public var globalStep: Int
    /// What is unhealthy.
    public var health: StateHealth

    public init(task: Int, taskName: String, epoch: Int, step: Int?, stepsInEpoch: Int, globalStep: Int,
                health: StateHealth) {
        self.task = task; self.taskName = taskName; self.epoch = epoch; self.step = step
        self.stepsInEpoch = stepsInEpoch; self.globalStep = globalStep; self.health = health
    }

    public var description: String {
        let place = step.map { "epoch \(epoch + 1), step \($0 + 1) of \(stepsInEpoch) (global step \(globalStep + 1))" }
            ?? "after its consolidation (last epoch \(epoch + 1), global step \(globalStep))"
        return "training diverged: task \(task + 1) ('\(taskName)'), \(place): the state is unhealthy "
            + "(\(health)) although the loss is finite; lower the learning rate or the penalty strength"
    }
}

extension TrainerState {
    /// The arrays every method saves: θ, θ*, Ω, ω, Adam m and v.
    public static let coreArrays = ["theta", "anchor", "importance", "omega", "adam.m", "adam.v"]

    /// The health of the six core arrays as `StateHealth` defines it (a missing array counts as
    /// healthy here; `SavedStateCheck` requires them).
    public var health: StateHealth {
        let empty: [Float] = []
        return StateHealth.of(theta: arrays["theta"] ?? empty, anchor: arrays["anchor"] ?? empty,
                              importance: arrays["importance"] ?? empty, omega: arrays["omega"] ?? empty,
                              m: arrays["adam.m"] ?? empty, v: arrays["adam.v"] ?? empty)
    }
}
