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
            tasks = try proto.definition.loadTasks(folder: folder, limits: limits, taskCount: config.tasks, seed: config.seed,
                                                   warn: { console.progress($0) })
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
        text += config.experimentProtocol.definition.expectedData(in: folder)
        return text
    }
}
