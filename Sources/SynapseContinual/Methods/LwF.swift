// Learning without Forgetting (Li & Hoiem 2016), the functional approach: before each new task,
// the network's outputs on the new task's training inputs are recorded (on the device) for every
// earlier task's head; training then adds, to the new task's cross-entropy,
// λ·T²·KL(softmax(recorded/T) ‖ softmax(live/T)) for each earlier head, so the old heads keep
// answering the new inputs as they did before. Nothing is kept across tasks but those outputs.

import SynapseEngine

extension Method {
    /// Learning without Forgetting (`LwF`).
    public static let lwf = Method(declared: "lwf")
}

/// LwF's hyper-parameters.
public struct LwFOptions: MethodOptions {
    /// Weight λ of the distillation loss (Li & Hoiem's λ_o; 1 in their experiments).
    public var lambda: Float
    /// Softmax temperature T (> 1 softens the recorded answers; 2 as in Li & Hoiem).
    public var temperature: Float

    public init(lambda: Float = 1, temperature: Float = 2) { self.lambda = lambda; self.temperature = temperature }

    public static let parameters: [HyperParameter<LwFOptions>] = [
        .real("lambda", \.lambda, symbol: "λ", help: "penalty strength λ", accepted: "a number ≥ 0", valid: { $0 >= 0 }),
        .real("temperature", \.temperature, symbol: "T", help: "LwF distillation temperature T",
              accepted: "a number > 0", valid: { $0 > 0 }),
    ]

    public static func defaults(for p: ContinualProtocol) -> LwFOptions { LwFOptions() }
}

/// LwF: distillation of the earlier heads' recorded outputs while each new task trains.
public final class LwF: ContinualMethod {
    public static let method = Method.lwf
    public static let summary = "learning without forgetting: distil the earlier heads' recorded outputs, λ·T²·KL"
    let options: LwFOptions
    /// float32 [examples of the largest task, outputUnits]: the outputs recorded before the current task.
    private let recorded: Tensor
    /// Rows of `recorded` that hold the current task's examples (0 before any earlier task exists).
    private var recordedRows = 0
    /// float32 [maxBatch]: per-row distillation losses (not reported: the recorded loss is the cross-entropy).
    private let losses: Tensor
    /// The distinct unit ranges of the earlier heads for the current task.
    private var earlierHeads: [Range<Int>] = []

    public init(options: LwFOptions, trainer: ContinualTrainer) throws {
        self.options = options
        let backend = trainer.backend
        let rows = trainer.sequence.tasks.map(\.train.count).max()!
        let units = trainer.sequence.outputUnits
        recorded = Tensor(storage: try backend.allocate(.float32, count: rows * units), shape: [rows, units])
        losses = Tensor(storage: try backend.allocate(.float32, count: trainer.maxBatch), shape: [trainer.maxBatch])
    }

    public var penaltyStrength: Float { 0 }

    /// Records the current network's outputs (dropout off) on task t's training inputs.
    public func prepare(task t: Int, trainer: ContinualTrainer) throws {
        let sequence = trainer.sequence
        earlierHeads = []
        for j in 0..<t where !earlierHeads.contains(sequence.units(ofTask: j)) {
            earlierHeads.append(sequence.units(ofTask: j))
        }
        recordedRows = 0
        guard !earlierHeads.isEmpty else { return }
        let units = sequence.outputUnits
        try trainer.forEachInferenceBatch(of: trainer.data.train[t]) { logits, rows in
            try trainer.backend.copy(logits.view(at: 0, shape: [rows * units]),
                                     to: recorded.view(at: recordedRows * units, shape: [rows * units]))
            recordedRows += rows
        }
    }

    /// Distils on the rows of task t's training split (the outputs were recorded on them).
    public func addToLogitGradient(task t: Int, part: BatchPart, indices: Tensor, logits: Tensor, dLogits: Tensor,
                                   trainer: ContinualTrainer) throws {
        guard part.source.task == t, part.source.origin == .trainingSplit, recordedRows > 0 else { return }
        for head in earlierHeads {
            try trainer.backend.distillation(
                logits: logits, targets: recorded, indices: indices, batch: part.rows, units: trainer.sequence.outputUnits,
                targetRows: recordedRows, unitStart: head.lowerBound, unitCount: head.count,
                temperature: options.temperature, weight: options.lambda, losses: losses, dLogits: dLogits)
        }
    }
}
