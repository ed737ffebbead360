// Names each option that differs between a saved run and this one, with both values, so a refused
// resume says what to change ("c: saved 0.1, this run 1") instead of "other options".

public enum OptionDifferences {
    /// "name: saved X, this run Y" for every differing stored property (in declaration order; the
    /// method's hyper-parameters by their own names), joined by "; ", or nil when the options are
    /// equal. Reads the properties by reflection, so a new option is covered without a list to
    /// keep in step.
    public static func between(saved: ContinualOptions, current: ContinualOptions) -> String? {
        guard saved != current else { return nil }
        var parts: [String] = []
        collect(Mirror(reflecting: saved), Mirror(reflecting: current), into: &parts)
        // Equal descriptions but unequal values (e.g. -0.0 against 0.0): still say so.
        return parts.isEmpty ? "the options differ in a value that prints the same" : parts.joined(separator: "; ")
    }

    private static func collect(_ a: Mirror, _ b: Mirror, into parts: inout [String]) {
        for (x, y) in zip(a.children, b.children) where "\(x.value)" != "\(y.value)" {
            let (mx, my) = (Mirror(reflecting: x.value), Mirror(reflecting: y.value))
            // A nested options struct of the same type (the method's hyper-parameters): its fields.
            if mx.displayStyle == .struct, mx.subjectType == my.subjectType, !mx.children.isEmpty {
                collect(mx, my, into: &parts)
            } else {
                parts.append("\(x.label ?? "?"): saved \(x.value), this run \(y.value)")
            }
        }
    }
}
