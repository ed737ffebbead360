// Joint training: one network trained on the union of the tasks so far (the upper bound).

extension Method {
    /// Joint training (`Joint`).
    public static let joint = Method(declared: "joint")
}

/// Every epoch of task t trains on tasks 0...t: each task's shuffled examples are cut into
/// minibatches of that task alone, run in a seeded random order (`EpochSchedule.wholeTasks`), so
/// each example keeps its own head (multi-head) exactly as when its task is trained alone.
public final class Joint: ContinualMethod {
    public static let method = Method.joint
    public static let summary = "trains on the union of the tasks so far (upper bound)"
    public init(options: NoOptions, trainer: ContinualTrainer) {}
    public var penaltyStrength: Float { 0 }
    public func schedule(task t: Int, epoch e: Int, trainer: ContinualTrainer) throws -> EpochSchedule {
        .wholeTasks(Array(0...t), task: t, epoch: e, trainer: trainer)
    }
}
