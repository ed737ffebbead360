// Split CIFAR-10 (not in the paper): CIFAR-10's ten classes in five tasks of two, the paper's CNN
// with a multi-head output, split CIFAR-10/100's schedule and method defaults.

import SynapseContinual
import SynapseData
import SynapseEngine

extension ExperimentProtocol {
    /// 5 tasks of two CIFAR-10 classes each (not in the paper); the conv net, multi-head.
    public static let splitCIFAR10 = ExperimentProtocol(declared: "split-cifar10")
}

public enum SplitCIFAR10: ProtocolDefinition {
    public static let experimentProtocol = ExperimentProtocol.splitCIFAR10
    public static let title = "split CIFAR-10"
    public static let taskCount = 5
    public static let headMode = HeadMode.multiHead
    public static let schedule = ContinualProtocol.splitCIFAR
    public static let notInThePaper: String? = "split CIFAR-10 is not one of the paper's protocols"

    public static func architecture(outputUnits: Int) -> (inputShape: [Int], layers: [LayerSpec]) {
        Architecture.splitCIFAR(outputUnits: outputUnits)
    }

    /// CIFAR-10's 50,000 training and 10,000 test images, shared out over the 5 tasks.
    public static func fullDataCounts(tasks: Int) -> (train: Int, test: Int)? {
        tasks == taskCount ? (50_000, 10_000) : nil
    }

    public static func loadTasks(folder: String, limits: TaskBuilder.Limits, taskCount: Int, seed: UInt64,
                                 warn: (String) -> Void) throws -> [ContinualTask] {
        try TaskBuilder.splitCIFAR10(try CIFARFolder.load10(folder, warn: warn), limits: limits)
    }

    public static func expectedData(in folder: String) -> String { CIFARFolder.expected(in: folder, with100: false) }

    public static let published: [PublishedResults.Row] = []
}
