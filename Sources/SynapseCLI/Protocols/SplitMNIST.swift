// Split MNIST (docs/protocols.md): the ten digits in five tasks of two (0/1, 2/3, ...), an MLP
// 784-256-256 with a multi-head output (two units per task), 10 epochs per task, batch 64.

import SynapseContinual
import SynapseData
import SynapseEngine

extension ExperimentProtocol {
    /// 5 tasks of two digits, MLP 784-256-256, multi-head.
    public static let splitMNIST = ExperimentProtocol(declared: "split-mnist")
}

public enum SplitMNIST: ProtocolDefinition {
    public static let experimentProtocol = ExperimentProtocol.splitMNIST
    public static let title = "split MNIST"
    public static let taskCount = 5
    public static let headMode = HeadMode.multiHead
    public static let schedule = ContinualProtocol.splitMNIST

    public static func architecture(outputUnits: Int) -> (inputShape: [Int], layers: [LayerSpec]) {
        Architecture.splitMNIST(outputUnits: outputUnits)
    }

    /// MNIST's 60,000 training and 10,000 test images, shared out over the 5 tasks.
    public static func fullDataCounts(tasks: Int) -> (train: Int, test: Int)? {
        tasks == taskCount ? (60_000, 10_000) : nil
    }

    public static func loadTasks(folder: String, limits: TaskBuilder.Limits, taskCount: Int, seed: UInt64,
                                 warn: (String) -> Void) throws -> [ContinualTask] {
        try TaskBuilder.splitMNIST(try MNISTFolder.load(folder), limits: limits)
    }

    public static func expectedData(in folder: String) -> String { MNISTFolder.expected(in: folder) }
    public static func dataDeviations(folder: String) -> [String] { MNISTFolder.deviations(folder) }

    /// The authors' code has no saved split-MNIST result; this is the range their figure shows.
    public static let published: [PublishedResults.Row] = [
        .init("si", c: 1.0, "≈0.97–0.99"),
    ]
}

/// The MNIST-format folder both MNIST protocols read (MNIST or Fashion-MNIST: the same files).
enum MNISTFolder {
    /// The four IDX files of `folder`, with digit or Fashion-MNIST class names (cosmetic).
    static func load(_ folder: String) throws -> IDX.Dataset {
        let names = looksLikeFashionMNIST(folder) ? IDX.fashionClassNames : IDX.digitClassNames
        return try IDX.loadMNIST(folder: folder, classNames: names)
    }

    /// True when the folder looks like Fashion-MNIST (by its path): the same file format as MNIST,
    /// but the paper's numbers are for MNIST digits.
    static func looksLikeFashionMNIST(_ folder: String) -> Bool { folder.lowercased().contains("fashion") }

    /// The paper's numbers are for MNIST digits.
    static func deviations(_ folder: String) -> [String] {
        looksLikeFashionMNIST(folder) ? ["the data looks like Fashion-MNIST (the paper's numbers are for MNIST digits)"] : []
    }

    static func expected(in folder: String) -> String {
        "  Expected in \(folder): " + IDX.fileNames.map { "\($0)[.gz]" }.joined(separator: ", ")
            + " (MNIST or Fashion-MNIST; on Debian: apt-get install dataset-fashion-mnist, "
            + "then --data-dir /usr/share/datasets/fashion-mnist)."
    }
}
