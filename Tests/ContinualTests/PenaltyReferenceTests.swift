// The independent penalty computations of PenaltyReference.swift, checked by central finite
// differences of the direct losses (so the reference the trainer will be compared against is
// itself right), and the identities the trainer relies on.

import Foundation
import SynapseEngine
import Testing

@Suite struct PenaltyReferenceTests {
    static let mlp = TinyMLP(inputs: 5, hidden: 4, outputs: 6)
    static let live = 2..<5

    /// Random θ, anchors, Fishers and inputs from `seed`.
    static func problem(seed: UInt64) -> (theta: [Double], anchors: [[Double]], fishers: [[Double]], inputs: [[Double]], labels: [Int]) {
        var rng = SeededGenerator(seed: seed)
        func uniform(_ n: Int, _ low: Double, _ high: Double) -> [Double] { (0..<n).map { _ in low + (high - low) * rng.nextDouble() } }
        let n = mlp.parameterCount
        return (uniform(n, -1, 1), (0..<3).map { _ in uniform(n, -1, 1) }, (0..<3).map { _ in uniform(n, 0, 2) },
                (0..<4).map { _ in uniform(mlp.inputs, 0, 1) }, (0..<4).map { _ in live.lowerBound + rng.nextInt(below: live.count) })
    }

    /// Central differences with step 1e-5 in Double: truncation O(h²·L''') ≈ 1e-10 and rounding
    /// ≈ 1e-16/1e-5 = 1e-11 here, so 1e-6 relative leaves a wide margin while any wrong term is O(1).
    static func numericGradient(_ theta: [Double], _ loss: ([Double]) -> Double) -> [Double] {
        let h = 1e-5
        return theta.indices.map { k in
            var plus = theta, minus = theta
            plus[k] += h; minus[k] -= h
            return (loss(plus) - loss(minus)) / (2 * h)
        }
    }

    static func expectClose(_ analytic: [Double], _ numeric: [Double], _ what: String) {
        #expect(analytic.count == numeric.count)
        for (k, (a, n)) in zip(analytic, numeric).enumerated() {
            #expect(abs(a - n) <= 1e-6 * (1 + abs(n)), "\(what) [\(k)]: analytic \(a), numeric \(n)")
        }
    }

    @Test("the EWC penalty's gradient matches finite differences of Σ_t λ/2·F_t(θ−θ*_t)², with the task loss added",
          arguments: [UInt64(1), 2, 3])
    func ewcGradient(seed: UInt64) {
        let p = Self.problem(seed: seed)
        let lambda = 3.5
        func loss(_ theta: [Double]) -> Double {
            let task = zip(p.inputs, p.labels).reduce(0.0) { $0 + Self.mlp.negativeLogLikelihood(theta, $1.0, label: $1.1, live: Self.live) }
            return task / Double(p.inputs.count) + PenaltyReference.ewcPenalty(theta: theta, anchors: p.anchors, fishers: p.fishers, lambda: lambda)
        }
        var analytic = PenaltyReference.ewcPenaltyGradient(theta: p.theta, anchors: p.anchors, fishers: p.fishers, lambda: lambda)
        for (x, y) in zip(p.inputs, p.labels) {
            let g = Self.mlp.negativeLogLikelihoodGradient(p.theta, x, label: y, live: Self.live)
            for k in analytic.indices { analytic[k] += g[k] / Double(p.inputs.count) }
        }
        Self.expectClose(analytic, Self.numericGradient(p.theta, loss), "EWC")
        // λ/2, not λ: one task, one parameter moved by 1 from its anchor with F = 1 costs λ/2.
        var moved = p.anchors[0]
        moved[0] += 1
        let unit = [Double](repeating: 0, count: moved.count).enumerated().map { $0.offset == 0 ? 1.0 : 0.0 }
        #expect(abs(PenaltyReference.ewcPenalty(theta: moved, anchors: [p.anchors[0]], fishers: [unit], lambda: lambda) - lambda / 2) < 1e-12)
    }

    @Test("the combined anchor Ω = Σ F_t, θ* = Σ F_t·θ*_t / Σ F_t has the gradient of the sum of quadratics")
    func combinedAnchor() {
        let p = Self.problem(seed: 9)
        let omega = p.theta.indices.map { k in p.fishers.reduce(0.0) { $0 + $1[k] } }
        let anchor = p.theta.indices.map { k in zip(p.fishers, p.anchors).reduce(0.0) { $0 + $1.0[k] * $1.1[k] } / omega[k] }
        let combined = PenaltyReference.ewcPenaltyGradient(theta: p.theta, anchors: [anchor], fishers: [omega], lambda: 2)
        let separate = PenaltyReference.ewcPenaltyGradient(theta: p.theta, anchors: p.anchors, fishers: p.fishers, lambda: 2)
        Self.expectClose(combined, separate, "combined anchor")
    }

    @Test("online EWC's running Fisher decays by γ: F̃_3 = γ²F_1 + γF_2 + F_3, and its penalty's gradient matches finite differences")
    func onlineFisher() {
        let p = Self.problem(seed: 4)
        let gamma = 0.7
        let running = PenaltyReference.onlineFishers(p.fishers, gamma: gamma)
        for k in p.theta.indices {
            let expected = gamma * gamma * p.fishers[0][k] + gamma * p.fishers[1][k] + p.fishers[2][k]
            #expect(abs(running[2][k] - expected) < 1e-12)
            #expect(running[0][k] == p.fishers[0][k])
        }
        let analytic = PenaltyReference.ewcPenaltyGradient(theta: p.theta, anchors: [p.anchors[2]], fishers: [running[2]], lambda: 1.5)
        let numeric = Self.numericGradient(p.theta) {
            PenaltyReference.onlineEWCPenalty(theta: $0, anchor: p.anchors[2], runningFisher: running[2], lambda: 1.5)
        }
        Self.expectClose(analytic, numeric, "online EWC")
    }

    @Test("per-example gradients behind the Fisher and MAS match finite differences of −log p and ‖f‖²",
          arguments: [UInt64(5), 6])
    func importanceGradients(seed: UInt64) {
        let p = Self.problem(seed: seed)
        for (x, y) in zip(p.inputs, p.labels) {
            Self.expectClose(Self.mlp.negativeLogLikelihoodGradient(p.theta, x, label: y, live: Self.live),
                             Self.numericGradient(p.theta) { Self.mlp.negativeLogLikelihood($0, x, label: y, live: Self.live) },
                             "−log p")
            Self.expectClose(Self.mlp.squaredOutputNormGradient(p.theta, x, live: Self.live),
                             Self.numericGradient(p.theta) { Self.mlp.squaredOutputNorm($0, x, live: Self.live) }, "‖f‖²")
        }
        // Importances are means of squares / absolute values of those gradients: check one entry by hand.
        let fisher = PenaltyReference.fisher(Self.mlp, theta: p.theta, inputs: p.inputs, labels: p.labels, live: Self.live)
        let mas = PenaltyReference.masImportance(Self.mlp, theta: p.theta, inputs: p.inputs, live: Self.live)
        let k = Self.mlp.parameterCount - 2   // an output bias of a live unit (unit 4)
        let fisherByHand = zip(p.inputs, p.labels).reduce(0.0) { total, example in
            let g = Self.mlp.negativeLogLikelihoodGradient(p.theta, example.0, label: example.1, live: Self.live)[k]
            return total + g * g
        } / 4
        let masByHand = p.inputs.reduce(0.0) { $0 + abs(2 * Self.mlp.forward(p.theta, $1).logits[4]) } / 4
        #expect(abs(fisher[k] - fisherByHand) < 1e-12 && abs(mas[k] - masByHand) < 1e-12)
        // Dead units get no importance: output unit 0 is not live.
        #expect(fisher[Self.mlp.parameterCount - 6] == 0 && mas[Self.mlp.parameterCount - 6] == 0)
    }
}
