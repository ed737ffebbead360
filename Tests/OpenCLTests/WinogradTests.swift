// Winograd F(2×2, 3×3) (Kernels/winograd.cl) forced on, whatever the tuner chose on this machine:
// every convolution check of the standard list (the CNN's layers at a small batch, odd sizes
// with partial last tiles, channel counts that are multiples of no block, pad 0, 1 and 2, and
// the input gradients, whose dOutput is padded by 2 − pad; the weight gradients, with
// F(3×3, 2×2) in the same transform domain) against the reference backend, for every Winograd
// candidate (slow tier; the default tier forces one candidate on the small list: KernelCheckTests).
import SynapseChecks
import SynapseEngine
import SynapseReference
import Testing
@testable import SynapseOpenCL

@Suite("Winograd convolution")
struct WinogradTests {
    static let tables = [TileTables.conv3x3ForwardWide, TileTables.conv3x3ForwardNarrow,
                         TileTables.conv3x3BackwardInputWide, TileTables.conv3x3BackwardInputNarrow]

    @Test("forward and input-gradient checks pass with Winograd forced, for every Winograd candidate",
          .enabled(if: Fixture.runDeviceTests), .slowTier)
    func forcedWinogradMatchesReference() throws {
        let reference = ReferenceBackend()
        let candidates = TileTables.conv3x3ForwardWide.candidates.filter { $0["ALGO"] == "winograd" }
        #expect(!candidates.isEmpty)
        let checks = OpChecks.standard.filter { $0.op.hasPrefix("conv2dForward") || $0.op.hasPrefix("conv2dBackwardInput") }
        for candidate in candidates {
            let backend = try Fixture.backend(style: .cpu)
            for table in Self.tables { backend.chosenTiles[table.kernel] = candidate }
            for check in checks {
                let result = check.run(on: backend, reference: reference, seed: 0x3A3)
                #expect(result.passed, "\(TileTable.text(candidate)): \(result)")
            }
            // The checks reached the Winograd kernels (not only the direct fallback).
            #expect(backend.workspaces["winograd.filter"] != nil)
        }
    }

    static let weightTables = [TileTables.conv3x3BackwardWeightWide, TileTables.conv3x3BackwardWeightNarrow]

    @Test("weight-gradient checks pass with Winograd forced, for every Winograd candidate",
          .enabled(if: Fixture.runDeviceTests), .slowTier)
    func forcedWinogradWeightGradientMatchesReference() throws {
        let reference = ReferenceBackend()
        let candidates = TileTables.conv3x3BackwardWeightWide.candidates.filter { $0["ALGO"] == "winograd" }
        #expect(!candidates.isEmpty)
        let checks = OpChecks.standard.filter { $0.op == "conv2dBackwardWeight" }
        // Shapes it serves (3×3, 8 to 64 input channels, output rows of more than 8) are among them.
        #expect(checks.count >= 20)
        for candidate in candidates {
            let backend = try Fixture.backend(style: .cpu)
            for table in Self.weightTables { backend.chosenTiles[table.kernel] = candidate }
            for check in checks {
                let result = check.run(on: backend, reference: reference, seed: 0xD3)
                #expect(result.passed, "\(TileTable.text(candidate)): \(result)")
            }
            // The checks reached the Winograd kernel, its in-place and copied paths.
            #expect(backend.workspaces["winograd.dwScratch"] != nil && backend.workspaces["winograd.dwGradient"] != nil
                    && backend.workspaces["winograd.paddedInput"] != nil)
        }
    }

    @Test("weight gradients Winograd does not serve fall back to the direct kernel", .enabled(if: Fixture.runDeviceTests))
    func unservedWeightGradientsFallBack() throws {
        let backend = try Fixture.backend(style: .cpu)
        for table in Self.weightTables { backend.chosenTiles[table.kernel] = ["ALGO": "winograd", "NB": "4", "ITEMS": "2"] }
        let reference = ReferenceBackend()
        // 5×5 filters, 4 channels (< 8), 65 channels (> 64), output rows of 8 (≤ 8), 257 filters.
        let shapes = [ConvShape(batch: 2, inChannels: 9, height: 13, width: 13, outChannels: 9, kernelSize: 5, padding: 2),
                      ConvShape(batch: 2, inChannels: 4, height: 12, width: 12, outChannels: 4, padding: 1),
                      ConvShape(batch: 1, inChannels: 65, height: 11, width: 11, outChannels: 9, padding: 0),
                      ConvShape(batch: 2, inChannels: 9, height: 10, width: 8, outChannels: 9, padding: 1),
                      ConvShape(batch: 1, inChannels: 8, height: 11, width: 11, outChannels: 257, padding: 0)]
        for s in shapes {
            #expect(OpChecks.conv2dBackwardWeight(s).run(on: backend, reference: reference).passed, "\(s)")
        }
        #expect(backend.workspaces["winograd.dwScratch"] == nil)
    }

    @Test("shapes Winograd does not serve fall back to the direct kernel", .enabled(if: Fixture.runDeviceTests))
    func unservedShapesFallBack() throws {
        let backend = try Fixture.backend(style: .cpu)
        for table in Self.tables { backend.chosenTiles[table.kernel] = ["ALGO": "winograd", "MR": "16"] }
        let reference = ReferenceBackend()
        // 5×5 filters, 4 channels (< 8), 65 channels (> 64), and an input gradient with pad 3 (> R − 1).
        let shapes = [ConvShape(batch: 2, inChannels: 9, height: 9, width: 9, outChannels: 9, kernelSize: 5, padding: 2),
                      ConvShape(batch: 2, inChannels: 4, height: 9, width: 9, outChannels: 4, padding: 1),
                      ConvShape(batch: 1, inChannels: 65, height: 6, width: 7, outChannels: 65, padding: 0),
                      ConvShape(batch: 2, inChannels: 9, height: 5, width: 6, outChannels: 9, padding: 3)]
        for s in shapes {
            if s.padding <= 2 { #expect(OpChecks.conv2dForward(s, relu: true).run(on: backend, reference: reference).passed) }
            #expect(OpChecks.conv2dBackwardInput(s).run(on: backend, reference: reference).passed)
        }
        #expect(backend.workspaces["winograd.filter"] == nil)
    }
}
