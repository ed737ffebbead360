// The CPU-style SI updates (Kernels/si_update.cl, si_sgd_update.cl: 16 parameters per work-item
// as float16 vectors, the last partial 16 one by one) evaluate the same expressions as the
// GPU style (one work-item per parameter), element by element: on the same device the two
// styles must agree bit for bit, at counts that end in a partial vector and at one that does not.
import SynapseEngine
import SynapseOpenCL
import Testing

@Suite("SI update kernels: CPU style and GPU style agree bit for bit")
struct SIUpdateStyleTests {
    /// θ, θ*, Ω, ω, m, v after `steps` updates (Adam when `adam`, else plain SGD) from the same
    /// random state and gradients, on `backend`, and θ before them.
    static func run(_ backend: OpenCLBackend, count: Int, steps: Int, adam: Bool) throws
        -> (after: [[Float]], thetaBefore: [Float]) {
        var random = SeededGenerator(seed: 0x51)
        func values(_ low: Float, _ high: Float) -> [Float] {
            (0..<count).map { _ in low + (high - low) * random.nextFloat() }
        }
        func tensor(_ values: [Float]) throws -> Tensor {
            let t = Tensor(storage: try backend.allocate(.float32, count: values.count), shape: [values.count])
            try backend.upload(values, to: t)
            return t
        }
        let thetaBefore = values(-1, 1)
        let state = ParameterState(theta: try tensor(thetaBefore), anchor: try tensor(values(-1, 1)),
                                   bigOmega: try tensor(values(0, 2)), smallOmega: try tensor(values(-0.1, 0.1)),
                                   m: try tensor(values(-0.1, 0.1)), v: try tensor(values(0, 0.1)))
        for step in 1...steps {
            let gradient = try tensor(values(-1, 1))
            if adam {
                try backend.fusedSIUpdate(state, taskGradient: gradient, strength: 0.5, hyper: AdamHyper(learningRate: 0.01),
                                          step: step)
            } else {
                try backend.fusedSISGDUpdate(state, taskGradient: gradient, strength: 0.5, learningRate: 0.05)
            }
        }
        let after = try [state.theta, state.anchor, state.bigOmega, state.smallOmega, state.m, state.v].map(backend.download)
        return (after, thetaBefore)
    }

    @Test("fusedSIUpdate and fusedSISGDUpdate: CPU style equals GPU style bit for bit",
          .enabled(if: Fixture.runDeviceTests), arguments: [false, true])
    func stylesAgree(adam: Bool) throws {
        let cpu = try Fixture.backend(style: .cpu)
        let gpu = try Fixture.backend(style: .gpu)
        for count in [1, 15, 33, 4_096, 4_099] {
            let (a, before) = try Self.run(cpu, count: count, steps: 4, adam: adam)
            let (b, _) = try Self.run(gpu, count: count, steps: 4, adam: adam)
            for (name, (x, y)) in zip(["θ", "θ*", "Ω", "ω", "m", "v"], zip(a, b)) {
                let differing = zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "n \(count) \(adam ? "Adam" : "SGD"): \(name) differs in \(differing) elements")
            }
            // The updates moved every θ (equal results are not two untouched copies).
            #expect(zip(a[0], before).allSatisfy { $0 != $1 }, "n \(count): some θ did not move")
        }
    }
}
