// Shared by the reference-backend tests: a seeded generator and tensors on a ReferenceBackend.

import SynapseEngine
import SynapseReference

/// A reference backend plus a seeded generator, with helpers to make tensors from arrays.
public final class ReferenceFixture {
    public let backend = ReferenceBackend()
    /// The engine's own seeded generator, so every test input is reproducible from the seed written in the test.
    public var rng: SeededGenerator

    public init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    /// `count` uniform floats in `range` (unit scale, as `Tolerance` assumes).
    public func uniform(_ count: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
        (0..<count).map { _ in Float.random(in: range, using: &rng) }
    }

    public func tensor(_ values: [Float], shape: [Int]? = nil) throws -> Tensor {
        let storage = try backend.allocate(.float32, count: values.count)
        let t = Tensor(storage: storage, shape: shape ?? [values.count])
        try backend.upload(values, to: t)
        return t
    }

    public func tensor(_ values: [Int32]) throws -> Tensor {
        let t = Tensor(storage: try backend.allocate(.int32, count: values.count), shape: [values.count])
        try backend.upload(values, to: t)
        return t
    }

    public func zeros(_ count: Int) throws -> Tensor {
        Tensor(storage: try backend.allocate(.float32, count: count), shape: [count])
    }

    public func read(_ t: Tensor) throws -> [Double] { try backend.download(t).map(Double.init) }
}

/// Σ r_i · y_i in Double: the random projection that turns an op's output into a scalar loss
/// whose gradient with respect to y is r.
public func projection(_ r: [Float], _ y: [Float]) -> Double {
    zip(r, y).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}

/// Finite-difference policy of every gradient check, stated once.
///
/// Central differences with step h = 1e-2 on float32 inputs of unit scale. The ops are linear
/// in the perturbed input (GEMM, conv, bias, dropout) or piecewise linear with inputs kept at
/// least 0.025 away from every kink (ReLU, max-pool), so the truncation error is zero there; for
/// softmax cross-entropy it is O(h²·|L'''|) ≈ 1e-4. What remains is float32 rounding of the
/// forward outputs (about n·ε per output, n the reduction length ≤ 300 here, so ≲ 4e-5 each),
/// summed over the outputs the input touches and divided by 2h: ≲ 1e-3 in total. The check is
/// |numeric − analytic| ≤ 2e-3 · (1 + |analytic|); any wrong index or missing term is O(1).
public enum FiniteDifference {
    public static let step: Float = 1e-2
    public static let tolerance = 2e-3

    /// d loss / d values[i] for every i, by central differences. The denominator is the actual
    /// float32 difference of the two perturbed values, not 2h, so rounding of x ± h is exact.
    public static func gradient(of values: [Float], loss: ([Float]) throws -> Double) rethrows -> [Double] {
        var gradient = [Double](repeating: 0, count: values.count)
        var x = values
        for i in values.indices {
            let plus = values[i] + step, minus = values[i] - step
            x[i] = plus
            let lossPlus = try loss(x)
            x[i] = minus
            let lossMinus = try loss(x)
            x[i] = values[i]
            gradient[i] = (lossPlus - lossMinus) / (Double(plus) - Double(minus))
        }
        return gradient
    }

    /// max_i |numeric_i − analytic_i| / (1 + |analytic_i|).
    public static func maxError(_ numeric: [Double], _ analytic: [Double]) -> Double {
        guard numeric.count == analytic.count else { return .infinity }
        var worst = 0.0
        for (a, b) in zip(numeric, analytic) {
            let error = abs(a - b) / (1 + abs(b))
            if !(error <= worst) { worst = error }
        }
        return worst
    }
}

/// max_i |actual_i − expected_i| / (1 + |expected_i|) against a Double definition.
public func maxError(_ actual: [Float], _ expected: [Double]) -> Double {
    FiniteDifference.maxError(actual.map(Double.init), expected)
}
