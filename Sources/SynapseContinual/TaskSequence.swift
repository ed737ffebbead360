// The tasks of a run, the output units each one owns, and their data on the device.

import SynapseData
import SynapseEngine

/// A sequence of tasks and the output units each task owns.
public struct TaskSequence: Sendable {
    /// The tasks, in training order.
    public let tasks: [ContinualTask]
    /// How tasks map to output units.
    public let headMode: HeadMode
    /// First output unit of each task (multi-head: consecutive blocks; single-head: all 0).
    public let unitStarts: [Int]
    /// Output units in all: Σ classCount (multi-head) or the largest classCount (single-head).
    public let outputUnits: Int

    /// Checks that the tasks are non-empty, share one image shape and have labels inside their classes.
    public init(tasks: [ContinualTask], headMode: HeadMode) throws {
        guard let first = tasks.first else { throw ContinualError.mismatch("a task sequence needs at least one task, found none") }
        var starts: [Int] = []
        var next = 0
        for (t, task) in tasks.enumerated() {
            guard task.classCount >= 1 else {
                throw ContinualError.mismatch("task \(t + 1) ('\(task.name)') has no classes")
            }
            for (split, set) in [("train", task.train), ("test", task.test)] {
                guard set.count >= 1 else {
                    throw ContinualError.mismatch("task \(t + 1) ('\(task.name)') has an empty \(split) split")
                }
                guard set.channels == first.train.channels, set.height == first.train.height,
                      set.width == first.train.width else {
                    throw ContinualError.mismatch(
                        "task \(t + 1) ('\(task.name)') \(split) images are \(set.channels)x\(set.height)x\(set.width), "
                        + "expected \(first.train.channels)x\(first.train.height)x\(first.train.width) like task 1")
                }
                if let bad = set.labels.firstIndex(where: { $0 < 0 || Int($0) >= task.classCount }) {
                    throw ContinualError.mismatch(
                        "task \(t + 1) ('\(task.name)') \(split) label \(set.labels[bad]) at image \(bad) "
                        + "is outside 0..<\(task.classCount)")
                }
            }
            switch headMode {
            case .multiHead:
                starts.append(next)
                next += task.classCount
            case .singleHead:
                starts.append(0)
                next = max(next, task.classCount)
            }
        }
        self.tasks = tasks
        self.headMode = headMode
        self.unitStarts = starts
        self.outputUnits = next
    }

    /// Number of tasks.
    public var count: Int { tasks.count }
    /// Values per image (C·H·W), the same for every task.
    public var imageSize: Int { tasks[0].train.imageSize }

    /// The live units of task `t` (its own head).
    public func units(ofTask t: Int) -> Range<Int> {
        unitStarts[t] ..< unitStarts[t] + tasks[t].classCount
    }

    /// The units of every task 0...t (class-incremental evaluation after task t).
    public func unitsSeen(throughTask t: Int) -> Range<Int> {
        switch headMode {
        case .multiHead: return 0 ..< units(ofTask: t).upperBound
        case .singleHead: return 0 ..< (0...t).map { tasks[$0].classCount }.max()!
        }
    }
}

/// One split of one task on the device: uint8 pixels and int32 GLOBAL unit labels.
struct DeviceSplit {
    let pixels: Tensor
    let labels: Tensor
    let count: Int
}

/// Every task's train and test split, uploaded once.
struct DeviceTasks {
    let train: [DeviceSplit]
    let test: [DeviceSplit]

    init(backend: any Backend, sequence: TaskSequence) throws {
        func upload(_ set: ImageSet, unitStart: Int) throws -> DeviceSplit {
            let pixels = Tensor(storage: try backend.allocate(.uint8, count: set.pixels.count), shape: [set.pixels.count])
            try backend.upload(set.pixels, to: pixels)
            let labels = Tensor(storage: try backend.allocate(.int32, count: set.count), shape: [set.count])
            try backend.upload(set.labels.map { $0 + Int32(unitStart) }, to: labels)
            return DeviceSplit(pixels: pixels, labels: labels, count: set.count)
        }
        var train: [DeviceSplit] = []
        var test: [DeviceSplit] = []
        for (t, task) in sequence.tasks.enumerated() {
            train.append(try upload(task.train, unitStart: sequence.unitStarts[t]))
            test.append(try upload(task.test, unitStart: sequence.unitStarts[t]))
        }
        self.train = train
        self.test = test
    }
}
