// What "a healthy training state" means, in one place: every element of θ, θ*, Ω, ω, Adam m and v
// is finite, and Ω and v (sums of non-negative terms) are not negative. The backend op
// `stateHealth` computes these flags on the device; the host checks saved and captured states
// with `StateHealth.of` below. Both produce the same bits.

/// Which parts of a `ParameterState` are unhealthy; empty = healthy. The raw value is what the
/// `stateHealth` op ORs into the bit pattern of its one-element result.
public struct StateHealth: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Some θ element is NaN or ±∞.
    public static let theta = StateHealth(rawValue: 1)
    /// Some θ* element is NaN or ±∞.
    public static let anchor = StateHealth(rawValue: 2)
    /// Some Ω element is NaN, ±∞ or negative.
    public static let importance = StateHealth(rawValue: 4)
    /// Some ω element is NaN or ±∞.
    public static let omega = StateHealth(rawValue: 8)
    /// Some Adam m element is NaN or ±∞.
    public static let m = StateHealth(rawValue: 16)
    /// Some Adam v element is NaN, ±∞ or negative.
    public static let v = StateHealth(rawValue: 32)

    /// Each flag with what it says, in bit order.
    public static let parts: [(flag: StateHealth, text: String)] = [
        (.theta, "θ not finite"), (.anchor, "θ* not finite"), (.importance, "Ω not finite or negative"),
        (.omega, "ω not finite"), (.m, "Adam m not finite"), (.v, "Adam v not finite or negative"),
    ]

    public var description: String {
        isEmpty ? "healthy" : Self.parts.filter { contains($0.flag) }.map(\.text).joined(separator: ", ")
    }

    /// The flags of one array: `nonNegative` arrays (Ω, v) also fail on a negative element.
    public static func check<C: Collection>(_ values: C, as flag: StateHealth, nonNegative: Bool) -> StateHealth
    where C.Element == Float {
        for value in values where !value.isFinite || (nonNegative && value < 0) { return flag }
        return []
    }

    /// The flags of the six arrays of a state, each given as its host values.
    public static func of<C: Collection>(theta: C, anchor: C, importance: C, omega: C, m: C, v: C) -> StateHealth
    where C.Element == Float {
        check(theta, as: .theta, nonNegative: false)
            .union(check(anchor, as: .anchor, nonNegative: false))
            .union(check(importance, as: .importance, nonNegative: true))
            .union(check(omega, as: .omega, nonNegative: false))
            .union(check(m, as: .m, nonNegative: false))
            .union(check(v, as: .v, nonNegative: true))
    }

    /// The flags held in a result element written by `Backend.stateHealth` (its bit pattern).
    public init(resultElement: Float) { self.init(rawValue: resultElement.bitPattern) }
}
