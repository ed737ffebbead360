// The small check list (what CI runs under the Oclgrind simulator) keeps every op of the standard
// list and the multi-tile ragged shapes the GPU-style kernels must be simulated on.
import SynapseChecks
import SynapseEngine
import Testing

@Suite("Small check list")
struct SmallChecksTests {
    @Test("every op of the standard list keeps a shape; nothing above the flop limit; larger shapes left out")
    func smallKeepsEveryOp() {
        let standard = OpChecks.standard, small = OpChecks.small
        #expect(Set(small.map(\.op)) == Set(standard.map(\.op)))
        #expect(small.allSatisfy { $0.flops <= OpChecks.smallFlopLimit })
        #expect(small.count < standard.count)
        #expect(standard.contains { $0.flops > OpChecks.smallFlopLimit })
    }

    @Test("the small list still spans several GPU tiles with ragged edges in GEMM and convolution")
    func smallSpansTiles() {
        // The GPU-style kernels' largest default tile is 64 × 64 × 16: a GEMM with M > 64 and
        // K > 16 (neither a multiple), and a convolution with more than 64 output positions per
        // image and more than 32 filters, cross tile borders in every dimension.
        let gemms = OpChecks.small.filter { $0.op.hasPrefix("gemm") }.map(\.shape)
        #expect(gemms.contains { shape in
            let numbers = shape.split(separator: " ").compactMap { Int($0.dropFirst()) }
            return numbers.count >= 3 && numbers[0] > 64 && numbers[0] % 64 != 0 && numbers[2] > 16 && numbers[2] % 16 != 0
        })
        let convs = OpChecks.small.filter { $0.op.hasPrefix("conv2dForward") }
        #expect(convs.contains { $0.flops > 1e6 })
    }
}
