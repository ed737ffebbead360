// Permuted MNIST (docs/protocols.md): every task is all ten digits under its own fixed pixel
// permutation (task 1 unpermuted), an MLP 784-2000-2000 with one shared 10-unit head, 20 epochs
// per task, batch 256, no optimizer reset.

import SynapseContinual
import SynapseData
import SynapseEngine

extension ExperimentProtocol {
    /// 10 tasks of all ten digits (task 1 unpermuted), MLP 784-2000-2000-10, single head.
    public static let permutedMNIST = ExperimentProtocol(declared: "permuted-mnist")
}

public enum PermutedMNIST: ProtocolDefinition {
    public static let experimentProtocol = ExperimentProtocol.permutedMNIST
    public static let title = "permuted MNIST"
    public static let taskCount = 10
    public static let allowsMoreTasks = true
    public static let headMode = HeadMode.singleHead
    public static let schedule = ContinualProtocol.permutedMNIST

    public static func architecture(outputUnits: Int) -> (inputShape: [Int], layers: [LayerSpec]) {
        Architecture.permutedMNIST(outputUnits: outputUnits)
    }

    /// Every task uses all of MNIST's 60,000 training and 10,000 test images.
    public static func fullDataCounts(tasks: Int) -> (train: Int, test: Int)? { (60_000 * tasks, 10_000 * tasks) }

    /// The permutations are drawn from the run's seed.
    public static func loadTasks(folder: String, limits: TaskBuilder.Limits, taskCount: Int, seed: UInt64,
                                 warn: (String) -> Void) throws -> [ContinualTask] {
        try TaskBuilder.permutedMNIST(try MNISTFolder.load(folder), taskCount: taskCount, seed: seed, limits: limits)
    }

    public static func expectedData(in folder: String) -> String { MNISTFolder.expected(in: folder) }
    public static func dataDeviations(folder: String) -> [String] { MNISTFolder.deviations(folder) }

    /// The authors' saved results (average test accuracy after 10 tasks).
    public static let published: [PublishedResults.Row] = [
        .init("finetune", "0.574"),
        .init("si", c: 0.1, "0.969"),
        .init("si", c: 0.02, "0.939"),
        .init("si", c: 0.01, "0.920"),
    ]
}
