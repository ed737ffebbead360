// A seeded, held-out validation part of each task's training split, for choosing a
// hyper-parameter without looking at the test split. Stratified: each class gives the same
// fraction of its examples (rounded to the nearest integer, halves up), but never all of them, so
// every class a task trains on stays in its training part. The test split is never touched.

/// Which training examples of a task are held out for validation.
public struct ValidationSplit: Sendable, Equatable {
    /// The default held-out fraction of each task's training split.
    public static let defaultFraction = 0.1

    /// Fraction of each class's training examples held out, in (0, 1).
    public let fraction: Double
    /// Seeds the choice of examples (with the task index and the class), independent of the
    /// training seed so the same validation part can be kept across training seeds.
    public let seed: UInt64

    /// Throws `DataError(.invalidOption)` naming "validationFraction" unless 0 < fraction < 1.
    public init(fraction: Double = ValidationSplit.defaultFraction, seed: UInt64) throws {
        guard fraction > 0, fraction < 1 else {
            throw DataError(.invalidOption, path: "validationFraction", expected: "a fraction in (0, 1), e.g. 0.1",
                            found: "\(fraction)")
        }
        self.fraction = fraction; self.seed = seed
    }

    /// Positions into `labels` (a task's training labels) of the examples kept for training and
    /// of those held out, each ascending (file order kept); together they are every position
    /// exactly once. Class k with n_k examples gives round(fraction·n_k) of them, at most n_k − 1.
    public func partition(labels: [Int32], task: Int) -> (training: [Int], validation: [Int]) {
        var byClass: [Int32: [Int]] = [:]
        for (position, label) in labels.enumerated() { byClass[label, default: []].append(position) }
        var heldOut = [Bool](repeating: false, count: labels.count)
        for label in byClass.keys.sorted() {
            var positions = byClass[label]!
            let take = min(positions.count - 1, Int((fraction * Double(positions.count)).rounded(.toNearestOrAwayFromZero)))
            guard take > 0 else { continue }
            // Partial Fisher-Yates: the first `take` positions become a uniform random subset.
            var rng = SplitMix64(state: seed ^ (UInt64(truncatingIfNeeded: task) &* 0xD1B5_4A32_D192_ED03)
                                          ^ (UInt64(truncatingIfNeeded: label) &* 0x9E37_79B9_7F4A_7C15))
            for i in 0..<take {
                let j = i + Int(rng.below(UInt64(positions.count - i)))
                positions.swapAt(i, j)
                heldOut[positions[i]] = true
            }
        }
        let all = labels.indices
        return (all.filter { !heldOut[$0] }, all.filter { heldOut[$0] })
    }

    /// A task split three ways: training (the training split minus the validation part),
    /// validation (held out of the training split) and the untouched test split.
    public struct SplitTask: Sendable {
        /// The task with `train` reduced to the training part; `test` is the original test split.
        public var task: ContinualTask
        public var validation: ImageSet
        /// Positions into the original training split, ascending.
        public var trainingPositions: [Int]
        public var validationPositions: [Int]

        /// The task to train during selection: the training part, evaluated on the validation part
        /// (its `test` is the validation set, so the trainer's accuracy matrix is validation accuracy).
        public var selectionTask: ContinualTask {
            ContinualTask(name: task.name, classNames: task.classNames, train: task.train, test: validation)
        }
    }

    /// Splits task t (its index in `tasks`, which seeds it) of every task.
    public func apply(to tasks: [ContinualTask]) -> [SplitTask] {
        tasks.enumerated().map { index, task in
            let (training, validation) = partition(labels: task.train.labels, task: index)
            var reduced = task
            reduced.train = Self.subset(task.train, training)
            return SplitTask(task: reduced, validation: Self.subset(task.train, validation),
                             trainingPositions: training, validationPositions: validation)
        }
    }

    static func subset(_ set: ImageSet, _ positions: [Int]) -> ImageSet {
        let size = set.imageSize
        var pixels: [UInt8] = []
        pixels.reserveCapacity(positions.count * size)
        for p in positions { pixels.append(contentsOf: set.pixels[(p * size)..<((p + 1) * size)]) }
        return ImageSet(pixels: pixels, labels: positions.map { set.labels[$0] }, channels: set.channels,
                        height: set.height, width: set.width)
    }
}
