// Sweeps: the seed and hyper-parameter value lists a user types on the command line, and the
// list of runs they make (every method × its swept value × every seed). A run is the unit of
// work one process (or one MPI rank) takes; its id names its output folder.

import Foundation

/// A malformed sweep list: one line naming the flag, the bad token and what was expected.
public struct SweepError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public enum SweepParsing {
    /// The most seeds one list may expand to, so `0-99999999999` is an error rather than an
    /// allocation of that size.
    public static let maximumSeeds = 10_000

    /// Seeds from "0,1,2", "0-4" (inclusive) or a mix such as "0-2,7". Order is kept as written;
    /// a seed listed twice, an empty token, a reversed range or a non-integer is an error naming
    /// `flag` and the token.
    public static func seeds(_ text: String, flag: String = "--seeds") throws -> [UInt64] {
        var seeds: [UInt64] = []
        var seen = Set<UInt64>()
        let expected = "expected seeds like 0,1,2 or a range like 0-4 (non-negative integers)"
        for rawToken in text.split(separator: ",", omittingEmptySubsequences: false) {
            let token = rawToken.trimmingCharacters(in: .whitespaces)
            let bounds = token.split(separator: "-", omittingEmptySubsequences: false)
            let range: ClosedRange<UInt64>
            switch bounds.count {
            case 1:
                guard let value = UInt64(bounds[0]) else {
                    throw SweepError("\(flag): '\(token)' is not a seed; \(expected)")
                }
                range = value...value
            case 2:
                guard let low = UInt64(bounds[0]), let high = UInt64(bounds[1]) else {
                    throw SweepError("\(flag): '\(token)' is not a seed range; \(expected)")
                }
                guard low <= high else {
                    throw SweepError("\(flag): range '\(token)' runs backwards; write the smaller seed first")
                }
                range = low...high
            default:
                throw SweepError("\(flag): '\(token)' is not a seed or a range; \(expected)")
            }
            guard range.upperBound - range.lowerBound < UInt64(maximumSeeds - seeds.count) else {
                throw SweepError("\(flag): '\(token)' makes more than \(maximumSeeds) seeds")
            }
            for seed in range {
                guard seen.insert(seed).inserted else {
                    throw SweepError("\(flag): seed \(seed) is listed twice (token '\(token)')")
                }
                seeds.append(seed)
            }
        }
        return seeds
    }
}

/// One method in a sweep: the hyper-parameter it sweeps (nil: none, one run per seed) and the values.
public struct MethodSweep: Sendable, Equatable {
    /// The method's command-line name, e.g. "si", "online-ewc".
    public var method: String
    /// The swept hyper-parameter's name, e.g. `c` or `lambda`; nil when nothing is swept.
    public var parameter: String?
    /// The values of `parameter`; ignored when `parameter` is nil.
    public var values: [Double]

    public init(method: String, parameter: String? = nil, values: [Double] = []) {
        self.method = method; self.parameter = parameter; self.values = values
    }
}

/// One unit of work: a method, optionally one value of one hyper-parameter, one seed.
public struct SweepRun: Sendable, Equatable, Hashable, Codable {
    public var method: String
    public var parameter: String?
    public var value: Double?
    public var seed: UInt64

    public init(method: String, parameter: String? = nil, value: Double? = nil, seed: UInt64) {
        self.method = method; self.parameter = parameter; self.value = value; self.seed = seed
    }

    /// Stable and folder-safe (letters, digits, '.', '-', '_'): "si_c0.01_seed2", "finetune_seed0".
    /// Values print as Swift's shortest round-trip decimal ("0.001", "1.0", "1e-05"), so two
    /// distinct values never share an id.
    public var id: String {
        var parts = [method]
        if let parameter, let value { parts.append(parameter + "\(value)") }
        parts.append("seed\(seed)")
        return parts.joined(separator: "_")
    }
}

public enum SweepPlan {
    /// Every method × its values × every seed, in that nesting order (method-major, seeds
    /// innermost), so runs of one configuration are adjacent. Throws for an empty seed list, a
    /// method listed twice, a swept parameter without values, or a name that would not make a
    /// folder-safe id (allowed: lowercase letters, digits, '-').
    public static func runs(_ methods: [MethodSweep], seeds: [UInt64]) throws -> [SweepRun] {
        guard !seeds.isEmpty else { throw SweepError("--seeds: no seeds given; expected e.g. 0,1,2 or 0-4") }
        guard !methods.isEmpty else { throw SweepError("--method: no methods given") }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
        var runs: [SweepRun] = []
        var seenMethods = Set<String>()
        for sweep in methods {
            guard !sweep.method.isEmpty, sweep.method.allSatisfy(allowed.contains) else {
                throw SweepError("--method: '\(sweep.method)' is not a method name (lowercase letters, digits, '-')")
            }
            guard seenMethods.insert(sweep.method).inserted else {
                throw SweepError("--method: '\(sweep.method)' is listed twice")
            }
            guard let parameter = sweep.parameter else {
                runs += seeds.map { SweepRun(method: sweep.method, seed: $0) }
                continue
            }
            guard !parameter.isEmpty, parameter.allSatisfy(allowed.contains) else {
                throw SweepError("--\(parameter): not a hyper-parameter name (lowercase letters, digits, '-')")
            }
            guard !sweep.values.isEmpty else {
                throw SweepError("--\(parameter): no values given for method '\(sweep.method)'")
            }
            for value in sweep.values {
                runs += seeds.map { SweepRun(method: sweep.method, parameter: parameter, value: value, seed: $0) }
            }
        }
        return runs
    }
}
