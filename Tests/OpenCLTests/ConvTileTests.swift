// Every candidate of the CPU forward-convolution tile tables (row and flat-wide tiles) against
// the reference on the conv checks of SynapseChecks, forward and input gradient: the tuner
// only checks candidates on its two probe shapes, and synapse-check only runs the chosen one
// (slow tier: 11 candidates × every conv check).
import SynapseChecks
import SynapseEngine
@testable import SynapseOpenCL
import SynapseReference
import Testing

@Suite("CPU conv tile candidates match the reference")
struct ConvTileTests {
    @Test("every conv_fwd_cpu candidate passes the conv checks", .enabled(if: Fixture.runDeviceTests), .slowTier)
    func everyCandidatePasses() throws {
        let backend = try Fixture.backend(style: .cpu)
        let reference = ReferenceBackend()
        let checks = OpChecks.standard.filter { $0.op.hasPrefix("conv2dForward") || $0.op == "conv2dBackwardInput" }
        #expect(checks.count >= 20)
        let seed: UInt64 = 0xF1A7
        for check in checks {
            let expected = try check.prepare(reference, seed)
            try expected.run()
            let wanted = try expected.download(from: reference)
            // The reference runs once per check (in a debug build it costs more than the kernels).
            for table in [TileTables.convForwardWide, TileTables.convForwardNarrow] {
                for candidate in table.candidates {
                    backend.tilesUnderTrial[table.kernel] = candidate
                    defer { backend.tilesUnderTrial[table.kernel] = nil }
                    let op = try check.prepare(backend, seed)
                    try op.run()
                    let (error, tolerance) = check.compare(try op.download(from: backend), wanted)
                    #expect(error <= tolerance,
                            "\(TileTable.text(candidate)): \(check.op) \(check.shape): error \(error) > \(tolerance)")
                }
            }
        }
    }

    /// A first-use tuning runs convolutions of its own, which reuse the workspaces (the padded
    /// copies); a convolution that triggers it must resolve its tiles before filling them.
    /// Slow tier: each case tunes the convolution tables from an empty cache (every candidate compiled).
    @Test("a convolution whose first use tunes the tiles computes the right result",
          .enabled(if: Fixture.runDeviceTests), .slowTier,
          arguments: ["conv2dForward N3 C3 32x32 K32 R3 pad1", "conv2dBackwardInput+relu N2 C32 15x15 K64 R3 pad1",
                      "conv2dBackwardWeight N2 C32 32x32 K32 R3 pad0"])
    func firstUseTuningInsideAConvolution(name: String) throws {
        let check = try #require(OpChecks.standard.first { "\($0.op) \($0.shape)".hasPrefix(name) })
        let cache = try TemporaryFolder("ocl-conv-first-use")
        defer { cache.remove() }
        let backend = try OpenCLBackend(device: Fixture.cpuDevice(), style: .cpu, cache: .directory(cache.path), tuning: .firstUse)
        let result = check.run(on: backend, reference: ReferenceBackend(), seed: 0x71E5)
        // The direct kernel's table; for the input gradient (32 to 64 channels) first the 3×3
        // algorithm table, whose timing of the direct candidate tunes the direct table inside it;
        // for the weight gradient the 3×3 algorithm table alone (its direct kernel has fixed tiles).
        #expect(backend.tuningStatistics.tuned == (check.op.hasPrefix("conv2dBackwardInput") ? 2 : 1))
        #expect(result.passed, "\(result)")
    }
}
