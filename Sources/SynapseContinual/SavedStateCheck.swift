// Everything a resume reads from a saved trainer state is untrusted: before a byte reaches the
// device, the counters, the result rows and the arrays are checked against this run's tasks,
// options and network, and the arrays' health (`StateHealth`). A pure function, so the fuzz
// target reaches it without a device.

import SynapseEngine

public enum SavedStateCheck {
    /// What the run resuming a saved state has: its options, task names, training steps of one
    /// epoch of each task (as its method schedules them) and parameter count.
    public struct Run: Sendable {
        public var options: ContinualOptions
        public var taskNames: [String]
        public var stepsPerEpoch: [Int]
        public var parameterCount: Int
        public init(options: ContinualOptions, taskNames: [String], stepsPerEpoch: [Int], parameterCount: Int) {
            self.options = options; self.taskNames = taskNames; self.stepsPerEpoch = stepsPerEpoch
            self.parameterCount = parameterCount
        }
    }

    /// Throws `ContinualError.badState` naming the first thing in `saved` that does not fit `run`.
    public static func validate(_ saved: TrainerState, for run: Run) throws {
        let result = saved.result
        if let differences = OptionDifferences.between(saved: result.options, current: run.options) {
            throw ContinualError.badState("it was saved with other options than this run's: \(differences)")
        }
        guard result.taskNames == run.taskNames else {
            throw ContinualError.badState("it was saved for tasks \(result.taskNames), this run has \(run.taskNames)")
        }
        let tasks = run.taskNames.count
        // Counters: present, in range, and consistent with the result and the schedule.
        func counter(_ name: String) throws -> Int {
            guard let value = saved.counters[name] else { throw ContinualError.badState("counter '\(name)' is missing") }
            guard value >= 0 else { throw ContinualError.badState("counter '\(name)' is \(value), expected ≥ 0") }
            return value
        }
        let completed = try counter("completedTasks")
        guard completed <= tasks, result.completedTasks == completed else {
            throw ContinualError.badState("completedTasks \(completed) (result: \(result.completedTasks)) does not fit the \(tasks) tasks")
        }
        guard run.stepsPerEpoch.count == tasks, run.options.epochsPerTask >= 0 else {
            throw ContinualError.mismatch("\(run.stepsPerEpoch.count) epoch lengths for \(tasks) tasks")
        }
        // The exact number of steps the finished tasks took (overflow-checked: a saved counter is untrusted).
        var expectedSteps = 0
        for t in 0..<completed {
            let (epochSteps, o1) = run.stepsPerEpoch[t].multipliedReportingOverflow(by: run.options.epochsPerTask)
            let (sum, o2) = expectedSteps.addingReportingOverflow(epochSteps)
            guard !o1, !o2 else { throw ContinualError.badState("the schedule of \(completed) tasks overflows a step count") }
            expectedSteps = sum
        }
        let globalStep = try counter("globalStep")
        guard globalStep == expectedSteps else {
            throw ContinualError.badState("counter 'globalStep' is \(globalStep); \(completed) finished tasks take exactly \(expectedSteps) steps")
        }
        let adamStep = try counter("adamStep")
        guard adamStep <= globalStep else {
            throw ContinualError.badState("counter 'adamStep' is \(adamStep), more than the \(globalStep) steps taken")
        }
        // The result: one row per finished task.
        let rows: [(String, Int)] = [
            ("accuracy", result.taskIncrementalAccuracy.count), ("class_incremental_accuracy", result.classIncrementalAccuracy.count),
            ("training_loss", result.trainingLoss.count), ("seconds", result.wallSeconds.count),
            ("images_per_second", result.imagesPerSecond.count), ("peak_device_bytes", result.peakDeviceBytes.count),
            ("peak_resident_bytes", result.peakResidentBytes.count),
        ]
        for (name, count) in rows where count != completed {
            throw ContinualError.badState("the result has \(count) '\(name)' rows for \(completed) finished tasks")
        }
        // Row i holds every task, or tasks 0...i when only seen tasks are evaluated.
        func rowLength(_ i: Int) -> Int { run.options.evaluatedTasks == .seen ? i + 1 : tasks }
        for (i, row) in result.taskIncrementalAccuracy.enumerated() {
            guard row.count == rowLength(i), row.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
                throw ContinualError.badState("accuracy row \(i + 1) has \(row.count) values (expected \(rowLength(i)), each in 0...1)")
            }
        }
        for (i, row) in result.classIncrementalAccuracy.enumerated() {
            guard row.count == rowLength(i), row.allSatisfy({ $0.map { $0 >= 0 && $0 <= 1 } ?? true }) else {
                throw ContinualError.badState("class-incremental accuracy row \(i + 1) has \(row.count) values (expected \(rowLength(i)), each in 0...1 or null)")
            }
        }
        for (i, row) in result.trainingLoss.enumerated() {
            guard row.count == run.options.epochsPerTask, row.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw ContinualError.badState("training-loss row \(i + 1) has \(row.count) values (expected \(run.options.epochsPerTask) finite, ≥ 0)")
            }
        }
        // The arrays: the six of every method present, of the network's size, healthy; any other
        // (a method's own, which the method checks for presence and size) at least finite.
        for name in TrainerState.coreArrays {
            guard let values = saved.arrays[name] else { throw ContinualError.badState("array '\(name)' is missing") }
            guard values.count == run.parameterCount else {
                throw ContinualError.badState("array '\(name)' has \(values.count) values, the network has \(run.parameterCount) parameters")
            }
        }
        let health = saved.health
        guard health.isEmpty else { throw ContinualError.badState("the saved state is unhealthy: \(health)") }
        for (name, values) in saved.arrays.sorted(by: { $0.key < $1.key }) where !TrainerState.coreArrays.contains(name) {
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw ContinualError.badState("the saved state is unhealthy: array '\(name)' holds \(values[bad]) at index \(bad)")
            }
        }
    }
}
