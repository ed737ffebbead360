// Load: the protocol's data set from --data-dir, cut into its tasks; config.json is written once it has loaded.

import ArgumentParser
import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine

extension ExperimentRun {
    // MARK: Load

    /// Reads the data set of the protocol from `--data-dir` and builds its tasks.
    public func loadTasks() throws -> TaskSequence {
        let proto = config.experimentProtocol
        let limits = TaskBuilder.Limits(maxTasks: config.tasks, trainPerTask: config.trainLimit,
                                        testPerTask: config.testLimit)
        let folder = config.dataDir
        let tasks: [ContinualTask]
        do {
            switch proto {
            case .splitMNIST, .permutedMNIST:
                // Fashion-MNIST has the same files as MNIST; only the class names differ (cosmetic).
                let names = config.looksLikeFashionMNIST ? IDX.fashionClassNames : IDX.digitClassNames
                let mnist = try IDX.loadMNIST(folder: folder, classNames: names)
                tasks = proto == .splitMNIST
                    ? try TaskBuilder.splitMNIST(mnist, limits: limits)
                    : try TaskBuilder.permutedMNIST(mnist, taskCount: config.tasks, seed: config.seed, limits: limits)
            case .splitCIFAR10, .splitCIFAR10_100:
                let cifar10 = try CIFAR10.load(folder: folder + "/" + CIFAR10.folderName)
                cifar10.warnings.forEach { console.progress("warning: \($0)") }
                if proto == .splitCIFAR10 {
                    tasks = try TaskBuilder.splitCIFAR10(cifar10, limits: limits)
                } else {
                    let cifar100 = try CIFAR100.load(folder: folder + "/" + CIFAR100.folderName)
                    tasks = try TaskBuilder.splitCIFAR10_100(cifar10: cifar10, cifar100: cifar100, limits: limits)
                }
            }
        } catch let error as DataError {
            throw ExperimentFailure.data(dataHelp(error))
        }
        let sequence: TaskSequence
        do {
            sequence = try TaskSequence(tasks: tasks, headMode: proto.headMode)
        } catch {
            throw ExperimentFailure.data("the tasks built from \(folder) are unusable: \(error)")
        }
        // The data loaded: from here on the folder holds this run (and --resume can find its config).
        if writesSummary, !Folder.exists(out + "/config.json") {
            do { try writeConfig() } catch { throw ExperimentFailure.failed("cannot write \(out)/config.json: \(error)") }
        }
        dataDeviations = config.dataDeviations(trainCounts: sequence.tasks.map(\.train.count),
                                               testCounts: sequence.tasks.map(\.test.count))
        progress("\(sequence.count) tasks: " + sequence.tasks.map { "'\($0.name)' (\($0.train.count) train, \($0.test.count) test)" }
                    .joined(separator: ", "))
        return sequence
    }

    /// The data error with where the tool looked and the layout it expects.
    private func dataHelp(_ error: DataError) -> String {
        let folder = config.dataDir
        var text = "cannot load the \(config.experimentProtocol.title) data from --data-dir \(folder)"
            + " (default: $SYNAPSE_DATA, else ./data):\n  \(error)\n"
        switch config.experimentProtocol {
        case .splitMNIST, .permutedMNIST:
            text += "  Expected in \(folder): " + IDX.fileNames.map { "\($0)[.gz]" }.joined(separator: ", ")
                + " (MNIST or Fashion-MNIST; on Debian: apt-get install dataset-fashion-mnist, "
                + "then --data-dir /usr/share/datasets/fashion-mnist)."
        case .splitCIFAR10, .splitCIFAR10_100:
            text += "  Expected layout (the official binary archives, extracted side by side):\n"
                + "    \(folder)/\(CIFAR10.folderName)/   data_batch_1.bin … data_batch_5.bin, test_batch.bin, batches.meta.txt\n"
            if config.experimentProtocol == .splitCIFAR10_100 {
                text += "    \(folder)/\(CIFAR100.folderName)/      train.bin, test.bin, fine_label_names.txt, coarse_label_names.txt\n"
            }
            text += "  i.e. tar xzf \(CIFAR10.archiveName) -C \(folder)"
                + (config.experimentProtocol == .splitCIFAR10_100 ? " and tar xzf \(CIFAR100.archiveName) -C \(folder)" : "")
                + (config.experimentProtocol == .splitCIFAR10_100 ? " (--split cifar10 needs only CIFAR-10)." : ".")
        }
        return text
    }
}
