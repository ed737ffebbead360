// The paper's quadratic theory of the path integral on the OpenCL SGD kernel (PoCL).
import SynapseChecks
import SynapseEngine
import SynapseOpenCL
import Testing

@Suite struct SGDTheoryTests {
    @Test("on a diagonal quadratic, the OpenCL SGD update gives Ω within 2% of H/2", .enabled(if: Fixture.runDeviceTests))
    func quadraticImportanceIsHalfTheCurvature() throws {
        let backend = try Fixture.backend()
        var rng = SeededGenerator(seed: 2018)
        let n = 41
        let curvature = (0..<n).map { _ in Float(1 + 3 * rng.nextDouble()) }
        let optimum = (0..<n).map { _ in Float(2 * rng.nextDouble() - 1) }
        let start = optimum.map { $0 + Float((0.5 + 0.5 * rng.nextDouble()) * (rng.next() & 1 == 0 ? 1 : -1)) }
        let omega = try QuadraticPathIntegral.importance(on: backend, curvature: curvature, start: start,
                                                         optimum: optimum, learningRate: 0.005, steps: 2500, xi: 1e-6)
        for k in 0..<n {
            let expected = Double(curvature[k]) / 2
            #expect(abs(Double(omega[k]) - expected) <= 0.02 * expected, "k \(k): Ω \(omega[k]), H/2 \(expected)")
        }
    }
}
