// The tile tuner: choices cached per device and driver (and read back without timing), corrupt
// cache files rebuilt, and a candidate that computes wrong results never chosen.
import Foundation
import SynapseEngine
import SynapseChecks
import Testing
@testable import SynapseOpenCL

@Suite("Tile tuner", .serialized)
struct TunerTests {
    /// Small CPU GEMM tables of correct candidates. The tests share one cache folder, so each
    /// program is compiled once (PoCL takes seconds per build); each table (a different candidate
    /// list or order) is a different tuning key, so no test sees another's choice.
    static let twoCandidates = TileTable(kernel: "gemm_cpu", style: .cpu, candidates: [
        ["MR": "1", "NR": "16"], ["MR": "6", "NR": "32"],
    ])
    static let otherOrder = TileTable(kernel: "gemm_cpu", style: .cpu, candidates: [
        ["MR": "6", "NR": "32"], ["MR": "1", "NR": "16"],
    ])
    static let cache = try? TemporaryFolder("ocl-tuner")
    static let folder = cache?.path ?? NSTemporaryDirectory() + "synapse-ocl-tuner-\(getpid())"

    private func removeTuningFiles() throws {
        for file in try tuningFiles(Self.folder) { try FileManager.default.removeItem(atPath: file) }
    }

    private func tuningFiles(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("tuning-") && $0.hasSuffix(".txt") }
            .map { folder + "/" + $0 }
    }

    @Test("a tuned choice is cached per device and driver and read back without timing",
          .enabled(if: Fixture.runDeviceTests))
    func cacheRoundTrip() throws {
        let folder = Self.folder
        try removeTuningFiles()
        let device = try Fixture.cpuDevice()
        let first = try OpenCLBackend(device: device, style: .cpu, cache: .directory(folder), tuning: .firstUse)
        let chosen = try first.tiles(Self.twoCandidates)
        #expect(first.tuningStatistics.tuned == 1)
        #expect(first.tuningStatistics.written == 1)
        #expect(Self.twoCandidates.candidates.contains(chosen))
        let files = try tuningFiles(folder)
        #expect(files.count == 1)
        let text = try String(contentsOfFile: files[0], encoding: .utf8)
        #expect(text.contains("device=\(device.name)") && text.contains("driver=\(device.driverVersion)"))

        // A second process would start from the file: `.cached` never times, so a choice can only
        // come from the file (else it would be the default, candidates[0]).
        let second = try OpenCLBackend(device: device, style: .cpu, cache: .directory(folder), tuning: .cached)
        #expect(try second.tiles(Self.twoCandidates) == chosen)
        #expect(second.tuningStatistics.tuned == 0)

        // A different table (here: another candidate list) is another key: not read from this file.
        #expect(first.tuningKey(Self.otherOrder) != first.tuningKey(Self.twoCandidates))
    }

    @Test("a corrupt cache entry is rejected, retuned and rewritten", .enabled(if: Fixture.runDeviceTests))
    func corruptEntryIsRebuilt() throws {
        let folder = Self.folder
        try removeTuningFiles()
        let device = try Fixture.cpuDevice()
        let first = try OpenCLBackend(device: device, style: .cpu, cache: .directory(folder), tuning: .firstUse)
        let chosen = try first.tiles(Self.otherOrder)
        let path = try #require(try tuningFiles(folder).first)
        let good = try String(contentsOfFile: path, encoding: .utf8)

        // Three kinds of damage: a changed choice (check no longer matches), a choice that is not
        // a candidate (check recomputed to match), and bytes that are not text at all.
        let lines = good.split(separator: "\n").map(String.init)
        let tampered = good.replacingOccurrences(of: "choice=" + TileTable.text(chosen), with: "choice=MR=7 NR=16")
        let foreignBody = lines[0] + "\n" + lines[1] + "\nchoice=MR=7 NR=16"
        let foreign = foreignBody + "\ncheck=" + hex64(fnv1a64(foreignBody.utf8)) + "\n"
        for damage in [Data(tampered.utf8), Data(foreign.utf8), Data([0xFF, 0xFE, 0x00, 0x41])] {
            try damage.write(to: URL(fileURLWithPath: path))
            let reader = try OpenCLBackend(device: device, style: .cpu, cache: .directory(folder), tuning: .cached)
            #expect(reader.loadTuning(Self.otherOrder, key: reader.tuningKey(Self.otherOrder)) == .corrupt,
                    "a damaged file (\(damage.count) bytes) was accepted")
            #expect(reader.tuningStatistics.rejected == 1 && reader.tuningStatistics.loaded == 0)

            // First use on a corrupt file retunes and rewrites it; the next backend loads it.
            let rebuilder = try OpenCLBackend(device: device, style: .cpu, cache: .directory(folder), tuning: .firstUse)
            let rebuilt = try rebuilder.tiles(Self.otherOrder)
            #expect(rebuilder.tuningStatistics.rejected == 1)
            #expect(rebuilder.tuningStatistics.tuned == 1 && rebuilder.tuningStatistics.written == 1)
            let after = try OpenCLBackend(device: device, style: .cpu, cache: .directory(folder), tuning: .cached)
            #expect(after.loadTuning(Self.otherOrder, key: after.tuningKey(Self.otherOrder)) == .found(rebuilt))
        }
        _ = chosen
    }

    @Test("a candidate that computes wrong results is never chosen, however fast",
          .enabled(if: Fixture.runDeviceTests))
    func wrongCandidateNeverChosen() throws {
        let folder = Self.folder
        let device = try Fixture.cpuDevice()
        // NR = 24 is not a multiple of the kernel's 16 lanes: it packs 24 columns per panel but
        // computes and stores only 16 of them, so a third of C keeps stale values. It does less
        // work than the correct, slow MR = 1 candidate (one row per work-item), so timing alone
        // would pick it.
        let broken: [String: String] = ["MR": "8", "NR": "24"]
        let slowButRight: [String: String] = ["MR": "1", "NR": "16"]
        let table = TileTable(kernel: "gemm_cpu", style: .cpu, candidates: [broken, slowButRight])
        let backend = try OpenCLBackend(device: device, style: .cpu, cache: .directory(folder), tuning: .firstUse)
        let report = try backend.tune(table)
        #expect(report.chosen == slowButRight)
        let rejected = try #require(report.candidates.first { $0.defines == broken })
        #expect(rejected.rejection?.contains("wrong results") == true)
        #expect(rejected.seconds == nil)
        #expect(try backend.tiles(table) == slowButRight)

        // Every candidate wrong: an error naming the kernel, never a silent choice.
        let allBroken = TileTable(kernel: "gemm_cpu", style: .cpu, candidates: [broken])
        #expect(throws: BackendError.self) { try backend.tune(allBroken) }
    }

    /// Slow tier: four more builds of the GPU convolution kernels; the CPU GEMM cases above run by default.
    @Test("GPU-style convolution tables: candidates are checked against the reference in GPU style, a wrong one is never chosen",
          .enabled(if: Fixture.runDeviceTests), .slowTier)
    func gpuConvolutionTables() throws {
        let device = try Fixture.cpuDevice()
        let backend = try OpenCLBackend(device: device, style: .gpu, cache: .directory(Self.folder), tuning: .firstUse)
        // WN = 6 does not divide TN = 64: 10 work-items × 6 columns cover 60 of each tile's 64
        // positions (forward) or (c, r, s) columns (weight gradient); the rest is never written.
        let broken: [String: String] = ["TM": "64", "TN": "64", "TK": "16", "WM": "8", "WN": "6"]
        for production in [TileTables.convGPU, TileTables.convWeightGPU] {
            #expect(TileTables.all(for: .gpu).contains { $0.kernel == production.kernel })
            let table = TileTable(kernel: production.kernel, style: .gpu, candidates: [broken, production.candidates[0]])
            let report = try backend.tune(table)
            #expect(report.chosen == production.candidates[0], "\(production.kernel)")
            let rejected = try #require(report.candidates.first { $0.defines == broken })
            #expect(rejected.rejection?.contains("wrong results") == true, "\(production.kernel): \(rejected.rejection ?? "accepted")")
            #expect(try backend.tiles(table) == production.candidates[0])
        }
        // The production tables' candidates all meet the scaling rule for layers of ≤ 32 filters
        // and the work-group limits every device has (≤ 256 work-items).
        for table in [TileTables.convGPU, TileTables.convWeightGPU] {
            for c in table.candidates {
                let tm = Int(c["TM"]!)!, wm = Int(c["WM"]!)!, tn = Int(c["TN"]!)!, wn = Int(c["WN"]!)!
                #expect(tm % wm == 0 && tn % wn == 0 && (wm * 32) % tm == 0 && (tm / wm) * (tn / wn) <= 256,
                        "\(table.kernel) \(TileTable.text(c))")
            }
        }
    }

    @Test("every tile table names the ops that read it, each with small checks: synapse-check --every-tile reaches every candidate")
    func tablesNameTheirOps() throws {
        let small = OpChecks.small
        for style in [KernelStyle.cpu, .gpu] {
            for table in TileTables.all(for: style) {
                let ops = try #require(table.ops, "\(table.kernel) names no ops")
                #expect(!ops.isEmpty, "\(table.kernel)")
                for op in ops { #expect(small.contains { $0.op.hasPrefix(op) }, "\(table.kernel): no small check of \(op)") }
            }
        }
    }

    @Test("withTiles runs its body on the candidate given, restores the choice afterwards, refuses anything else",
          .enabled(if: Fixture.runDeviceTests))
    func withTilesForcesACandidate() throws {
        let backend = try Fixture.backend(style: .cpu, cache: .directory(Self.folder))
        let table = TileTables.gemmCPU
        let resolved = try backend.tiles(table)
        let other = try #require(table.candidates.first { $0 != resolved })
        #expect(try backend.withTiles(table, other) { try backend.tiles(table) } == other)
        #expect(try backend.tiles(table) == resolved)
        #expect(throws: BackendError.self) { try backend.withTiles(table, ["MR": "3", "NR": "16"]) {} }
        #expect(throws: BackendError.self) { try backend.withTiles(TileTables.gemmGPU, TileTables.gemmGPU.candidates[0]) {} }
    }

    @Test("SYNAPSE_TUNE accepts first-use, cached, off and rejects anything else")
    func policyFromEnvironment() throws {
        #expect(try TuningPolicy.fromEnvironment([:]) == .firstUse)
        #expect(try TuningPolicy.fromEnvironment(["SYNAPSE_TUNE": "cached"]) == .cached)
        #expect(try TuningPolicy.fromEnvironment(["SYNAPSE_TUNE": "OFF"]) == .off)
        #expect(throws: BackendError.self) { try TuningPolicy.fromEnvironment(["SYNAPSE_TUNE": "sometimes"]) }
    }
}
