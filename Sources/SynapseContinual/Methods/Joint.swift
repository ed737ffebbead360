// Joint training: one network trained on the union of the tasks so far (the upper bound).

extension Method {
    /// Joint training (`Joint`).
    public static let joint = Method(declared: "joint")
}

/// Every epoch of task t trains on tasks 0...t. The trainer cuts each task's shuffled examples into
/// minibatches of that task alone and runs them in a seeded random order, so each example keeps its
/// own head (multi-head) exactly as when its task is trained alone.
public final class Joint: ContinualMethod {
    public static let method = Method.joint
    public static let summary = "trains on the union of the tasks so far (upper bound)"
    public init(options: NoOptions, trainer: ContinualTrainer) {}
    public var penaltyStrength: Float { 0 }
    public static func tasksTrained(inEpochOf t: Int) -> [Int] { Array(0...t) }
}
