// Divergence found in the weights, not only in the loss: a penalty so strong that the state turns
// NaN while the live loss stays finite (--c 1e38 --xi 1e-30), and a learning rate that drives the
// loss to ~1e30 with finite weights (--lr 1e30). Both must stop with exit 3 naming task, epoch and
// step, and leave the last good checkpoint as it was. On Fashion-MNIST (CI installs it), capped.

import Foundation
import Testing
@testable import SynapseCLI
import SynapseEngine

/// Reads Fashion-MNIST (60,000 images, gzip, in a debug build): slow tier. The fast tier's divergence
/// checks are ResumeTests' NaN loss on tiny data and ContinualTests' DivergenceTests.
@Suite("Divergence in the state", .serialized, .slowTier)
struct StateDivergenceTests {
    static let data = "/usr/share/datasets/fashion-mnist"

    static func arguments(out: String, _ extra: [String]) -> [String] {
        ["--data-dir", data, "--device", "cpu", "--method", "si", "--tasks", "2", "--epochs", "2",
         "--train-limit", "600", "--test-limit", "200", "--out", out] + extra
    }

    @Test func aPenaltyThatPoisonsTheStateStopsWithExit3AndKeepsTheTask1Checkpoint() throws {
        let folder = try TemporaryFolder("c1e38")
        defer { folder.remove() }
        let out = folder.path + "/run"
        var afterTask1: [UInt8]?
        let captured = CapturedConsole()
        let status = runTool(.splitMNIST, Self.arguments(out: out, ["--c", "1e38", "--xi", "1e-30"]), console: captured,
                             flow: { run in
                                 // Keep the bytes of the task-1 checkpoint the moment task 2 starts.
                                 run.testHooks.afterCheckpoint = { tasks in
                                     if tasks == 1 { afterTask1 = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/si.checkpoint.safetensors"))) }
                                 }
                                 try Experiment.standardFlow(run)
                             })
        #expect(status == 3, "\(captured.errorLines)")
        let message = try #require(captured.errorLines.last)
        #expect(message.contains("task 2"), "\(message)")
        #expect(message.contains("epoch ") && message.contains("step "), "\(message)")
        #expect(message.contains("not finite"), "\(message)")
        #expect(message.contains(out + "/si.checkpoint.safetensors (after task 1)"), "\(message)")
        // The task-1 checkpoint is untouched, loads with its digests, and holds a healthy state.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/si.checkpoint.safetensors")))
        #expect(afterTask1 == bytes)
        let loaded = try Checkpoint.load(from: out + "/si.checkpoint.safetensors")
        #expect(loaded.state.result.completedTasks == 1)
        #expect(loaded.state.health.isEmpty, "\(loaded.state.health)")
    }

    @Test func aLossBlowUpWithFiniteWeightsStopsWithExit3() throws {
        let folder = try TemporaryFolder("lr1e30")
        defer { folder.remove() }
        let captured = CapturedConsole()
        let status = runTool(.splitMNIST, Self.arguments(out: folder.path + "/run", ["--lr", "1e30"]), console: captured)
        #expect(status == 3, "\(captured.errorLines)")
        let message = try #require(captured.errorLines.last)
        #expect(message.contains("training diverged: task 1"), "\(message)")
        #expect(message.contains("minibatch loss is"), "\(message)")
    }
}
