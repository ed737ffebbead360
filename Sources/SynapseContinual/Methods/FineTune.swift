// Fine-tuning: plain sequential training, nothing consolidated (the lower bound).

extension Method {
    /// Fine-tuning (`FineTune`).
    public static let finetune = Method(declared: "finetune")
}

/// Trains each task in turn with the task loss alone.
public final class FineTune: ContinualMethod {
    public static let method = Method.finetune
    public static let summary = "plain sequential training, no penalty"
    public init(options: NoOptions, trainer: ContinualTrainer) {}
    public var penaltyStrength: Float { 0 }
}
