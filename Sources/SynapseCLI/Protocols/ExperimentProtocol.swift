// The protocols the tools run, as a registry like the methods': each protocol is one file in this
// folder (its tasks and where they come from, its network, its schedule family, its task and data
// counts, what its data folder must hold, the numbers the authors published for it and when they
// apply). `ProtocolRegistry.all` lists them; nothing else names a protocol's particulars.

import SynapseContinual
import SynapseData
import SynapseEngine

/// The three executables.
public enum Tool: String, Codable, Sendable, CaseIterable {
    case cifarSplit = "cifar-split"
    case splitMNIST = "split-mnist"
    case permutedMNIST = "permuted-mnist"
}

/// Everything that defines one protocol. Each conforming type is one file in Protocols/.
public protocol ProtocolDefinition {
    /// The protocol's name (config.json's "protocol").
    static var experimentProtocol: ExperimentProtocol { get }
    /// Human-readable name for tables and charts.
    static var title: String { get }
    /// Tasks in the full protocol.
    static var taskCount: Int { get }
    /// Whether `--tasks` may exceed `taskCount` (permuted MNIST can draw any number of permutations).
    static var allowsMoreTasks: Bool { get }
    /// How tasks map to output units.
    static var headMode: HeadMode { get }
    /// Whose schedule (epochs, batch, optimizer reset) and method defaults it uses (docs/protocols.md).
    static var schedule: ContinualProtocol { get }
    /// The network for `outputUnits` output units.
    static func architecture(outputUnits: Int) -> (inputShape: [Int], layers: [LayerSpec])
    /// Training and test images over `tasks` tasks when all of the data set is loaded (nil for a
    /// task count the protocol does not define).
    static func fullDataCounts(tasks: Int) -> (train: Int, test: Int)?
    /// Reads the data set from `folder` and cuts it into the protocol's tasks. `classNames` names
    /// the classes of an MNIST-format set (digits or Fashion-MNIST); `warn` takes warnings.
    static func loadTasks(folder: String, limits: TaskBuilder.Limits, taskCount: Int, seed: UInt64,
                          warn: (String) -> Void) throws -> [ContinualTask]
    /// What `folder` must hold, for the message of a failed load (lines after "Expected ...").
    static func expectedData(in folder: String) -> String
    /// The authors' published numbers (`PublishedResults`).
    static var published: [PublishedResults.Row] { get }
    /// Why this protocol's published numbers never apply (nil: they do when the run follows it).
    static var notInThePaper: String? { get }
    /// Why the data in `folder` is not the data the published numbers were measured on (empty: it may be).
    static func dataDeviations(folder: String) -> [String]
}

extension ProtocolDefinition {
    public static var allowsMoreTasks: Bool { false }
    public static var notInThePaper: String? { nil }
    public static func dataDeviations(folder: String) -> [String] { [] }
}

/// The registry: one line per protocol.
public enum ProtocolRegistry {
    /// Every protocol, one line each. Computed, as `MethodRegistry.all` is: an array of metatypes
    /// is not a Sendable global under the 6.1 tools.
    public static var all: [any ProtocolDefinition.Type] { [
        SplitMNIST.self,
        PermutedMNIST.self,
        SplitCIFAR10_100.self,
        SplitCIFAR10.self,
    ] }
}

/// A protocol's name; its definition is `definition` (declared in its own file).
public struct ExperimentProtocol: Hashable, Codable, Sendable, CustomStringConvertible {
    /// The name (config.json's "protocol", e.g. "split-mnist").
    public let rawValue: String

    /// For the protocols' own declarations.
    init(declared name: String) { rawValue = name }

    /// The registered protocol called `rawValue`, or nil.
    public init?(rawValue: String) {
        guard ProtocolRegistry.all.contains(where: { $0.experimentProtocol.rawValue == rawValue }) else { return nil }
        self.rawValue = rawValue
    }

    /// Every registered protocol, in registry order.
    public static var allCases: [ExperimentProtocol] { ProtocolRegistry.all.map { $0.experimentProtocol } }

    /// The definition (every protocol is registered: the initialisers admit no other name).
    public var definition: any ProtocolDefinition.Type {
        ProtocolRegistry.all.first { $0.experimentProtocol == self }!
    }

    public var description: String { rawValue }

    public init(from decoder: Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let known = ExperimentProtocol(rawValue: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription:
                "unknown protocol '\(name)'; expected one of \(Self.allCases.map(\.rawValue).joined(separator: ", "))"))
        }
        self = known
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    // The definition's facts, for brevity at the call sites.
    public var title: String { definition.title }
    public var taskCount: Int { definition.taskCount }
    public var allowsMoreTasks: Bool { definition.allowsMoreTasks }
    public var headMode: HeadMode { definition.headMode }
    public var continualProtocol: ContinualProtocol { definition.schedule }
    public func fullDataCounts(tasks: Int) -> (train: Int, test: Int)? { definition.fullDataCounts(tasks: tasks) }
    public func architecture(outputUnits: Int) -> (inputShape: [Int], layers: [LayerSpec]) {
        definition.architecture(outputUnits: outputUnits)
    }

    /// The schedule and method strengths of docs/protocols.md for this protocol (its `schedule` family's).
    public func defaults(method: Method = MethodRegistry.standard, seed: UInt64 = 0) -> ContinualOptions {
        ContinualOptions(method: method, protocol: continualProtocol, seed: seed)
    }
}

/// The authors' published results (docs/protocols.md, "Published numbers"), for the summary table;
/// each protocol's rows are in its own file.
public enum PublishedResults {
    /// A published result: the mean test accuracy over all tasks after the last task, as printed
    /// (a range where the paper gives only a range), and the per-task values where published.
    public struct Entry: Equatable, Sendable {
        public var text: String
        public var perTask: [Double]?
    }

    /// One published number: the method's name, the SI strength c it was run with where that
    /// matters (nil: any), and the number.
    public struct Row: Sendable {
        public var method: String
        public var c: Double?
        public var entry: Entry

        public init(_ method: String, c: Double? = nil, _ text: String, perTask: [Double]? = nil) {
            self.method = method; self.c = c; entry = Entry(text: text, perTask: perTask)
        }
    }

    /// The published number for a run with `options` under `proto`, or nil when the paper has
    /// none. For `scratch` the paper reports each task right after its own training.
    public static func lookup(_ proto: ExperimentProtocol, options: ContinualOptions) -> Entry? {
        func same(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(b)) }
        let c = options.hyperParameter(strengthColumn) ?? 0
        return proto.definition.published.first { $0.method == options.method.rawValue && ($0.c.map { same(c, $0) } ?? true) }?.entry
    }

    /// The hyper-parameter the tables' `c` column holds (SI's strength, the only one the paper varies).
    static let strengthColumn = "c"
}
