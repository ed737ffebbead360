// Choosing a hyper-parameter value on the validation split: the pure rule, stated once.

/// The selection rule: the value whose validation accuracy, averaged over the tasks, is highest.
/// Ties (equal means, compared exactly) go to the SMALLER value: a weaker regulariser when two
/// do equally well. A value with no accuracies, or a non-finite mean, is never chosen.
public enum ValidationSelection {
    public struct Choice: Sendable, Equatable {
        /// Index into the `values` passed in.
        public var index: Int
        public var value: Double
        /// Mean validation accuracy over tasks of the chosen value.
        public var meanAccuracy: Double
    }

    /// `accuracies[i]` are value i's validation accuracies, one per task (e.g. the last row of
    /// the validation accuracy matrix). nil when no value has a finite mean, or the counts differ.
    public static func choose(values: [Double], accuracies: [[Double]]) -> Choice? {
        guard values.count == accuracies.count else { return nil }
        var best: Choice?
        for (index, (value, row)) in zip(values, accuracies).enumerated() where !row.isEmpty {
            let mean = row.reduce(0, +) / Double(row.count)
            guard mean.isFinite else { continue }
            if let current = best {
                guard mean > current.meanAccuracy || (mean == current.meanAccuracy && value < current.value) else { continue }
            }
            best = Choice(index: index, value: value, meanAccuracy: mean)
        }
        return best
    }
}
