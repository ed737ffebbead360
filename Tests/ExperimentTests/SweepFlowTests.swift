// The run list end to end on tiny data: several seeds give one file per run and a summary of
// mean ± SEM recomputed here from those files; a resumed sweep retrains only the missing run;
// a hyper-parameter list is chosen on the held-out validation part (the choice recomputed here
// from the validation results) or, without --select-on, reported loudly as a test-set sweep.

import Foundation
import Testing
@testable import SynapseCLI
import SynapseEngine

@Suite("Seeds and sweeps")
struct SweepFlowTests {
    static func arguments(data: String, out: String) -> [String] {
        ["--data-dir", data, "--device", "reference", "--tasks", "2", "--epochs", "1", "--batch-size", "6",
         "--lr", "0.01", "--out", out, "--quiet"]
    }

    /// Mean of the last row of a run's task-incremental matrix (average accuracy), from its JSON.
    static func averageAccuracy(_ path: String) throws -> Double {
        let r = try #require(matrix(try jsonObject(path)["accuracy"]))
        let last = r.last!.map { $0! }
        return last.reduce(0, +) / Double(last.count)
    }

    /// Mean and s/√n with s the n − 1 sample deviation, written out here.
    static func meanAndSEM(_ x: [Double]) -> (Double, Double) {
        let mean = x.reduce(0, +) / Double(x.count)
        let s2 = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count - 1)
        return (mean, (s2 / Double(x.count)).squareRoot())
    }

    /// summary.csv rows as header → cell dictionaries.
    static func csvRows(_ path: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
    }

    @Test func severalSeedsWriteOneFilePerRunAndMeanSEMOfTheirResults() throws {
        let folder = try TemporaryFolder("seeds")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 21, trainPerClass: 6, testPerClass: 3)
        let out = folder.path + "/run"
        let captured = CapturedConsole()
        let status = runTool(.splitMNIST, Self.arguments(data: folder.path, out: out)
                             + ["--method", "si,finetune", "--seeds", "3-5"], console: captured)
        #expect(status == 0, "\(captured.errorLines)")
        let rows = try Self.csvRows(out + "/summary.csv")
        var errorBars = 0
        for method in ["si", "finetune"] {
            var averages: [Double] = []
            var finals: [[Double]] = []
            for seed in 3...5 {
                let path = out + "/\(method)_seed\(seed).json"
                let config = try #require(try jsonObject(path)["config"] as? [String: Any])
                #expect((config["seed"] as? NSNumber)?.intValue == seed)
                averages.append(try Self.averageAccuracy(path))
                finals.append(try #require(matrix(try jsonObject(path)["accuracy"])).last!.map { $0! })
            }
            let (mean, sem) = Self.meanAndSEM(averages)
            let row = try #require(rows.first { $0["method"] == method })
            #expect(row["seeds"] == "3;4;5" && row["n"] == "3")
            #expect(abs(Double(row["average_accuracy_mean"]!)! - mean) < 1e-6)
            #expect(abs(Double(row["average_accuracy_sem"]!)! - sem) < 1e-6)
            #expect(captured.output.contains(String(format: "%.3f ± %.3f (n = 3)", mean, sem)), "\(captured.output)")
            // An error bar for every task (and the mean) whose accuracy differs between seeds.
            for t in 0..<2 where Self.meanAndSEM(finals.map { $0[t] }).1 > 0 { errorBars += 1 }
            if sem > 0 { errorBars += 1 }
        }
        let svg = try String(contentsOfFile: out + "/accuracy.svg", encoding: .utf8)
        #expect(FigureTests.errorBars(svg) == errorBars)
        #expect(FileManager.default.fileExists(atPath: out + "/runs.csv"))
        #expect(FileManager.default.fileExists(atPath: out + "/average-accuracy.svg"))
    }

    @Test func aResumedSweepRetrainsOnlyTheMissingRun() throws {
        let folder = try TemporaryFolder("sweep-resume")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 22, trainPerClass: 5, testPerClass: 3)
        let out = folder.path + "/run"
        #expect(runTool(.splitMNIST, Self.arguments(data: folder.path, out: out) + ["--method", "finetune", "--seeds", "0,1"]) == 0)
        let before = try #require(matrix(try jsonObject(out + "/finetune_seed1.json")["accuracy"]))
        try FileManager.default.removeItem(atPath: out + "/finetune_seed1.json")
        try FileManager.default.removeItem(atPath: out + "/finetune_seed1.checkpoint.safetensors")
        let captured = CapturedConsole()
        #expect(runTool(.splitMNIST, ["--resume", out], console: captured) == 0, "\(captured.errorLines)")
        #expect(captured.errorLines.contains { $0.contains("[finetune_seed0] all 2 tasks already done") })
        #expect(!captured.errorLines.contains { $0.contains("[finetune_seed1] all 2 tasks already done") })
        #expect(captured.errorLines.contains { $0.hasPrefix("[finetune_seed1] task 2/2") })
        #expect(try matrix(try jsonObject(out + "/finetune_seed1.json")["accuracy"]) == before)
    }

    @Test func aListChosenOnValidationRetrainsWithTheBestValue() throws {
        let folder = try TemporaryFolder("select")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 23, trainPerClass: 10, testPerClass: 3)
        let out = folder.path + "/run"
        let captured = CapturedConsole()
        let values = [0.001, 1000.0]
        let status = runTool(.splitMNIST, Self.arguments(data: folder.path, out: out)
                             + ["--method", "si,finetune", "--c", "0.001,1000", "--select-on", "validation", "--seeds", "0,1",
                                "--validation-fraction", "0.2"], console: captured)
        #expect(status == 0, "\(captured.errorLines)")
        // The rule, recomputed from the validation runs' files: best mean over tasks and seeds, ties → smaller.
        var means: [Double] = []
        for value in values {
            let runs = try [0, 1].map { try Self.averageAccuracy(out + "/validation/si_c\(value)_seed\($0).json") }
            means.append(runs.reduce(0, +) / 2)
        }
        let best = means[1] > means[0] ? values[1] : values[0]
        let record = try jsonObject(out + "/selection-si.json")
        #expect((record["chosen"] as? NSNumber)?.doubleValue == best)
        #expect((record["values"] as? [NSNumber])?.map(\.doubleValue) == values)
        let table = try #require(record["mean_validation_accuracy"] as? [[NSNumber]])
        for (v, row) in table.enumerated() { #expect(abs(row.map(\.doubleValue).reduce(0, +) / 2 - means[v]) < 1e-12) }
        // The final runs train with the chosen value on the full training split and are scored on the test split.
        for seed in 0...1 {
            let json = try jsonObject(out + "/si_c\(best)_seed\(seed).json")
            let config = try #require(json["config"] as? [String: Any])
            #expect(((config["hyper_parameters"] as? [String: Any])?["c"] as? NSNumber)?.doubleValue == best)
            #expect(FileManager.default.fileExists(atPath: out + "/finetune_seed\(seed).json"))
        }
        #expect(!FileManager.default.fileExists(atPath: out + "/si_c\(best == values[0] ? values[1] : values[0])_seed0.json"))
        let svg = try String(contentsOfFile: out + "/validation-si.svg", encoding: .utf8)
        #expect(svg.contains("log scale"))
        #expect(!captured.output.contains("TEST-SET SWEEP"))
        // The validation table is printed too, with the chosen value marked.
        #expect(captured.output.contains(String(format: "--c %@: %.3f ± ", best == 1000 ? "1000" : "0.001", best == 1000 ? means[1] : means[0])
                                         + "") && captured.output.contains("← chosen"), "\(captured.output)")
    }

    @Test func aListWithoutSelectionRunsEveryValueOnTheTestSplitAndSaysSo() throws {
        let folder = try TemporaryFolder("test-sweep")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 24, trainPerClass: 4, testPerClass: 2)
        let out = folder.path + "/run"
        let captured = CapturedConsole()
        #expect(runTool(.splitMNIST, Self.arguments(data: folder.path, out: out) + ["--method", "si", "--c", "0.5,2"],
                        console: captured) == 0)
        #expect(captured.output.contains("WARNING: TEST-SET SWEEP"))
        let rows = try Self.csvRows(out + "/summary.csv")
        #expect(rows.map { $0["value"] } == ["0.5", "2.0"] && rows.allSatisfy { $0["parameter"] == "c" })
        for value in ["0.5", "2.0"] {
            let avg = try Self.averageAccuracy(out + "/si_c\(value)_seed0.json")
            #expect(abs(Double(rows.first { $0["value"] == value }!["average_accuracy_mean"]!)! - avg) < 1e-6)
        }
    }

    @Test func badSweepOptionsAreOneLineAndExitCodeTwo() throws {
        for (arguments, named) in [(["--select-on", "validation"], "--select-on"), (["--c", "1,1"], "--c"),
                                   (["--seeds", "2-1"], "--seeds"), (["--seeds", "0,x"], "--seeds"),
                                   (["--c", "0.1,1", "--xi", "0.1,1"], "--c"),
                                   (["--c", "1,2", "--select-on", "validation", "--validation-fraction", "1.5"], "--validation-fraction"),
                                   (["--validation-fraction", "0.2"], "--validation-fraction"),
                                   (["--optimizer", "rmsprop"], "optimizer"), (["--seed", "3", "--seeds", "0,1"], "--seed"),
                                   (["--c", "-1,1"], "--c")] {
            let captured = CapturedConsole()
            let status = runTool(.splitMNIST, ["--data-dir", "/nonexistent", "--device", "reference"] + arguments, console: captured)
            #expect(status == 2, "\(arguments): \(captured.errorLines)")
            #expect(captured.errorLines.count == 1 && captured.errorLines[0].contains(named), "\(arguments): \(captured.errorLines)")
        }
    }

    @Test func recordOmegaKeepsEachTasksOmegaBeforeConsolidationAndDrawsItsCorrelation() throws {
        let folder = try TemporaryFolder("omega")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 25, trainPerClass: 4, testPerClass: 2)
        let out = folder.path + "/run"
        let captured = CapturedConsole()
        // Plain SGD with c = 0: each step adds lr·g² to ω, so ω at a task's end is ≥ 0 and not all zero
        // (after consolidation it would be all zero).
        #expect(runTool(.splitMNIST, ["--data-dir", folder.path, "--device", "reference", "--tasks", "3", "--epochs", "1",
                                      "--batch-size", "6", "--lr", "0.05", "--optimizer", "sgd", "--out", out, "--quiet",
                                      "--method", "si", "--c", "0,1", "--record-omega"], console: captured) == 0,
                "\(captured.errorLines)")
        let file = try SafeTensors.read(from: out + "/si_c0.0_seed0.omega.safetensors")
        #expect(file.entries.map(\.name) == ["omega.task1", "omega.task2", "omega.task3"])
        for entry in file.entries {
            #expect(entry.values.allSatisfy { $0 >= -1e-7 } && entry.values.contains { $0 > 0 }, "\(entry.name)")
        }
        // The figure's CSV holds the Pearson correlation of each layer's ω between tasks, recomputed here.
        let regions = try #require(try JSONSerialization.jsonObject(with: Data(file.metadata["parameter_regions"]!.utf8)) as? [[String: String]])
        let dense = regions.filter { $0["name"]!.hasPrefix("dense1.") }
        func layer(_ t: Int) -> [Double] {
            dense.flatMap { r -> [Double] in
                let offset = Int(r["offset"]!)!, count = Int(r["count"]!)!
                return file.entries[t].values[offset..<(offset + count)].map(Double.init)
            }
        }
        func pearson(_ a: [Double], _ b: [Double]) -> Double {
            let ma = a.reduce(0, +) / Double(a.count), mb = b.reduce(0, +) / Double(b.count)
            let cov = zip(a, b).reduce(0) { $0 + ($1.0 - ma) * ($1.1 - mb) }
            let va = a.reduce(0) { $0 + ($1 - ma) * ($1 - ma) }, vb = b.reduce(0) { $0 + ($1 - mb) * ($1 - mb) }
            return cov / (va * vb).squareRoot()
        }
        let csv = try String(contentsOfFile: out + "/synapse-dynamics.csv", encoding: .utf8)
        let row = try #require(csv.split(separator: "\n").first { $0.hasPrefix("without consolidation (c = 0),dense1,1,3,") })
        #expect(abs(Double(row.split(separator: ",").last!)! - pearson(layer(0), layer(2))) < 1e-5)
        #expect(csv.contains("with consolidation (c = 1),dense1,1,3,"))
        #expect(try String(contentsOfFile: out + "/synapse-dynamics.svg", encoding: .utf8).contains("<svg"))
    }
}
