// Denormal floats: the OpenCL kernels are built with -cl-denorms-are-zero by default (a converged
// task's gradients are denormal, and CPUs take many times longer on them); the reference backend
// keeps IEEE arithmetic; `flushDenormals: false` keeps them in the kernels too.
import SynapseEngine
import SynapseReference
import Testing
@testable import SynapseOpenCL

@Suite("Denormals")
struct DenormalTests {
    /// destination = 0 + scale · source, on `backend`, for one denormal source value.
    private func accumulateDenormal(on backend: any Backend, _ value: Float, scale: Float) throws -> Float {
        let source = Tensor(storage: try backend.allocate(.float32, count: 1), shape: [1])
        let destination = Tensor(storage: try backend.allocate(.float32, count: 1), shape: [1])
        try backend.upload([value], to: source)
        try backend.upload([Float(0)], to: destination)
        try backend.accumulate(source, into: destination, scale: scale, transform: .identity)
        return try backend.download(destination)[0]
    }

    @Test("kernels flush denormals by default; kept when asked; the reference keeps them",
          .enabled(if: Fixture.runDeviceTests))
    func flushedByDefault() throws {
        let device = try Fixture.cpuDevice()
        // Seeded, so the values are not chosen by hand but stay reproducible: a denormal input
        // and a scale whose product is denormal too.
        var random = SeededGenerator(seed: 0xDE40)
        let value = Float.leastNormalMagnitude * (0.1 + 0.8 * random.nextFloat())
        let scale = 0.5 + 0.4 * random.nextFloat()
        #expect(value.isSubnormal && (value * scale).isSubnormal)

        let reference = try accumulateDenormal(on: ReferenceBackend(), value, scale: scale)
        #expect(reference == value * scale, "the reference backend must keep IEEE denormals")

        let flushing = try Fixture.backend(cache: .off)
        #expect(flushing.flushesDenormals)
        #expect(flushing.buildOptions([:]).contains("-cl-denorms-are-zero"))
        let flushed = try accumulateDenormal(on: flushing, value, scale: scale)
        // A device without denormal support flushes as well; one that has it must honour the option
        // (PoCL does): either way the result is zero.
        #expect(flushed == 0, "denormal result \(flushed) was not flushed to zero")

        let keeping = try Fixture.backend(cache: .off, flushDenormals: false)
        #expect(!keeping.buildOptions([:]).contains("-cl-denorms-are-zero"))
        let kept = try accumulateDenormal(on: keeping, value, scale: scale)
        if device.supportsDenormals {
            #expect(kept == reference, "with flushDenormals: false the kernel must keep IEEE denormals")
        }
    }
}
