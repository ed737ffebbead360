// Split CIFAR-10/100 (docs/protocols.md): task 1 is all of CIFAR-10, tasks 2-6 are CIFAR-100's fine
// classes 0-49 in blocks of ten; the paper's four-convolution CNN with a multi-head output, 60
// epochs per task, batch 256.

import SynapseContinual
import SynapseData
import SynapseEngine

extension ExperimentProtocol {
    /// 6 tasks: CIFAR-10, then CIFAR-100 fine labels in blocks of ten; the conv net, multi-head.
    public static let splitCIFAR10_100 = ExperimentProtocol(declared: "split-cifar10-100")
}

public enum SplitCIFAR10_100: ProtocolDefinition {
    public static let experimentProtocol = ExperimentProtocol.splitCIFAR10_100
    public static let title = "split CIFAR-10/100"
    public static let taskCount = 6
    public static let headMode = HeadMode.multiHead
    /// For split CIFAR the paper shows c = 0.01 and c = 0.1; the default is 0.1 (`--c 0.01` runs
    /// the other, and both published numbers are below).
    public static let schedule = ContinualProtocol.splitCIFAR

    public static func architecture(outputUnits: Int) -> (inputShape: [Int], layers: [LayerSpec]) {
        Architecture.splitCIFAR(outputUnits: outputUnits)
    }

    /// CIFAR-10's 50,000 and 10,000 images, then 5,000 and 1,000 for each block of 10 CIFAR-100 classes.
    public static func fullDataCounts(tasks: Int) -> (train: Int, test: Int)? {
        guard tasks >= 1, tasks <= taskCount else { return nil }
        return (50_000 + 5_000 * (tasks - 1), 10_000 + 1_000 * (tasks - 1))
    }

    public static func loadTasks(folder: String, limits: TaskBuilder.Limits, taskCount: Int, seed: UInt64,
                                 warn: (String) -> Void) throws -> [ContinualTask] {
        let cifar10 = try CIFARFolder.load10(folder, warn: warn)
        let cifar100 = try CIFAR100.load(folder: folder + "/" + CIFAR100.folderName)
        return try TaskBuilder.splitCIFAR10_100(cifar10: cifar10, cifar100: cifar100, limits: limits)
    }

    public static func expectedData(in folder: String) -> String { CIFARFolder.expected(in: folder, with100: true) }

    /// The authors' saved results: average and per-task test accuracy after the 6 tasks.
    public static let published: [PublishedResults.Row] = [
        .init("finetune", "0.625", perTask: [0.459, 0.549, 0.570, 0.687, 0.675, 0.810]),
        .init("si", c: 0.01, "0.735", perTask: [0.746, 0.718, 0.714, 0.744, 0.704, 0.786]),
        .init("si", c: 0.1, "0.720", perTask: [0.783, 0.743, 0.682, 0.719, 0.670, 0.725]),
        .init("scratch", "0.711", perTask: [0.804, 0.690, 0.647, 0.733, 0.679, 0.713]),
    ]
}

/// The folder both CIFAR protocols read: the official binary archives, extracted side by side.
enum CIFARFolder {
    static func load10(_ folder: String, warn: (String) -> Void) throws -> CIFAR10 {
        let cifar10 = try CIFAR10.load(folder: folder + "/" + CIFAR10.folderName)
        cifar10.warnings.forEach { warn("warning: \($0)") }
        return cifar10
    }

    static func expected(in folder: String, with100: Bool) -> String {
        var text = "  Expected layout (the official binary archives, extracted side by side):\n"
            + "    \(folder)/\(CIFAR10.folderName)/   data_batch_1.bin … data_batch_5.bin, test_batch.bin, batches.meta.txt\n"
        if with100 {
            text += "    \(folder)/\(CIFAR100.folderName)/      train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt\n"
        }
        text += "  i.e. tar xzf \(CIFAR10.archiveName) -C \(folder)"
            + (with100 ? " and tar xzf \(CIFAR100.archiveName) -C \(folder) (--split cifar10 needs only CIFAR-10)." : ".")
        return text
    }
}
