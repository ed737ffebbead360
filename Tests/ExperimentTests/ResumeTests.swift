// Checkpoints and --resume: a run stopped after any task and resumed ends with exactly the
// results of an uninterrupted run (same seed, same device); a conflicting config is refused;
// a NaN loss stops the run naming the task, epoch, step and the last good checkpoint.

import Foundation
import Testing
@testable import SynapseCLI
import SynapseEngine

@Suite("Resume and divergence", .serialized)
struct ResumeTests {
    static func arguments(data: String, out: String, seed: UInt64, methods: String) -> [String] {
        ["--data-dir", data, "--device", "reference", "--method", methods, "--epochs", "2", "--batch-size", "6",
         "--seed", "\(seed)", "--out", out]
    }

    @Test func runStoppedAfterAnyTaskAndResumedEqualsTheUninterruptedRun() throws {
        let folder = try TemporaryFolder("resume")
        defer { folder.remove() }
        var generator = SeededGenerator(seed: 0x5E5E)
        let seed = UInt64(generator.nextInt(below: 1 << 30))
        try writeTinyMNIST(to: folder.path, seed: seed ^ 1, trainPerClass: 5, testPerClass: 3)
        // si and ewc: ewc adds its Fisher sums to the checkpoint.
        let methods = "si,ewc"
        let whole = folder.path + "/whole"
        #expect(runTool(.splitMNIST, Self.arguments(data: folder.path, out: whole, seed: seed, methods: methods)) == 0)

        // Stop after k of the 5 tasks (k drawn, 1...4), as if killed right after that checkpoint.
        let k = 1 + generator.nextInt(below: 4)
        let broken = folder.path + "/broken"
        let stopped = runTool(.splitMNIST, Self.arguments(data: folder.path, out: broken, seed: seed, methods: methods),
                              flow: { run in run.testHooks.stopAfterTasks = k; try Experiment.standardFlow(run) })
        #expect(stopped != 0)
        let checkpoint = try SafeTensors.read(from: broken + "/si.checkpoint.safetensors")
        #expect(checkpoint.metadata["completed_tasks"] == "\(k)")
        #expect(checkpoint["theta"] != nil && checkpoint["adam.m"] != nil && checkpoint["importance"] != nil)
        // A kill during a write leaves a temporary file: it must not disturb the resume.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: broken + "/.si.checkpoint.safetensors.partial-99999"))

        let captured = CapturedConsole()
        #expect(runTool(.splitMNIST, ["--resume", broken], console: captured) == 0, "\(captured.errorLines)")
        #expect(captured.errorLines.contains { $0.contains("resumed after task \(k)/5") })

        for method in ["si", "ewc"] {
            let a = try jsonObject(whole + "/\(method).json")
            let b = try jsonObject(broken + "/\(method).json")
            #expect(matrix(a["accuracy"])! == matrix(b["accuracy"])!, "\(method): R differs after resuming at \(k)")
            #expect(matrix(a["class_incremental_accuracy"])! == matrix(b["class_incremental_accuracy"])!)
            #expect(matrix(a["training_loss"])! == matrix(b["training_loss"])!)
            // The final weights too, bit for bit.
            let wa = try SafeTensors.read(from: whole + "/\(method).checkpoint.safetensors")
            let wb = try SafeTensors.read(from: broken + "/\(method).checkpoint.safetensors")
            #expect(wa["theta"]!.values.map(\.bitPattern) == wb["theta"]!.values.map(\.bitPattern))
        }
        // Both methods appear in the summary of the resumed run.
        let csv = try String(contentsOfFile: broken + "/summary.csv", encoding: .utf8)
        #expect(csv.split(separator: "\n").count == 3)
    }

    @Test func resumeRefusesAFlagThatConflictsWithTheSavedRun() throws {
        let folder = try TemporaryFolder("conflict")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 3, trainPerClass: 2, testPerClass: 1)
        let out = folder.path + "/run"
        var arguments = Self.arguments(data: folder.path, out: out, seed: 11, methods: "finetune")
        arguments += ["--tasks", "2"]
        #expect(runTool(.splitMNIST, arguments, flow: { run in run.testHooks.stopAfterTasks = 1; try Experiment.standardFlow(run) }) != 0)
        for (flag, value) in [("--epochs", "3"), ("--seed", "12"), ("--c", "0.5"), ("--method", "si"), ("--tasks", "5"),
                              ("--device", "cpu"), ("--adam-variant", "standard"), ("--reset-optimizer", "no"),
                              ("--samples", "7"), ("--adam-epsilon", "1e-7"), ("--optimizer", "sgd"), ("--seeds", "11,12"),
                              ("--select-on", "validation"), ("--lambda", "1,10"), ("--evaluate", "seen")] {
            let captured = CapturedConsole()
            let status = runTool(.splitMNIST, ["--resume", out, flag, value], console: captured)
            #expect(status == 2, "\(flag) \(value): \(captured.errorLines)")
            #expect(captured.errorLines.count == 1)
            #expect(captured.errorLines.first?.contains(flag) == true, "\(captured.errorLines)")
        }
        // The same values as saved are no conflict, and another tool cannot resume it.
        #expect(runTool(.splitMNIST, ["--resume", out, "--seed", "11", "--seeds", "11", "--adam-variant", "keras", "--reset-optimizer", "yes",
                                      "--samples", "200", "--adam-epsilon", "1e-8", "--quiet"]) == 0)
        #expect(runTool(.permutedMNIST, ["--resume", out]) == 2)
    }

    @Test func evaluatingSeenTasksOnlyWritesRowsOfTheTasksSoFarAndResumes() throws {
        let folder = try TemporaryFolder("seen")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 5, trainPerClass: 3, testPerClass: 2)
        let all = folder.path + "/all", seen = folder.path + "/seen"
        #expect(runTool(.splitMNIST, Self.arguments(data: folder.path, out: all, seed: 4, methods: "si") + ["--tasks", "3"]) == 0)
        let arguments = Self.arguments(data: folder.path, out: seen, seed: 4, methods: "si") + ["--tasks", "3", "--evaluate", "seen"]
        #expect(runTool(.splitMNIST, arguments, flow: { run in run.testHooks.stopAfterTasks = 1; try Experiment.standardFlow(run) }) != 0)
        let captured = CapturedConsole()
        #expect(runTool(.splitMNIST, ["--resume", seen], console: captured) == 0, "\(captured.errorLines)")
        let full = try #require(matrix(try jsonObject(all + "/si.json")["accuracy"]))
        let rows = try #require(matrix(try jsonObject(seen + "/si.json")["accuracy"]))
        #expect(full.map(\.count) == [3, 3, 3], "the default evaluates every task")
        #expect(rows.map(\.count) == [1, 2, 3], "row i holds the tasks trained so far")
        for (i, row) in rows.enumerated() { #expect(row == Array(full[i][0...i]), "row \(i + 1)") }
        #expect(try jsonObject(seen + "/config.json")["evaluated_tasks"] as? String == "seen")
        #expect(try jsonObject(all + "/config.json")["evaluated_tasks"] as? String == "all")
    }

    @Test func nanLossStopsNamingTaskEpochStepAndTheLastGoodCheckpoint() throws {
        let folder = try TemporaryFolder("nan")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 8, trainPerClass: 3, testPerClass: 2)
        let out = folder.path + "/run"
        var generator = SeededGenerator(seed: 0xDEAD)
        let good = 1 + generator.nextInt(below: 3)   // tasks finished before the fault
        let captured = CapturedConsole()
        let status = runTool(.splitMNIST, Self.arguments(data: folder.path, out: out, seed: 1, methods: "si"),
                             console: captured,
                             flow: { run in run.testHooks.injectNaNAfterTasks = good; try Experiment.standardFlow(run) })
        #expect(status == 3)
        let message = try #require(captured.errorLines.last)
        #expect(message.contains("task \(good + 1)"), "\(message)")
        #expect(message.contains("epoch 1,"), "\(message)")
        // θ is NaN from the first step of the next task: that exact step is named. Each task has
        // 2 classes × 3 = 6 training images, batch 6: one step per epoch, 2 epochs, so the
        // earlier tasks took 2·good steps and the bad one is global step 2·good + 1 (1-based).
        #expect(message.contains("step 1 of 1 "), "\(message)")
        #expect(message.contains("global step \(2 * good + 1))"), "\(message)")
        #expect(message.contains(out + "/si.checkpoint.safetensors"), "\(message)")
        // What was written is intact: the result and checkpoint of the good tasks.
        let json = try jsonObject(out + "/si.json")
        #expect((json["completed_tasks"] as? NSNumber)?.intValue == good)
        #expect(matrix(json["accuracy"])?.count == good)
        let checkpoint = try SafeTensors.read(from: out + "/si.checkpoint.safetensors")
        #expect(checkpoint.metadata["completed_tasks"] == "\(good)")
        let finite = checkpoint["theta"]?.values.allSatisfy { $0.isFinite } ?? false
        #expect(finite)
    }
}
