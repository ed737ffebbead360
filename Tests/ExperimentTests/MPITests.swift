// The MPI build under mpirun (only when built with the MPI trait: `swift build --traits MPI`):
// the built tools are launched with `mpirun -n 2` and compared with the same tool run as one
// process. CI runs these with `swift test --traits MPI --filter MPITests` after the default tests.

#if MPI
import Foundation
import Testing
@testable import SynapseCLI

/// The folder holding the built executables (the test bundle sits beside them).
private let buildFolder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path
private let fashionMNIST = "/usr/share/datasets/fashion-mnist"
private let sharedCIFAR = packageRoot + "/../shared/datasets/cifar-10-jpeg"

/// A launched process: its exit status and what it wrote.
private struct Finished {
    var status: Int32
    var output: String
}

/// Starts `tool` (a built executable) with `arguments`, under `mpirun -n ranks` when ranks is set.
private func launch(_ tool: String, _ arguments: [String], ranks: Int?) throws -> (Process, Pipe) {
    let executable = buildFolder + "/" + tool
    guard FileManager.default.isExecutableFile(atPath: executable) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: executable])
    }
    let process = Process()
    if let ranks {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-n", String(ranks), executable] + arguments
    } else {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
    }
    // The tools' OpenCL tiles pinned to the tables' defaults, as in-process runs are (`runTool`).
    process.environment = ProcessInfo.processInfo.environment.merging(["SYNAPSE_TUNE": Fixture.tuning.rawValue]) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    return (process, pipe)
}

private func run(_ tool: String, _ arguments: [String], ranks: Int?) throws -> Finished {
    let (process, pipe) = try launch(tool, arguments, ranks: ranks)
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Finished(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
}

private func report(_ path: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
}

private func numbers(_ value: Any?) -> [[Double]] {
    (value as? [[Any]] ?? []).map { $0.map { ($0 as? NSNumber)?.doubleValue ?? .nan } }
}

private func temporary(_ label: String) -> String {
    NSTemporaryDirectory() + "synapse-mpi-\(label)-\(UUID().uuidString)"
}

/// The pids of the processes whose parent is `parent` (mpirun's ranks on this machine).
private func children(of parent: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { pid in
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 && Int32(fields[1]) == parent
    }
}

/// What a reader thread collected.
private final class Collected: @unchecked Sendable { var data = Data() }

@Suite("MPI (mpirun -n 2)", .serialized)
struct MPITests {
    static let sweep = ["--data-dir", fashionMNIST, "--device", "cpu", "--method", "si,finetune", "--seeds", "0,1",
                        "--epochs", "1", "--tasks", "2", "--train-limit", "300", "--test-limit", "100"]
    static let runNames = ["si_seed0", "si_seed1", "finetune_seed0", "finetune_seed1"]

    @Test("a sweep over 2 ranks gives each run the result it gets in one process, and both ranks take runs")
    func sweepMatchesOneProcess() throws {
        let (spread, alone) = (temporary("sweep2"), temporary("sweep1"))
        defer { for path in [spread, alone] { try? FileManager.default.removeItem(atPath: path) } }
        let two = try run("split-mnist", Self.sweep + ["--out", spread], ranks: 2)
        #expect(two.status == 0, "\(two.output)")
        let one = try run("split-mnist", Self.sweep + ["--out", alone], ranks: nil)
        #expect(one.status == 0, "\(one.output)")
        for rank in 0..<2 {
            #expect(Self.runNames.contains { two.output.contains("[rank \(rank)/2 on") && two.output.contains("] [\($0)] task 1/2") },
                    "rank \(rank) trained no run:\n\(two.output)")
        }
        let trainedBy = Self.runNames.map { name in (0..<2).filter { two.output.contains("[rank \($0)/2") && two.output.contains("] [\(name)] task 1/2 epoch") } }
        #expect(Set(trainedBy.flatMap { $0 }).count == 2, "runs per rank: \(trainedBy)")
        for name in Self.runNames {
            let (a, b) = (try report(spread + "/\(name).json"), try report(alone + "/\(name).json"))
            #expect(numbers(a["accuracy"]) == numbers(b["accuracy"]), "\(name): accuracy matrices differ")
            let (la, lb) = (numbers(a["training_loss"]).flatMap { $0 }, numbers(b["training_loss"]).flatMap { $0 })
            #expect(la.count == lb.count && zip(la, lb).allSatisfy { abs($0 - $1) <= 1e-6 * abs($1) }, "\(name): losses \(la) vs \(lb)")
        }
        // The same per-run rows (runs.csv; summary.csv holds the mean ± SEM over seeds), apart from the time each run took.
        func summary(_ folder: String) throws -> [[Substring]] {
            let rows = try String(contentsOfFile: folder + "/runs.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            guard let seconds = rows.first?.firstIndex(of: "seconds") else { return rows }
            return rows.map { row in row.enumerated().filter { $0.offset != seconds }.map(\.element) }
        }
        #expect(try summary(spread).count == 5, "a header and 4 runs")
        #expect(try summary(spread) == summary(alone))
        // And the same mean ± SEM over the seeds.
        #expect(try String(contentsOfFile: spread + "/summary.csv", encoding: .utf8)
                == String(contentsOfFile: alone + "/summary.csv", encoding: .utf8))
    }

    @Test("a run that fails on its rank costs only that run: the summary lists it, and --resume completes the sweep")
    func failedRunCostsOnlyItself() throws {
        let out = temporary("failed")
        defer { try? FileManager.default.removeItem(atPath: out) }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        // An unreadable checkpoint for one run: that run fails when it tries to resume from it.
        let broken = out + "/si_seed1.checkpoint.safetensors"
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: broken))
        let two = try run("split-mnist", Self.sweep + ["--out", out], ranks: 2)
        #expect(two.status == 1, "the failed run's exit status: \(two.output)")
        #expect(two.output.contains("Failed runs (1 of 4;") && two.output.contains("si_seed1 (rank "), "\(two.output)")
        #expect(two.output.contains("cannot resume si_seed1 from \(broken)"), "\(two.output)")
        let failed = (try? String(contentsOfFile: out + "/failed.txt", encoding: .utf8)) ?? ""
        #expect(failed.contains("si_seed1"))
        for name in Self.runNames where name != "si_seed1" {
            #expect(((try? report(out + "/\(name).json"))?["finished"] as? Bool) == true, "\(name) finished")
        }
        #expect(try String(contentsOfFile: out + "/runs.csv", encoding: .utf8).split(separator: "\n").count == 4,
                "a header and the 3 runs that finished")
        try FileManager.default.removeItem(atPath: broken)
        let resumed = try run("split-mnist", ["--resume", out], ranks: 2)
        #expect(resumed.status == 0 && !resumed.output.contains("Failed runs"), "\(resumed.output)")
        #expect(!FileManager.default.fileExists(atPath: out + "/failed.txt"), "no stale list of failures")
        #expect(((try? report(out + "/si_seed1.json"))?["finished"] as? Bool) == true)
        #expect(try String(contentsOfFile: out + "/runs.csv", encoding: .utf8).split(separator: "\n").count == 5)
    }

    @Test("data-parallel on 2 ranks (CNN with dropout) gives one process's accuracy matrix and losses")
    func dataParallelMatchesOneProcess() throws {
        let arguments = ["--split", "cifar10", "--data-dir", sharedCIFAR, "--device", "cpu", "--method", "si",
                         "--epochs", "1", "--tasks", "2", "--train-limit", "96", "--test-limit", "64", "--batch-size", "32"]
        let (together, alone) = (temporary("dp2"), temporary("dp1"))
        defer { for path in [together, alone] { try? FileManager.default.removeItem(atPath: path) } }
        let two = try run("cifar-split", arguments + ["--data-parallel", "--out", together], ranks: 2)
        #expect(two.status == 0, "\(two.output)")
        let one = try run("cifar-split", arguments + ["--out", alone], ranks: nil)
        #expect(one.status == 0, "\(one.output)")
        let (a, b) = (try report(together + "/si.json"), try report(alone + "/si.json"))
        let (ra, rb) = (numbers(a["accuracy"]), numbers(b["accuracy"]))
        #expect(ra.count == 2 && ra.map(\.count) == rb.map(\.count))
        for (rowA, rowB) in zip(ra, rb) {
            for (x, y) in zip(rowA, rowB) { #expect(abs(x - y) <= 0.01, "accuracy \(ra) vs \(rb)") }
        }
        let (la, lb) = (numbers(a["training_loss"]).flatMap { $0 }, numbers(b["training_loss"]).flatMap { $0 })
        #expect(la.count == 2 && la.count == lb.count)
        for (x, y) in zip(la, lb) { #expect(abs(x - y) <= 1e-4 * abs(y), "losses \(la) vs \(lb)") }
        // The minibatches really were split: every one of the 2 × 3 steps exchanged the gradient.
        #expect(two.output.contains("[si] data-parallel over 2 ranks: 6 steps, gradient exchange"), "\(two.output)")
        #expect(!two.output.contains("disagree"))
    }

    @Test("a run stopped after task 1 in one process resumes data-parallel on 2 ranks to one process's result")
    func resumeOnMoreRanks() throws {
        let arguments = ["--data-dir", fashionMNIST, "--device", "cpu", "--method", "si", "--epochs", "1", "--tasks", "3",
                         "--train-limit", "300", "--test-limit", "100", "--batch-size", "50"]
        let (resumed, alone) = (temporary("resume2"), temporary("resume1"))
        defer { for path in [resumed, alone] { try? FileManager.default.removeItem(atPath: path) } }
        #expect(runTool(.splitMNIST, arguments + ["--out", resumed],
                        flow: { run in run.testHooks.stopAfterTasks = 1; try Experiment.standardFlow(run) }) != 0)
        let two = try run("split-mnist", ["--resume", resumed, "--data-parallel"], ranks: 2)
        #expect(two.status == 0 && two.output.contains("[si] resumed after task 1/3"), "\(two.output)")
        #expect(two.output.contains("[si] data-parallel over 2 ranks: 12 steps"), "tasks 2 and 3 on both ranks: \(two.output)")
        #expect(try run("split-mnist", arguments + ["--out", alone], ranks: nil).status == 0)
        let (a, b) = (try report(resumed + "/si.json"), try report(alone + "/si.json"))
        let (ra, rb) = (numbers(a["accuracy"]).flatMap { $0 }, numbers(b["accuracy"]).flatMap { $0 })
        #expect(ra.count == 9 && ra.count == rb.count && zip(ra, rb).allSatisfy { abs($0 - $1) <= 0.01 }, "\(ra) vs \(rb)")
        let (la, lb) = (numbers(a["training_loss"]).flatMap { $0 }, numbers(b["training_loss"]).flatMap { $0 })
        #expect(la.count == 3 && la.count == lb.count && zip(la, lb).allSatisfy { abs($0 - $1) <= 1e-4 * abs($1) }, "\(la) vs \(lb)")
    }

    @Test("killing a rank mid-sweep keeps the finished runs' results, and --resume completes the sweep")
    func killedRankThenResume() throws {
        let out = temporary("kill")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let arguments = ["--data-dir", fashionMNIST, "--device", "cpu", "--method", "si,finetune", "--seeds", "0,1",
                         "--epochs", "3", "--tasks", "2", "--train-limit", "4000", "--test-limit", "100"]
        let (mpirun, pipe) = try launch("split-mnist", arguments + ["--out", out], ranks: 2)
        // Drain the output so that no rank blocks on a full pipe.
        let drained = DispatchSemaphore(value: 0)
        let output = Collected()
        Thread { output.data = pipe.fileHandleForReading.readDataToEndOfFile(); drained.signal() }.start()
        func finishedRuns() -> [String] {
            Self.runNames.filter { ((try? report(out + "/\($0).json"))?["finished"] as? Bool) == true }
        }
        let deadline = Date().addingTimeInterval(300)
        while finishedRuns().isEmpty, mpirun.isRunning, Date() < deadline { usleep(50_000) }
        let done = finishedRuns()
        let ranks = children(of: mpirun.processIdentifier)
        #expect(!done.isEmpty && done.count < 4 && mpirun.isRunning && ranks.count == 2,
                "a run finished while others were still going (finished \(done), ranks \(ranks))")
        if let victim = ranks.last { kill(victim, SIGKILL) }
        mpirun.waitUntilExit()
        drained.wait()
        #expect(mpirun.terminationStatus != 0, "mpirun reports the lost rank")
        let kept = try done.map { try Data(contentsOf: URL(fileURLWithPath: out + "/\($0).json")) }
        #expect(finishedRuns().count < 4, "the kill left work to do: \(String(decoding: output.data, as: UTF8.self))")

        let resumed = try run("split-mnist", ["--resume", out], ranks: 2)
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(Set(finishedRuns()) == Set(Self.runNames))
        for (name, before) in zip(done, kept) {
            #expect(resumed.output.contains("[\(name)] all 2 tasks already done"), "\(name) was not retrained")
            #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/\(name).json")) == before, "\(name).json unchanged")
        }
        let summary = try String(contentsOfFile: out + "/runs.csv", encoding: .utf8).split(separator: "\n")
        #expect(summary.count == 5, "a header and the 4 runs: \(summary)")
    }
}
#endif
