// --seeds: every method once per seed, each run in its own files, the runs listed in the summary.

import Foundation
import Testing
@testable import SynapseCLI
import SynapseEngine

@Suite("Seed lists")
struct SeedSweepTests {
    @Test("--seeds lists and ranges expand in the order given")
    func seedListsExpand() throws {
        #expect(try RunConfig.parseSeeds("0,1,2") == [0, 1, 2])
        #expect(try RunConfig.parseSeeds("0-4") == [0, 1, 2, 3, 4])
        #expect(try RunConfig.parseSeeds("9, 3-5 ,1") == [9, 3, 4, 5, 1])
    }

    @Test("a seed list runs each method with each seed, as the runs with --seed alone do")
    func seedSweepRunsEverySeed() throws {
        let folder = try TemporaryFolder("seeds")
        defer { folder.remove() }
        var generator = SeededGenerator(seed: 0x5EED5)
        let seeds = [UInt64(generator.nextInt(below: 1 << 20)), UInt64(generator.nextInt(below: 1 << 20)) + (1 << 20)]
        try writeTinyMNIST(to: folder.path, seed: seeds[0], trainPerClass: 5, testPerClass: 3)
        let common = ["--data-dir", folder.path, "--device", "reference", "--method", "finetune", "--epochs", "1",
                      "--batch-size", "5", "--tasks", "2"]
        let captured = CapturedConsole()
        #expect(runTool(.splitMNIST, common + ["--seeds", seeds.map(String.init).joined(separator: ","),
                                               "--out", folder.path + "/sweep"], console: captured) == 0,
                "\(captured.errorLines)")
        for seed in seeds {
            #expect(runTool(.splitMNIST, common + ["--seed", String(seed), "--out", folder.path + "/single-\(seed)"]) == 0)
            let swept = try jsonObject(folder.path + "/sweep/finetune_seed\(seed).json")
            let single = try jsonObject(folder.path + "/single-\(seed)/finetune.json")
            #expect(matrix(swept["accuracy"]) == matrix(single["accuracy"]), "seed \(seed)")
            #expect(((swept["config"] as? [String: Any])?["seed"] as? NSNumber)?.uint64Value == seed)
        }
        let rows = try String(contentsOfFile: folder.path + "/sweep/runs.csv", encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 3, "a header and one row per seed: \(rows)")
        // summary.csv: one row per method over its seeds (SweepFlowTests checks the numbers).
        let summary = try String(contentsOfFile: folder.path + "/sweep/summary.csv", encoding: .utf8).split(separator: "\n")
        #expect(summary.count == 2 && summary[1].hasPrefix("finetune,,,\(seeds[0]);\(seeds[1]),2,"), "\(summary)")
    }
}
