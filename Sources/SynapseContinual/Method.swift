// The continual-learning method abstraction and its registry. A method is one file in Methods/:
// its options (hyper-parameters, defaults, validation), what it adds to each training step, what it
// does before and after each task, which tasks an epoch trains on, and the arrays it checkpoints.
// The trainer (Trainer.swift) is the loop and the evaluation; it never asks which method it runs.
// docs/methods.md explains the design and walks through adding a method.

import Foundation
import SynapseEngine

/// A continual-learning method, selectable by name (`rawValue`, the command-line name). The known
/// methods are those in `MethodRegistry.all`; each method's file declares its static member
/// (`Method.si`, `Method.ewc`, ...).
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

    /// The tasks whose training data an epoch of task `t` trains on (default: `[t]`).
    static func tasksTrained(inEpochOf t: Int) -> [Int]

    /// Before task `t` trains (e.g. a fresh network).
    func prepare(task t: Int, trainer: ContinualTrainer) throws

    /// During a training step of task `t`, after the masked cross-entropy has written `dLogits`
    /// (float32 [rows, outputUnits], the gradient of the minibatch's mean loss) and before the
    /// backward pass: an extra loss on the outputs adds its gradient to `dLogits` (the recorded
    /// training loss stays the cross-entropy alone). `indices` (int32 [rows]) are the rows' indices in task `batch.task`'s
    /// training split. Only enqueues. Default: nothing.
    func addToLogitGradient(task t: Int, batch: TrainingBatch, indices: Tensor, logits: Tensor, dLogits: Tensor,
                            trainer: ContinualTrainer) throws

    /// After task `t` has trained, before evaluation: the consolidation (importance, anchor).
    func consolidate(afterTask t: Int, trainer: ContinualTrainer) throws

    /// The method's own arrays for a checkpoint (beyond θ, θ*, Ω, ω and Adam's m, v).
    func checkpointArrays() throws -> [String: [Float]]

    /// Restores the arrays of `checkpointArrays` after `completedTasks` finished tasks.
    func restore(arrays: [String: [Float]], completedTasks: Int, parameterCount: Int) throws

    /// The method with the strengths it used, for tables ("si (c=0.1)").
    static func label(_ options: Options) -> String
}

extension ContinualMethod {
    public static func tasksTrained(inEpochOf t: Int) -> [Int] { [t] }
    public func prepare(task t: Int, trainer: ContinualTrainer) throws {}
    public func addToLogitGradient(task t: Int, batch: TrainingBatch, indices: Tensor, logits: Tensor, dLogits: Tensor,
                                   trainer: ContinualTrainer) throws {}
    public func consolidate(afterTask t: Int, trainer: ContinualTrainer) throws {}
    public func checkpointArrays() throws -> [String: [Float]] { [:] }
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

    /// A method instance from type-erased options (which must be this method's).
    static func make(_ options: any MethodOptions, trainer: ContinualTrainer) throws -> any ContinualMethod {
        guard let own = options as? Options else {
            throw ContinualError.mismatch("\(method.rawValue) needs \(Options.self), got \(type(of: options))")
        }
        return try Self(options: own, trainer: trainer)
    }
}

/// The minibatch a training step runs: which task's data, where its indices start in the epoch's
/// index array, and how many rows.
public struct TrainingBatch: Sendable {
    /// The task whose training data the minibatch holds.
    public let task: Int
    /// Where its indices start in the epoch's index array.
    public let offset: Int
    /// Examples in the minibatch (the last of an epoch may be short).
    public let rows: Int
}
