// The fused SI update and the consolidation against a scalar re-derivation of docs/algorithm.md in
// Double (steps 2–5, and the end-of-task steps 1–3).

import Foundation
import SynapseEngine
import SynapseReference
import Testing

@Suite struct ReferenceSITests {
    /// One parameter's SI and Adam state, in Double.
    struct Scalar {
        var theta, anchor, bigOmega, smallOmega, m, v: Double
    }

    /// docs/algorithm.md steps 2–5 for one parameter.
    static func siStep(_ s: inout Scalar, gTask: Double, c: Double, hyper: AdamHyper, t: Int) {
        let (lr, b1, b2, eps) = (Double(hyper.learningRate), Double(hyper.beta1), Double(hyper.beta2), Double(hyper.epsilon))
        let g = gTask + c * 2 * s.bigOmega * (s.theta - s.anchor)
        s.m = b1 * s.m + (1 - b1) * g
        s.v = b2 * s.v + (1 - b2) * g * g
        let mHat = s.m / (1 - pow(b1, Double(t)))
        let vHat = s.v / (1 - pow(b2, Double(t)))
        let delta = -lr * mHat / (vHat.squareRoot() + eps)
        s.smallOmega -= gTask * delta
        s.theta += delta
    }

    /// Six float32 views over one storage, as a model's parameter buffers are laid out.
    static func makeState(_ fixture: ReferenceFixture, _ values: [[Float]]) throws -> ParameterState {
        let count = values[0].count
        let all = try fixture.tensor(values.flatMap { $0 })
        let views = (0..<6).map { all.view(at: $0 * count, shape: [count]) }
        return ParameterState(theta: views[0], anchor: views[1], bigOmega: views[2], smallOmega: views[3],
                              m: views[4], v: views[5])
    }

    static func read(_ fixture: ReferenceFixture, _ state: ParameterState) throws -> [[Float]] {
        try [state.theta, state.anchor, state.bigOmega, state.smallOmega, state.m, state.v].map {
            try fixture.backend.download($0)
        }
    }

    /// Random state of unit scale: Ω ≥ 0, v ≥ 0; θ* near θ.
    static func randomState(_ fixture: ReferenceFixture, count: Int) -> [[Float]] {
        let theta = fixture.uniform(count)
        let anchor = theta.map { $0 + Float.random(in: -0.2...0.2, using: &fixture.rng) }
        return [theta, anchor, fixture.uniform(count, in: 0...2), fixture.uniform(count, in: -0.01...0.01),
                fixture.uniform(count, in: -0.1...0.1), fixture.uniform(count, in: 0...0.01)]
    }

    /// Five steps from random state, compared with the Double derivation. θ, m, v are compared
    /// with the mixed error of `Tolerance`; ω (of size lr·|g| ≈ 1e-3) relatively, with the same
    /// bound, so a wrong ω formula cannot hide under an absolute tolerance.
    @Test(arguments: [Float(0), 0.1, 1.0])
    func fusedUpdateMatchesScalarDerivation(strength c: Float) throws {
        let fixture = ReferenceFixture(seed: 70 + UInt64(c * 10))
        let count = 257
        let hyper = AdamHyper(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7)
        let initial = Self.randomState(fixture, count: count)
        let state = try Self.makeState(fixture, initial)
        var scalars = (0..<count).map { i in
            Scalar(theta: Double(initial[0][i]), anchor: Double(initial[1][i]), bigOmega: Double(initial[2][i]),
                   smallOmega: Double(initial[3][i]), m: Double(initial[4][i]), v: Double(initial[5][i]))
        }
        let steps = 5
        // Steps 1…5 after a reset, then t = 1000 to exercise the bias corrections far from 1.
        for t in Array(1...steps) + [1000] {
            let g = fixture.uniform(count)
            try fixture.backend.fusedSIUpdate(state, taskGradient: try fixture.tensor(g), strength: c, hyper: hyper, step: t)
            for i in 0..<count { Self.siStep(&scalars[i], gTask: Double(g[i]), c: Double(c), hyper: hyper, t: t) }
        }
        let got = try Self.read(fixture, state)
        let tolerance = Tolerance.forReduction(length: 8 * steps)
        #expect(maxError(got[0], scalars.map(\.theta)) <= tolerance, "theta")
        #expect(got[1] == initial[1] && got[2] == initial[2], "anchor and importance are read-only here")
        #expect(maxError(got[4], scalars.map(\.m)) <= tolerance, "m")
        #expect(maxError(got[5], scalars.map(\.v)) <= tolerance, "v")
        for i in 0..<count {
            let expected = scalars[i].smallOmega
            #expect(abs(Double(got[3][i]) - expected) <= tolerance * abs(expected) + 1e-9, "omega[\(i)]")
        }
    }

    /// With c = 0 the penalty vanishes: the result is bitwise the same as with Ω = 0 and θ* = θ.
    @Test func zeroStrengthIsPlainAdam() throws {
        let fixture = ReferenceFixture(seed: 80)
        let count = 33
        let values = Self.randomState(fixture, count: count)
        var plain = values
        plain[1] = values[0]
        plain[2] = [Float](repeating: 0, count: count)
        let withImportance = try Self.makeState(fixture, values), withoutPenalty = try Self.makeState(fixture, plain)
        for t in 1...3 {
            let g = try fixture.tensor(fixture.uniform(count))
            try fixture.backend.fusedSIUpdate(withImportance, taskGradient: g, strength: 0, hyper: AdamHyper(), step: t)
            try fixture.backend.fusedSIUpdate(withoutPenalty, taskGradient: g, strength: 0, hyper: AdamHyper(), step: t)
        }
        let a = try Self.read(fixture, withImportance), b = try Self.read(fixture, withoutPenalty)
        #expect(a[0] == b[0] && a[3] == b[3] && a[4] == b[4] && a[5] == b[5])
    }

    /// ω gains −g_task·Δθ with Δθ the actual change of θ, and not −g·Δθ with the penalised g:
    /// with a strong penalty the two differ by far more than rounding.
    @Test func omegaIntegratesTaskGradientTimesActualUpdate() throws {
        let fixture = ReferenceFixture(seed: 81)
        let count = 65
        var values = Self.randomState(fixture, count: count)
        values[3] = [Float](repeating: 0, count: count)
        let state = try Self.makeState(fixture, values)
        let gTask = fixture.uniform(count)
        let c: Float = 5
        try fixture.backend.fusedSIUpdate(state, taskGradient: try fixture.tensor(gTask), strength: c,
                                          hyper: AdamHyper(), step: 1)
        let got = try Self.read(fixture, state)
        var totalGap = 0.0
        for i in 0..<count {
            let delta = Double(got[0][i]) - Double(values[0][i])
            let taskTerm = -Double(gTask[i]) * delta
            let total = Double(gTask[i]) + 2 * Double(c) * Double(values[2][i]) * Double(values[0][i] - values[1][i])
            // Δθ recovered from θ differs from the computed Δθ by the rounding of θ + Δθ: half an
            // ulp of θ, at most |θ|·ε; ω's own rounding is far below that.
            let bound = abs(Double(gTask[i])) * (abs(Double(got[0][i])) + 1) * Tolerance.floatEpsilon + 1e-12
            #expect(abs(Double(got[3][i]) - taskTerm) <= bound, "ω[\(i)] = \(got[3][i]), −g_task·Δθ = \(taskTerm)")
            totalGap += abs(-total * delta - taskTerm)
        }
        #expect(totalGap > 1e-3, "the test must tell g_task from the penalised g")
    }

    @Test func updateRejectsStepZero() throws {
        let fixture = ReferenceFixture(seed: 82)
        let state = try Self.makeState(fixture, Self.randomState(fixture, count: 3))
        #expect(throws: BackendError.self) {
            try fixture.backend.fusedSIUpdate(state, taskGradient: try fixture.zeros(3), strength: 0,
                                              hyper: AdamHyper(), step: 0)
        }
    }

    // MARK: Consolidation

    /// Random state against Ω ← max(0, Ω + ω/((θ − θ*)² + ξ)); θ* ← θ; ω ← 0. The first three
    /// parameters are constructed: (0) a negative contribution larger than Ω (clamped to 0),
    /// (1) a negative contribution smaller than Ω (Ω decreases but stays positive: a per-task
    /// clamp would leave Ω unchanged), (2) an unmoved parameter (θ = θ*, finite ω/ξ).
    @Test func consolidationFollowsSIAndClampsTheRunningTotal() throws {
        let fixture = ReferenceFixture(seed: 83)
        let count = 101
        let xi: Float = 1e-3
        var values = Self.randomState(fixture, count: count)
        values[3] = fixture.uniform(count, in: -0.05...0.05)
        (values[0][0], values[1][0], values[2][0], values[3][0]) = (0.5, 0.4, 0.5, -3)
        (values[0][1], values[1][1], values[2][1], values[3][1]) = (0.5, 0.4, 500, -3)
        (values[0][2], values[1][2], values[2][2], values[3][2]) = (0.25, 0.25, 0.1, 0.002)
        let state = try Self.makeState(fixture, values)
        try fixture.backend.siConsolidate(state, xi: xi)
        let got = try Self.read(fixture, state)
        let expected = (0..<count).map { i -> Double in
            let moved = Double(values[0][i]) - Double(values[1][i])
            return max(0, Double(values[2][i]) + Double(values[3][i]) / (moved * moved + Double(xi)))
        }
        #expect(maxError(got[2], expected) <= Tolerance.forReduction(length: 4))
        #expect(got[2].allSatisfy { $0 >= 0 && $0.isFinite })
        #expect(got[2][0] == 0, "clamped")
        #expect(got[2][1] > 0 && got[2][1] < 500, "a negative contribution lowers Ω")
        #expect(abs(Double(got[2][2]) - (0.1 + 0.002 / 1e-3)) <= 1e-4, "unmoved: Ω + ω/ξ")
        #expect(got[1] == values[0], "θ* ← θ")
        #expect(got[0] == values[0], "θ unchanged")
        #expect(got[3].allSatisfy { $0 == 0 }, "ω ← 0")
        #expect(got[4] == values[4] && got[5] == values[5], "Adam state untouched")
    }

    @Test func consolidationRejectsNonPositiveXi() throws {
        let fixture = ReferenceFixture(seed: 84)
        let state = try Self.makeState(fixture, Self.randomState(fixture, count: 3))
        for xi: Float in [0, -1e-3, .nan, .infinity] {
            #expect(throws: BackendError.self) { try fixture.backend.siConsolidate(state, xi: xi) }
        }
    }
}
