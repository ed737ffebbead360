// Every SynapseChecks case on the PoCL CPU device, in both kernel styles, against the reference.
import SynapseChecks
import SynapseEngine
import SynapseOpenCL
import SynapseReference
import Testing

@Suite("Kernels match the reference backend")
struct KernelCheckTests {
    @Test("every op check passes on PoCL", .enabled(if: Fixture.runDeviceTests), arguments: [KernelStyle.cpu, .gpu])
    func everyCheckPasses(style: KernelStyle) throws {
        let backend = try OpenCLBackend(device: Fixture.cpuDevice(), style: style)
        #expect(backend.style == style)
        let reference = ReferenceBackend()
        let checks = OpChecks.standard
        #expect(checks.count > 100)
        for check in checks {
            let result = check.run(on: backend, reference: reference, seed: 0xC0FFEE)
            #expect(result.passed, "\(style) style: \(result)")
        }
    }

    @Test("gemm, conv and SI checks pass for a second seed", .enabled(if: Fixture.runDeviceTests))
    func checksPassForAnotherSeed() throws {
        let backend = try OpenCLBackend(device: Fixture.cpuDevice())
        let reference = ReferenceBackend()
        for check in OpChecks.standard where check.op.hasPrefix("gemm") || check.op.hasPrefix("conv") || check.op.hasPrefix("fused") {
            let result = check.run(on: backend, reference: reference, seed: 987_654_321)
            #expect(result.passed, "\(result)")
        }
    }
}
