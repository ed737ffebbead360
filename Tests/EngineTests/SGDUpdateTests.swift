// The fused SI update with plain gradient descent on the reference backend: one step against a
// scalar re-derivation in Double, Adam's moments untouched, bad learning rates rejected, and the
// paper's quadratic theory (Ω → H/2).

import Foundation
import SynapseChecks
import SynapseEngine
import SynapseReference
import Testing

@Suite struct SGDUpdateTests {
    @Test("one SGD step matches θ ← θ − lr·(g + 2cΩ(θ−θ*)), ω += −g·Δθ, and leaves m, v alone")
    func stepMatchesDefinition() throws {
        let fixture = ReferenceFixture(seed: 41)
        let n = 13
        let values = [fixture.uniform(n), fixture.uniform(n), fixture.uniform(n, in: 0...2), fixture.uniform(n, in: -0.1...0.1),
                      fixture.uniform(n), fixture.uniform(n, in: 0...1)]
        let gTask = fixture.uniform(n)
        let state = try ReferenceSITests.makeState(fixture, values)
        let (c, lr): (Float, Float) = (0.7, 0.03)
        try fixture.backend.fusedSISGDUpdate(state, taskGradient: try fixture.tensor(gTask), strength: c, learningRate: lr)
        let after = try ReferenceSITests.read(fixture, state)
        for i in 0..<n {
            let (theta, anchor, omega0) = (Double(values[0][i]), Double(values[1][i]), Double(values[3][i]))
            let g = Double(gTask[i]) + 2 * Double(c) * Double(values[2][i]) * (theta - anchor)
            let delta = -Double(lr) * g
            #expect(abs(Double(after[0][i]) - (theta + delta)) < 1e-6)
            #expect(abs(Double(after[3][i]) - (omega0 - Double(gTask[i]) * delta)) < 1e-6)
            #expect(after[1][i] == values[1][i] && after[2][i] == values[2][i])
            #expect(after[4][i] == values[4][i] && after[5][i] == values[5][i])
        }
    }

    @Test("a learning rate that is not finite and positive is an error", arguments: [Float(0), -0.1, .nan, .infinity])
    func badLearningRateThrows(lr: Float) throws {
        let fixture = ReferenceFixture(seed: 1)
        let state = try ReferenceSITests.makeState(fixture, Array(repeating: [0, 0, 0], count: 6))
        #expect(throws: BackendError.self) {
            try fixture.backend.fusedSISGDUpdate(state, taskGradient: try fixture.zeros(3), strength: 0, learningRate: lr)
        }
    }

    @Test("on a diagonal quadratic, small-step gradient descent gives Ω within 2% of H/2")
    func quadraticImportanceIsHalfTheCurvature() throws {
        var rng = SeededGenerator(seed: 2017)
        let n = 37
        let curvature = (0..<n).map { _ in Float(1 + 3 * rng.nextDouble()) }
        let optimum = (0..<n).map { _ in Float(2 * rng.nextDouble() - 1) }
        // |θ0 − θ*| ≥ 0.5, so ξ = 1e-6 is negligible against Δ².
        let start = optimum.map { $0 + Float((0.5 + 0.5 * rng.nextDouble()) * (rng.next() & 1 == 0 ? 1 : -1)) }
        let omega = try QuadraticPathIntegral.importance(on: ReferenceBackend(), curvature: curvature, start: start,
                                                         optimum: optimum, learningRate: 0.005, steps: 2500, xi: 1e-6)
        for k in 0..<n {
            let expected = Double(curvature[k]) / 2
            #expect(abs(Double(omega[k]) - expected) <= 0.02 * expected, "k \(k): Ω \(omega[k]), H/2 \(expected)")
        }
    }
}
