// The continual-learning method abstraction and its registry. A method is one file in Methods/:
// its options (hyper-parameters, defaults, validation), what it adds to each training step (a
// penalty, an extra loss on the outputs, a change of the gradient before the update), what it does
// before and after each task, what each epoch's minibatches hold (its batch schedule), the arrays
// it checkpoints and the arrays it can record at each task's end.
// The trainer (Trainer.swift) is the loop and the evaluation; it never asks which method it runs.
// docs/methods.md explains the design and walks through adding a method.

import Foundation
import SynapseEngine

/// A continual-learning method, selectable by name (`rawValue`, the command-line name). The known
/// methods are those in `MethodRegistry.all`; each method's file declares its static member
/// (`extension Method { public static let <name> = Method(declared: "<name>") }`).
public struct Method: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The command-line name (also the JSON value and the file-name stem of results).
    public let rawValue: String

    /// For the methods' own declarations (`static let si = Method(declared: "si")`).
    init(declared name: String) { rawValue = name }

    /// The registered method called `rawValue`, or nil.
    public init?(rawValue: String) {
        guard MethodRegistry.all.contains(where: { $0.method.rawValue == rawValue }) else { return nil }
        self.rawValue = rawValue
    }

    /// Parses a command-line name (any case); the error lists the accepted names.
    public init(name: String) throws {
        guard let method = Method(rawValue: name.lowercased()) else {
            throw ContinualError.invalidOption(
                "method '\(name)' is unknown; expected one of \(Method.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = method
    }

    /// Every registered method, in registry order.
    public static var allCases: [Method] { MethodRegistry.all.map { $0.method } }

    /// The type that implements this method.
    public var implementation: any ContinualMethod.Type {
        MethodRegistry.all.first { $0.method == self }!
    }

    /// The command-line name.
    public var description: String { rawValue }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let method = Method(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "unknown method '\(name)'; expected one of \(Method.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        self = method
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The registry: one line per method. The order is the order of `Method.allCases` (help, tests).
public enum MethodRegistry {
    /// The method a run trains when none is named (the paper's).
    public static let standard: Method = .si

    /// The methods the tools run when `--method` is not given: SI and its lower bound, fine-tuning.
    public static let toolDefaults: [Method] = [.si, .finetune]

    /// Every method, one line each. Computed, not a stored `let`: metatypes of a protocol that
    /// is not `SendableMetatype` (Swift 6.2; the tools version is 6.1) are not Sendable globals.
    public static var all: [any ContinualMethod.Type] { [
        SynapticIntelligence.self,
        FineTune.self,
        Scratch.self,
        Joint.self,
        EWC.self,
        OnlineEWC.self,
        MAS.self,
        LwF.self,
    ] }

    /// Every hyper-parameter any method declares, once per flag (first declaration wins for the
    /// text), with the methods that declare it.
    public static var hyperParameters: [(info: HyperParameterInfo, methods: [Method])] {
        var result: [(info: HyperParameterInfo, methods: [Method])] = []
        for type in all {
            for info in type.optionsInfo {
                if let i = result.firstIndex(where: { $0.info.flag == info.flag }) {
                    result[i].methods.append(type.method)
                } else {
                    result.append((info, [type.method]))
                }
            }
        }
        return result
    }

    /// Every per-task recording any method declares, with the method that declares it.
    public static var recordings: [(recording: TaskRecording, method: Method)] {
        all.flatMap { type in type.recordings.map { ($0, type.method) } }
    }
}

/// One continual-learning method: an instance lives for one trainer (one run of one method) and
/// keeps whatever state the method carries between tasks.
///
/// Every hook but `init` has a default that does nothing, so a method states only what it adds.
public protocol ContinualMethod: AnyObject {
    associatedtype Options: MethodOptions
    /// The command-line name.
    static var method: Method { get }
    /// One line for `--help`: what the method does.
    static var summary: String { get }

    /// A fresh method for `trainer` (whose buffers exist; nothing trained yet).
    init(options: Options, trainer: ContinualTrainer) throws

    /// The strength handed to the fused update, whose penalty gradient is 2·strength·Ω⊙(θ − θ*)
    /// (0: no penalty).
    var penaltyStrength: Float { get }

    /// The minibatches of epoch `e` of task `t`: which rows each holds, from which source (a task's
    /// training split, `ContinualTrainer.trainingRows(ofTask:)`, or an array the method keeps), in
    /// which order. Called before each epoch, and by `ContinualTrainer.epochSize` (for any task,
    /// before it trains, e.g. on resume), so the minibatches' number and sizes and the sources'
    /// row counts must depend only on t and the run (seed, sizes, options), never on what the
    /// method has learned; every epoch of a task has the same number of minibatches. Data-parallel,
    /// every rank must compose the same schedule. Default: task t alone
    /// (`EpochSchedule.wholeTasks([t], ...)`).
    func schedule(task t: Int, epoch e: Int, trainer: ContinualTrainer) throws -> EpochSchedule

    /// Before task `t` trains (e.g. a fresh network).
    func prepare(task t: Int, trainer: ContinualTrainer) throws

    /// During a training step of task `t`, once per part of the minibatch, after the masked
    /// cross-entropy has written that part's `dLogits` (float32 [part.rows, outputUnits], the
    /// gradient of the part's mean loss; a minibatch of several parts weights each part by its
    /// share of the rows afterwards) and before the backward pass: an extra loss on the outputs
    /// adds its gradient to `dLogits` (the recorded training loss stays the cross-entropy alone).
    /// `logits` are the part's rows; `indices` (int32 [part.rows]) the rows' indices in
    /// `part.source`. Data-parallel, `part` is the share of a part this process computes. Only
    /// enqueues. Default: nothing.
    func addToLogitGradient(task t: Int, part: BatchPart, indices: Tensor, logits: Tensor, dLogits: Tensor,
                            trainer: ContinualTrainer) throws

    /// During a training step of task `t`, after the backward pass (data-parallel: after the
    /// gradient has been summed over the ranks, so every rank sees the same one) and before the
    /// fused update: `gradient` (float32 [parameterCount], the network's gradient buffer) holds the
    /// minibatch's unregularised task gradient, and the method may read it and overwrite it in
    /// place, e.g. a projection g ← g − (g·g_ref / g_ref·g_ref)·g_ref. The update then uses it as
    /// the task gradient: the penalty is added to it, and SI's ω integrates it. The method may run
    /// the network (forward and backward overwrite the gradient buffer, so keep a copy first).
    /// Only enqueues. Default: nothing.
    func adjustGradient(task t: Int, batch: TrainingBatch, gradient: Tensor, trainer: ContinualTrainer) throws

    /// After task `t` has trained, before evaluation: the consolidation (importance, anchor).
    func consolidate(afterTask t: Int, trainer: ContinualTrainer) throws

    /// The method's own arrays for a checkpoint (beyond θ, θ*, Ω, ω and Adam's m, v).
    func checkpointArrays() throws -> [String: [Float]]

    /// Every name `checkpointArrays` may use (a checkpoint holding an array no method declares is
    /// refused). Default: none.
    static var checkpointArrayNames: [String] { get }

    /// Restores the arrays of `checkpointArrays` after `completedTasks` finished tasks.
    func restore(arrays: [String: [Float]], completedTasks: Int, parameterCount: Int) throws

    /// The method with the strengths it used, for tables ("si (c=0.1)").
    static func label(_ options: Options) -> String

    /// The arrays the method can record at each task's end (`ContinualTrainer.record`), each
    /// switched on by its own command-line flag. Default: none.
    static var recordings: [TaskRecording] { get }

    /// The title of this run's panel in a recording's figure (`TaskRecording.Figure`). Default: `label`.
    static func figurePanelTitle(_ options: Options) -> String

    /// True when each task's accuracy right after its own training ("when learned") is the number
    /// that measures the method, not the accuracy after the last task (a fresh network per task).
    /// Default: false.
    static var measuredWhenLearned: Bool { get }
}

extension ContinualMethod {
    public func schedule(task t: Int, epoch e: Int, trainer: ContinualTrainer) throws -> EpochSchedule {
        .wholeTasks([t], task: t, epoch: e, trainer: trainer)
    }
    public func prepare(task t: Int, trainer: ContinualTrainer) throws {}
    public func addToLogitGradient(task t: Int, part: BatchPart, indices: Tensor, logits: Tensor, dLogits: Tensor,
                                   trainer: ContinualTrainer) throws {}
    public func adjustGradient(task t: Int, batch: TrainingBatch, gradient: Tensor, trainer: ContinualTrainer) throws {}
    public static var recordings: [TaskRecording] { [] }
    public static func figurePanelTitle(_ options: Options) -> String { label(options) }
    public static var measuredWhenLearned: Bool { false }
    public func consolidate(afterTask t: Int, trainer: ContinualTrainer) throws {}
    public func checkpointArrays() throws -> [String: [Float]] { [:] }
    public static var checkpointArrayNames: [String] { [] }
    public func restore(arrays: [String: [Float]], completedTasks: Int, parameterCount: Int) throws {}
    public static func label(_ options: Options) -> String {
        let values = options.values
        guard !values.isEmpty else { return method.rawValue }
        let shown = Options.parameters.filter { $0.kind == .real }.map { "\($0.symbol)=\(HyperValues.format($0.value(in: options)))" }
        return shown.isEmpty ? method.rawValue : "\(method.rawValue) (\(shown.joined(separator: ", ")))"
    }

    static var optionsInfo: [HyperParameterInfo] { Options.parameterInfo }
    static func defaultOptions(for p: ContinualProtocol) -> any MethodOptions { Options.defaults(for: p) }
    static func decodeOptions(from decoder: Decoder) throws -> any MethodOptions { try Options(from: decoder) }
    /// `label` for type-erased options (the method name alone when they are not this method's).
    public static func label(of options: any MethodOptions) -> String {
        (options as? Options).map { label($0) } ?? method.rawValue
    }

    /// `figurePanelTitle` for type-erased options (`label(of:)` when they are not this method's).
    public static func figurePanelTitle(of options: any MethodOptions) -> String {
        (options as? Options).map { figurePanelTitle($0) } ?? label(of: options)
    }

    /// A method instance from type-erased options (which must be this method's).
    static func make(_ options: any MethodOptions, trainer: ContinualTrainer) throws -> any ContinualMethod {
        guard let own = options as? Options else {
            throw ContinualError.mismatch("\(method.rawValue) needs \(Options.self), got \(type(of: options))")
        }
        return try Self(options: own, trainer: trainer)
    }
}

/// Named per-parameter arrays a method can record at each task's end (SI's ω before its
/// consolidation), switched on by a command-line flag the method declares. The tools write the
/// arrays of task t as tensor "<name>.task<t+1>" of `<run>.<name>.safetensors` and, when the
/// recording has a figure, draw it from every run that recorded it.
public struct TaskRecording: Sendable, Equatable {
    /// A figure drawn from the recorded arrays: per layer, the correlation between tasks
    /// (`OmegaCorrelation.perLayer`), one panel per run (titled by `figurePanelTitle`).
    public struct Figure: Sendable, Equatable {
        /// File stem in the results folder ("synapse-dynamics": .svg and .csv).
        public let file: String
        /// What it shows, after the protocol's title ("correlation of ω between tasks, per layer").
        public let title: String

        public init(file: String, title: String) { self.file = file; self.title = title }
    }

    /// The arrays' name ("omega"): the file and tensor names.
    public let name: String
    /// The command-line switch without dashes ("record-omega"); it takes no value.
    public let flag: String
    /// One line for `--help`: what is recorded.
    public let help: String
    /// The figure drawn from it, if any.
    public let figure: Figure?

    public init(name: String, flag: String, help: String, figure: Figure?) {
        self.name = name; self.flag = flag; self.help = help; self.figure = figure
    }
}
