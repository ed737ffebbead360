/// Builds the continual-learning task sequences of the SI paper (docs/protocols.md)
/// from loaded data sets. Deterministic: the splits use no randomness (file order is kept; the
/// trainer shuffles), and permuted MNIST derives each task's permutation from the seed alone.
/// Labels in every task are local: 0 ..< classCount, in the order of the task's class list.
public enum TaskBuilder {
    /// Caps for quick runs on small machines.
    ///
    /// Capped tasks keep the first images in file order after filtering to the task's classes,
    /// so a cap can leave classes unbalanced (the files are not sorted by class, so in practice
    /// every class still appears). No cap means every image.
    public struct Limits: Sendable, Equatable {
        /// Most tasks to build (the first ones of the sequence).
        public var maxTasks: Int?
        /// Most training images per task.
        public var trainPerTask: Int?
        /// Most test images per task.
        public var testPerTask: Int?

        public init(maxTasks: Int? = nil, trainPerTask: Int? = nil, testPerTask: Int? = nil) {
            self.maxTasks = maxTasks; self.trainPerTask = trainPerTask; self.testPerTask = testPerTask
        }

        /// No caps.
        public static let none = Limits()

        func validate() throws {
            for (name, value) in [("maxTasks", maxTasks), ("trainPerTask", trainPerTask), ("testPerTask", testPerTask)] {
                if let value, value < 1 {
                    throw DataError(.invalidOption, path: name, expected: "at least 1 (or no cap)", found: "\(value)")
                }
            }
        }

        func taskCount(_ full: Int) -> Int { min(full, maxTasks ?? full) }
    }

    /// Split CIFAR-10/100 as in the paper: task 1 is all of CIFAR-10 (labels 0-9); tasks 2-6 are
    /// CIFAR-100 fine labels 0-9, 10-19, 20-29, 30-39, 40-49, each mapped to 0-9.
    public static func splitCIFAR10_100(cifar10: CIFAR10, cifar100: CIFAR100,
                                        limits: Limits = .none) throws -> [ContinualTask] {
        try limits.validate()
        let count = limits.taskCount(6)
        var tasks: [ContinualTask] = []
        if count >= 1 {
            tasks.append(ContinualTask(
                name: "CIFAR-10", classNames: cifar10.classNames,
                train: select(cifar10.train, classes: Array(0..<10), limit: limits.trainPerTask),
                test: select(cifar10.test, classes: Array(0..<10), limit: limits.testPerTask)))
        }
        for block in 0..<max(0, count - 1) {
            let classes = (block * 10)..<(block * 10 + 10)
            tasks.append(ContinualTask(
                name: "CIFAR-100 fine labels \(classes.lowerBound)-\(classes.upperBound - 1)",
                classNames: Array(cifar100.fineClassNames[classes]),
                train: select(cifar100.train, classes: classes.map(Int32.init), limit: limits.trainPerTask),
                test: select(cifar100.test, classes: classes.map(Int32.init), limit: limits.testPerTask)))
        }
        return tasks
    }

    /// Split CIFAR-10: five tasks of two classes each, {0,1}, {2,3}, ..., {8,9}, labels 0-1.
    public static func splitCIFAR10(_ cifar10: CIFAR10, limits: Limits = .none) throws -> [ContinualTask] {
        try limits.validate()
        return pairs(train: cifar10.train, test: cifar10.test, names: cifar10.classNames,
                     prefix: "CIFAR-10", limits: limits)
    }

    /// Split MNIST: five tasks {0,1}, {2,3}, ..., {8,9}, labels 0-1 (works for Fashion-MNIST too).
    public static func splitMNIST(_ mnist: IDX.Dataset, limits: Limits = .none) throws -> [ContinualTask] {
        try limits.validate()
        return pairs(train: mnist.train, test: mnist.test, names: mnist.classNames,
                     prefix: "MNIST", limits: limits)
    }

    /// Permuted MNIST: `taskCount` tasks over all ten classes; task 1 is unpermuted, task t ≥ 2
    /// applies `pixelPermutation(seed:task:pixelCount:)` to every training and test image.
    /// `limits.maxTasks` caps `taskCount`; task t's permutation does not depend on the caps.
    public static func permutedMNIST(_ mnist: IDX.Dataset, taskCount: Int = 10, seed: UInt64,
                                     limits: Limits = .none) throws -> [ContinualTask] {
        try limits.validate()
        guard taskCount >= 1 else {
            throw DataError(.invalidOption, path: "taskCount", expected: "at least 1", found: "\(taskCount)")
        }
        let classes = Array(Int32(0)..<Int32(mnist.classNames.count))
        let train = select(mnist.train, classes: classes, limit: limits.trainPerTask)
        let test = select(mnist.test, classes: classes, limit: limits.testPerTask)
        let pixelCount = train.height * train.width
        return (1...limits.taskCount(taskCount)).map { task in
            guard task > 1 else {
                return ContinualTask(name: "MNIST unpermuted", classNames: mnist.classNames, train: train, test: test)
            }
            let permutation = pixelPermutation(seed: seed, task: task, pixelCount: pixelCount)
            return ContinualTask(name: "MNIST permutation \(task - 1)", classNames: mnist.classNames,
                                 train: permute(train, by: permutation), test: permute(test, by: permutation))
        }
    }

    /// The pixel permutation of permuted-MNIST task `task` (task ≥ 2; task 1 is the identity):
    /// output pixel i of every channel is input pixel `permutation[i]`. A Fisher-Yates shuffle
    /// driven by SplitMix64 seeded from (seed, task), so it is the same on every platform and
    /// Swift version (the standard library's shuffle makes no such promise).
    public static func pixelPermutation(seed: UInt64, task: Int, pixelCount: Int) -> [Int] {
        var permutation = Array(0..<pixelCount)
        guard task > 1, pixelCount > 1 else { return permutation }
        var rng = SplitMix64(state: seed ^ (UInt64(truncatingIfNeeded: task) &* 0x9E37_79B9_7F4A_7C15))
        for i in stride(from: pixelCount - 1, to: 0, by: -1) {
            let j = Int(rng.below(UInt64(i + 1)))
            permutation.swapAt(i, j)
        }
        return permutation
    }

    // MARK: Helpers

    /// Images whose label is in `classes`, relabelled to their index in `classes`, in file order,
    /// at most `limit` of them.
    static func select(_ set: ImageSet, classes: [Int32], limit: Int?) -> ImageSet {
        var local = [Int32](repeating: -1, count: 256)
        for (index, label) in classes.enumerated() where label >= 0 && label < 256 {
            local[Int(label)] = Int32(index)
        }
        let size = set.imageSize
        let cap = limit ?? Int.max
        var pixels: [UInt8] = []
        var labels: [Int32] = []
        for (index, label) in set.labels.enumerated() where labels.count < cap {
            guard label >= 0, label < 256, local[Int(label)] >= 0 else { continue }
            labels.append(local[Int(label)])
            pixels.append(contentsOf: set.pixels[(index * size)..<((index + 1) * size)])
        }
        return ImageSet(pixels: pixels, labels: labels, channels: set.channels, height: set.height, width: set.width)
    }

    static func pairs(train: ImageSet, test: ImageSet, names: [String], prefix: String,
                      limits: Limits) -> [ContinualTask] {
        (0..<limits.taskCount(5)).map { pair in
            let classes: [Int32] = [Int32(2 * pair), Int32(2 * pair + 1)]
            let classNames = classes.map { Int($0) < names.count ? names[Int($0)] : String($0) }
            var task = ContinualTask(name: "\(prefix) classes \(2 * pair),\(2 * pair + 1)", classNames: classNames,
                                     train: select(train, classes: classes, limit: limits.trainPerTask),
                                     test: select(test, classes: classes, limit: limits.testPerTask))
            task.sourceClasses = classes.map(Int.init)
            return task
        }
    }

    static func permute(_ set: ImageSet, by permutation: [Int]) -> ImageSet {
        let plane = permutation.count
        var pixels = [UInt8](repeating: 0, count: set.pixels.count)
        set.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { target in
                for start in stride(from: 0, to: source.count, by: plane) {
                    for i in 0..<plane { target[start + i] = source[start + permutation[i]] }
                }
            }
        }
        return ImageSet(pixels: pixels, labels: set.labels, channels: set.channels, height: set.height, width: set.width)
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, well-mixed 64-bit generator, enough for
/// choosing permutations reproducibly. Package-visible: the tests' synthetic data sets use it too.
package struct SplitMix64 {
    package var state: UInt64

    package init(state: UInt64) { self.state = state }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0 ..< bound (bound ≥ 1), without modulo bias: values below 2^64 mod bound
    /// are rejected.
    package mutating func below(_ bound: UInt64) -> UInt64 {
        let threshold = (0 &- bound) % bound
        while true {
            let value = next()
            if value >= threshold { return value % bound }
        }
    }
}
