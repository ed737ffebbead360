// Names each option that differs between a saved run and this one, with both values, so a refused
// resume says what to change ("c: saved 0.1, this run 1") instead of "other options".

public enum OptionDifferences {
    /// "name: saved X, this run Y" for every differing stored property (in declaration order),
    /// joined by "; ", or nil when the options are equal. Reads the properties by reflection, so a
    /// new option is covered without a list to keep in step.
    public static func between(saved: ContinualOptions, current: ContinualOptions) -> String? {
        guard saved != current else { return nil }
        let a = Mirror(reflecting: saved).children, b = Mirror(reflecting: current).children
        var parts: [String] = []
        for (x, y) in zip(a, b) where "\(x.value)" != "\(y.value)" {
            parts.append("\(x.label ?? "?"): saved \(x.value), this run \(y.value)")
        }
        // Equal descriptions but unequal values (e.g. -0.0 against 0.0): still say which.
        return parts.isEmpty ? "the options differ in a value that prints the same" : parts.joined(separator: "; ")
    }
}
