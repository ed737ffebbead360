// The two test tiers. `swift test` runs the fast tier: every op checked on both kernel styles,
// every method, the end-to-end flow, at small sizes. `SYNAPSE_LONG_TESTS=1 swift test` (what
// `.ci/run` runs) adds the slow tier: the full check lists at every shape, every tile and Winograd
// candidate, second seeds, long trainings and real data sets. Modelled on swift-collections'
// COLLECTIONS_LONG_TESTS: a slow test is skipped, or a test shrinks its sizes, unless it is set.
import Foundation
import Testing

public enum TestTier {
    /// True when `SYNAPSE_LONG_TESTS` is 1 (or yes/true): the slow tier runs too.
    public static let long: Bool = {
        let value = ProcessInfo.processInfo.environment["SYNAPSE_LONG_TESTS"]?.lowercased() ?? ""
        return ["1", "yes", "true"].contains(value)
    }()

    /// `fast` in the default tier, `long` in the slow tier: for a test that shrinks (fewer
    /// epochs, fewer candidates) rather than being skipped.
    public static func pick<T>(fast: T, long: T) -> T { Self.long ? long : fast }
}

extension Trait where Self == ConditionTrait {
    /// Runs the test only in the slow tier (`SYNAPSE_LONG_TESTS=1`, as `.ci/run` sets); skipped,
    /// with this reason, by a plain `swift test`.
    public static var slowTier: Self {
        .enabled(if: TestTier.long, "slow tier: runs with SYNAPSE_LONG_TESTS=1 (CI)")
    }
}
