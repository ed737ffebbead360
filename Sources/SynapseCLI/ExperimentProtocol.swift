// The paper's protocols (docs/protocols.md), the defaults each tool starts from, and the numbers
// the authors published for them.

import SynapseContinual
import SynapseEngine

/// The three executables.
public enum Tool: String, Codable, Sendable, CaseIterable {
    case cifarSplit = "cifar-split"
    case splitMNIST = "split-mnist"
    case permutedMNIST = "permuted-mnist"
}

/// A task sequence with its network and its training schedule.
public enum ExperimentProtocol: String, Codable, Sendable, CaseIterable {
    /// 5 tasks of two digits, MLP 784-256-256, multi-head.
    case splitMNIST = "split-mnist"
    /// 10 tasks of all ten digits (task 1 unpermuted), MLP 784-2000-2000-10, single head.
    case permutedMNIST = "permuted-mnist"
    /// 6 tasks: CIFAR-10, then CIFAR-100 fine labels in blocks of ten; the conv net, multi-head.
    case splitCIFAR10_100 = "split-cifar10-100"
    /// 5 tasks of two CIFAR-10 classes each (not in the paper); the conv net, multi-head.
    case splitCIFAR10 = "split-cifar10"

    /// Human-readable name for tables and charts.
    public var title: String {
        switch self {
        case .splitMNIST: return "split MNIST"
        case .permutedMNIST: return "permuted MNIST"
        case .splitCIFAR10_100: return "split CIFAR-10/100"
        case .splitCIFAR10: return "split CIFAR-10"
        }
    }

    /// Tasks in the full protocol.
    public var taskCount: Int {
        switch self {
        case .splitMNIST, .splitCIFAR10: return 5
        case .permutedMNIST: return 10
        case .splitCIFAR10_100: return 6
        }
    }

    /// Whether `--tasks` may exceed `taskCount` (permuted MNIST can draw any number of permutations).
    public var allowsMoreTasks: Bool { self == .permutedMNIST }

    /// Training and test images over `tasks` tasks when all of the data set is loaded: MNIST has
    /// 60,000 training and 10,000 test images (split MNIST shares them out over its 5 tasks;
    /// permuted MNIST uses them all in every task); CIFAR-10 has 50,000 and 10,000, and each block
    /// of 10 CIFAR-100 classes 5,000 and 1,000. nil for a task count the protocol does not define.
    public func fullDataCounts(tasks: Int) -> (train: Int, test: Int)? {
        switch self {
        case .splitMNIST, .splitCIFAR10:
            guard tasks == taskCount else { return nil }
            return self == .splitMNIST ? (60_000, 10_000) : (50_000, 10_000)
        case .permutedMNIST: return (60_000 * tasks, 10_000 * tasks)
        case .splitCIFAR10_100:
            guard tasks >= 1, tasks <= taskCount else { return nil }
            return (50_000 + 5_000 * (tasks - 1), 10_000 + 1_000 * (tasks - 1))
        }
    }

    public var headMode: HeadMode { self == .permutedMNIST ? .singleHead : .multiHead }

    /// The schedule and strengths of docs/protocols.md for this protocol. Split CIFAR-10 (not in the paper)
    /// borrows split CIFAR-10/100's. For split CIFAR the paper shows c = 0.01 and c = 0.1; the default
    /// is 0.1 (`--c 0.01` runs the other, and both published numbers are in `PublishedResults`).
    public func defaults(method: Method = MethodRegistry.standard, seed: UInt64 = 0) -> ContinualOptions {
        ContinualOptions(method: method, protocol: continualProtocol, seed: seed)
    }

    /// Whose schedule and method defaults this protocol uses.
    public var continualProtocol: ContinualProtocol {
        switch self {
        case .splitMNIST: return .splitMNIST
        case .permutedMNIST: return .permutedMNIST
        case .splitCIFAR10_100, .splitCIFAR10: return .splitCIFAR
        }
    }

    /// The network of this protocol for `outputUnits` output units.
    public func architecture(outputUnits: Int) -> (inputShape: [Int], layers: [LayerSpec]) {
        switch self {
        case .splitMNIST: return Architecture.splitMNIST(outputUnits: outputUnits)
        case .permutedMNIST: return Architecture.permutedMNIST(outputUnits: outputUnits)
        case .splitCIFAR10_100, .splitCIFAR10: return Architecture.splitCIFAR(outputUnits: outputUnits)
        }
    }
}

/// The authors' published results (docs/protocols.md, "Published numbers"), for the summary table.
public enum PublishedResults {
    /// A published result: the mean test accuracy over all tasks after the last task, as printed
    /// (a range where the paper gives only a range), and the per-task values where published.
    public struct Entry: Equatable, Sendable {
        public var text: String
        public var perTask: [Double]?
    }

    /// The published number for a run with `options` under `proto`, or nil when the paper has
    /// none. For `scratch` the paper reports each task right after its own training.
    public static func lookup(_ proto: ExperimentProtocol, options: ContinualOptions) -> Entry? {
        func same(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(b)) }
        let c = options.hyperParameter(strengthColumn) ?? 0
        return table.first { $0.proto == proto && $0.method == options.method && ($0.c.map { same(c, $0) } ?? true) }?.entry
    }

    /// The hyper-parameter the table's `c` column holds (SI's strength, the only one the paper varies).
    static let strengthColumn = "c"

    /// (protocol, method, the c it was run with where it matters, the number).
    static let table: [(proto: ExperimentProtocol, method: Method, c: Double?, entry: Entry)] = [
        (.splitCIFAR10_100, .finetune, nil, Entry(text: "0.625", perTask: [0.459, 0.549, 0.570, 0.687, 0.675, 0.810])),
        (.splitCIFAR10_100, .si, 0.01, Entry(text: "0.735", perTask: [0.746, 0.718, 0.714, 0.744, 0.704, 0.786])),
        (.splitCIFAR10_100, .si, 0.1, Entry(text: "0.720", perTask: [0.783, 0.743, 0.682, 0.719, 0.670, 0.725])),
        (.splitCIFAR10_100, .scratch, nil, Entry(text: "0.711", perTask: [0.804, 0.690, 0.647, 0.733, 0.679, 0.713])),
        (.permutedMNIST, .finetune, nil, Entry(text: "0.574", perTask: nil)),
        (.permutedMNIST, .si, 0.1, Entry(text: "0.969", perTask: nil)),
        (.permutedMNIST, .si, 0.02, Entry(text: "0.939", perTask: nil)),
        (.permutedMNIST, .si, 0.01, Entry(text: "0.920", perTask: nil)),
        (.splitMNIST, .si, 1.0, Entry(text: "≈0.97–0.99", perTask: nil)),
    ]
}
