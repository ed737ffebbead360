// Seed and value lists, the run list, mean ± SEM over seeds and the selection rule, against
// numbers worked out by hand in the comments.

import Foundation
import SynapseContinual
import Testing

@Suite struct SweepParsingTests {
    @Test("seed lists, ranges and mixes expand in the order written",
          arguments: [("0,1,2", [UInt64(0), 1, 2]), ("0-4", [0, 1, 2, 3, 4]), ("0-2,7", [0, 1, 2, 7]),
                      ("7", [7]), ("5-5", [5]), (" 3 , 1-2 ", [3, 1, 2]), ("10,0-1", [10, 0, 1])])
    func seedsExpand(text: String, expected: [UInt64]) throws {
        #expect(try SweepParsing.seeds(text) == expected)
    }

    @Test("a bad seed token is a one-line error naming the flag and the token",
          arguments: [("0,,1", "''"), ("a", "'a'"), ("3-1", "'3-1'"), ("1-2-3", "'1-2-3'"), ("-1", "'-1'"),
                      ("0,1,1", "seed 1"), ("0-2,2", "seed 2"), ("1.5", "'1.5'"), ("", "''"),
                      ("0-18446744073709551615", "'0-18446744073709551615'")])
    func badSeedsAreErrors(text: String, named: String) throws {
        do {
            _ = try SweepParsing.seeds(text, flag: "--seeds")
            Issue.record("'\(text)' was accepted")
        } catch let error as SweepError {
            #expect(error.message.hasPrefix("--seeds: "), "\(error)")
            #expect(error.message.contains(named), "\(error)")
            #expect(!error.message.contains("\n"))
        }
    }

    // Value lists are parsed by the hyper-parameters' one parser (HyperValues.parseValues); range,
    // finiteness and repeats are checked where the flag is read (ExperimentTests/SweepFlowTests).
    @Test("value lists keep order and parse decimals and exponents")
    func valuesParse() throws {
        #expect(try HyperValues.parseValues("0.001,0.01,0.1,1", kind: .real, flag: "c") == [0.001, 0.01, 0.1, 1])
        #expect(try HyperValues.parseValues("1e-3, 10 ,0", kind: .real, flag: "lambda") == [0.001, 10, 0])
        #expect(try HyperValues.parseValues("200,50", kind: .count, flag: "samples") == [200, 50])
    }

    @Test("a bad value token is a one-line error naming the flag and the token",
          arguments: [("0.1,,1", "''"), ("0.1,x", "'x'"), ("", "''"), ("1,2.5", "'2.5'")])
    func badValuesAreErrors(text: String, named: String) throws {
        let kind: HyperValueKind = text == "1,2.5" ? .count : .real
        do {
            _ = try HyperValues.parseValues(text, kind: kind, flag: "c")
            Issue.record("'\(text)' was accepted")
        } catch let ContinualError.invalidOption(message) {
            #expect(message.hasPrefix("--c ") && message.contains(named) && !message.contains("\n"), "\(message)")
        }
    }
}

@Suite struct SweepPlanTests {
    @Test("the run list is methods × values × seeds, seeds innermost, with distinct folder-safe ids")
    func crossProduct() throws {
        let runs = try SweepPlan.runs([MethodSweep(method: "si", parameter: "c", values: [0.01, 1]),
                                       MethodSweep(method: "finetune"),
                                       MethodSweep(method: "online-ewc", parameter: "lambda", values: [1e-5])],
                                      seeds: [0, 3])
        #expect(runs.map(\.id) == ["si_c0.01_seed0", "si_c0.01_seed3", "si_c1.0_seed0", "si_c1.0_seed3",
                                   "finetune_seed0", "finetune_seed3",
                                   "online-ewc_lambda1e-05_seed0", "online-ewc_lambda1e-05_seed3"])
        #expect(runs[2] == SweepRun(method: "si", parameter: "c", value: 1, seed: 0))
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        #expect(runs.allSatisfy { $0.id.allSatisfy(safe.contains) })
        #expect(Set(runs.map(\.id)).count == runs.count)
    }

    @Test("ids of close values stay distinct")
    func closeValuesDistinct() throws {
        let values: [Double] = [0.1, 0.1 + 1e-12, 0.3, 0.1 + 0.2]
        let runs = try SweepPlan.runs([MethodSweep(method: "si", parameter: "c", values: values)], seeds: [1])
        #expect(Set(runs.map(\.id)).count == 4)
    }

    @Test("empty seeds, repeated methods, names that are not folder-safe and missing values are errors")
    func badPlans() {
        #expect(throws: SweepError.self) { try SweepPlan.runs([MethodSweep(method: "si")], seeds: []) }
        #expect(throws: SweepError.self) { try SweepPlan.runs([MethodSweep(method: "si"), MethodSweep(method: "si")], seeds: [0]) }
        #expect(throws: SweepError.self) { try SweepPlan.runs([MethodSweep(method: "../si")], seeds: [0]) }
        #expect(throws: SweepError.self) { try SweepPlan.runs([MethodSweep(method: "si", parameter: "c", values: [])], seeds: [0]) }
        #expect(throws: SweepError.self) { try SweepPlan.runs([MethodSweep(method: "si", parameter: "c/x", values: [1])], seeds: [0]) }
    }
}

@Suite struct SeedStatisticsTests {
    @Test("mean ± SEM of 0.9, 0.8, 0.7 is 0.8 ± 0.1/√3; one value has no SEM and says so")
    func meanAndSEM() throws {
        // s² = (0.01 + 0 + 0.01)/2 = 0.01, s = 0.1, SEM = 0.1/√3 = 0.057735.
        let three = try #require(MeanSEM([0.9, 0.8, 0.7]))
        #expect(abs(three.mean - 0.8) < 1e-12 && abs(three.sem! - 0.0577350269) < 1e-9 && three.count == 3)
        #expect(three.description == "0.800 ± 0.058 (n = 3)")
        let one = try #require(MeanSEM([0.42]))
        #expect(one.sem == nil && one.description == "0.420 (n = 1, no SEM)")
        #expect(MeanSEM([]) == nil)
    }

    @Test("average accuracy, BWT and forgetting over seeds from two hand-computed matrices")
    func aggregateOverSeeds() throws {
        // Seed 0: R = [[0.9, 0.5], [0.7, 0.8]] → ACC 0.75, BWT 0.7 − 0.9 = −0.2, forgetting 0.2.
        // Seed 1: R = [[1.0, 0.4], [0.9, 0.9]] → ACC 0.9,  BWT −0.1, forgetting 0.1.
        // ACC: mean 0.825, s = √(2·0.075²/1) = 0.106066, SEM = s/√2 = 0.075.
        // BWT: mean −0.15, SEM 0.05; forgetting: mean 0.15, SEM 0.05.
        let r0: [[Double?]] = [[0.9, 0.5], [0.7, 0.8]]
        let r1: [[Double?]] = [[1.0, 0.4], [0.9, 0.9]]
        let single: [[Double?]] = [[0.6, 0.5], [0.5, 0.7]]   // ACC 0.6, BWT −0.1, forgetting 0.1
        let results: [(run: SweepRun, summary: AccuracySummary)] = [
            (SweepRun(method: "si", parameter: "c", value: 0.1, seed: 0), AccuracySummary(r0)),
            (SweepRun(method: "finetune", seed: 5), AccuracySummary(single)),
            (SweepRun(method: "si", parameter: "c", value: 0.1, seed: 1), AccuracySummary(r1)),
        ]
        let groups = SeedAggregate.group(results)
        #expect(groups.map(\.method) == ["si", "finetune"])
        let si = groups[0]
        #expect(si.seeds == [0, 1] && si.value == 0.1 && si.parameter == "c")
        func close(_ stat: MeanSEM?, _ mean: Double, _ sem: Double?) -> Bool {
            guard let stat else { return false }
            guard abs(stat.mean - mean) < 1e-12 else { return false }
            if let sem { return stat.sem.map { abs($0 - sem) < 1e-12 } ?? false }
            return stat.sem == nil
        }
        #expect(close(si.averageAccuracy, 0.825, 0.075))
        #expect(close(si.backwardTransfer, -0.15, 0.05))
        #expect(close(si.forgetting, 0.15, 0.05))
        #expect(close(groups[1].averageAccuracy, 0.6, nil) && close(groups[1].backwardTransfer, -0.1, nil))
        #expect(SeedAggregate.csvHeader.split(separator: ",").count == 11)
        #expect(si.csvRow == "si,c,0.1,0;1,2,0.825000,0.075000,-0.150000,0.050000,0.150000,0.050000")
        #expect(groups[1].csvRow == "finetune,,,5,1,0.600000,,-0.100000,,0.100000,")
    }
}

@Suite struct ValidationSelectionTests {
    @Test("the best mean validation accuracy over tasks wins; a tie goes to the smaller value")
    func chooseBestMean() throws {
        // Means: 0.80, 0.85, 0.85, 0.70 → 1.0 and 0.1 tie at 0.85, listed larger first; 0.1 wins.
        let choice = try #require(ValidationSelection.choose(values: [10, 1.0, 0.1, 0.01],
                                                             accuracies: [[0.7, 0.9], [0.8, 0.9], [0.9, 0.8], [0.7, 0.7]]))
        #expect(choice.value == 0.1 && choice.index == 2 && abs(choice.meanAccuracy - 0.85) < 1e-12)
        // A mean above the others wins even over a smaller value.
        let other = try #require(ValidationSelection.choose(values: [0.001, 1], accuracies: [[0.5, 0.6], [0.9, 0.6]]))
        #expect(other.value == 1)
    }

    @Test("empty rows and non-finite means are never chosen; mismatched counts give no choice")
    func degenerate() {
        #expect(ValidationSelection.choose(values: [1, 2], accuracies: [[], [.nan]]) == nil)
        #expect(ValidationSelection.choose(values: [1, 2], accuracies: [[0.5]]) == nil)
        #expect(ValidationSelection.choose(values: [1, 2], accuracies: [[.nan], [0.1]])?.value == 2)
    }
}
