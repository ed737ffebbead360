// The checks themselves can fail: a wrong value, a write outside the view and a thrown error
// are each reported as a failed result.
import SynapseEngine
import SynapseOpenCL
import SynapseReference
import Testing
@testable import SynapseChecks

@Suite("The op checks detect wrong results")
struct CheckMachineryTests {
    /// `accumulate` on both backends, with the device's scale off by `skew` and, when
    /// `writePastView`, the device also writing one element past the end of the output view.
    func skewedCheck(skew: Float, writePastView: Bool) -> OpCheck {
        OpCheck(op: "skewed accumulate", shape: "n33", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let source = try b.tensor(b.floats(34))
            let destination = try b.output(33)
            let onDevice = backend is OpenCLBackend
            let scale: Float = onDevice ? 1 + skew : 1
            let room = destination.storage.capacity - destination.offset
            let count = writePastView && onDevice ? min(34, room) : 33
            let target = Tensor(storage: destination.storage, offset: destination.offset, shape: [count])
            return b.prepared {
                try backend.accumulate(source.view(at: 0, shape: [count]), into: target, scale: scale, transform: .identity)
            }
        }, compare: OpCheck.maxError(reductionLength: 1))
    }

    @Test("a result off by a relative 1e-3 is a mismatch", .enabled(if: Fixture.runDeviceTests))
    func wrongValueIsReported() throws {
        let backend = try Fixture.backend()
        let exact = skewedCheck(skew: 0, writePastView: false).run(on: backend)
        #expect(exact.passed, "\(exact)")
        let wrong = skewedCheck(skew: 1e-3, writePastView: false).run(on: backend)
        #expect(!wrong.passed)
        #expect(wrong.error > wrong.tolerance)
    }

    @Test("a write outside the view is a mismatch", .enabled(if: Fixture.runDeviceTests))
    func writeOutsideViewIsReported() throws {
        let backend = try Fixture.backend()
        // Over several seeds some layouts leave padding after the view; there the write shows.
        var caught = 0
        for seed in UInt64(1)...8 where !skewedCheck(skew: 0, writePastView: true).run(on: backend, seed: seed).passed {
            caught += 1
        }
        #expect(caught > 0)
    }

    @Test("an error thrown by the op is a failed result naming it", .enabled(if: Fixture.runDeviceTests))
    func thrownErrorIsReported() throws {
        let backend = try Fixture.backend()
        let check = OpChecks.dropout(count: 7, keepProbability: 1.5, seed: 1, stream: 0, step: 0,
                                     backward: false, property: .values)
        let result = check.run(on: backend)
        #expect(!result.passed)
        #expect(result.failure?.contains("keepProbability") == true)
    }
}
