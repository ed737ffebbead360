// The weights file stands on its own: a plain-loop forward pass written here from its tensors and
// metadata alone (PyTorch layout: linear weights [out, in]) reproduces the tool's final accuracies
// on test images the test reads itself.

import Foundation
import Testing
@testable import SynapseCLI
import SynapseEngine

@Suite("Weights file")
struct WeightsExportTests {
    @Test func aForwardPassFromTheWeightsFileAloneReproducesTheReportedAccuracies() throws {
        let folder = try TemporaryFolder("weights")
        defer { folder.remove() }
        var generator = SeededGenerator(seed: 0x3E16)
        try writeTinyMNIST(to: folder.path, seed: UInt64(generator.nextInt(below: 1000)), trainPerClass: 6, testPerClass: 7)
        let out = folder.path + "/run"
        let captured = CapturedConsole()
        #expect(runTool(.splitMNIST, ["--data-dir", folder.path, "--device", "reference", "--method", "finetune", "--epochs", "2",
                                      "--batch-size", "4", "--lr", "0.01", "--seed", "\(generator.nextInt(below: 1000))",
                                      "--out", out, "--quiet"], console: captured) == 0, "\(captured.errorLines)")
        let file = try SafeTensors.read(from: out + "/finetune.weights.safetensors")
        let architecture = try #require(try JSONSerialization.jsonObject(with: Data(file.metadata["architecture"]!.utf8)) as? [String: Any])
        let modules = try #require(architecture["modules"] as? [[String: Any]])
        #expect(modules.map { $0["type"] as? String } == ["Linear", "ReLU", "Linear", "ReLU", "Linear"])
        #expect(file.entries.map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"])
        #expect(file["0.weight"]?.shape == [256, 784] && file["4.weight"]?.shape == [10, 256])

        // The test images, read here: interleaved classes 0...9 (writeTinyMNIST), pixels / 255.
        let imageBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder.path + "/t10k-images-idx3-ubyte")))
        let labelBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: folder.path + "/t10k-labels-idx1-ubyte")))
        let labels = labelBytes[8...].map(Int.init)
        func logits(_ image: Int) -> [Float] {
            var x = (0..<784).map { Float(imageBytes[16 + image * 784 + $0]) / 255 }
            for (index, module) in modules.enumerated() where module["type"] as? String != "Flatten" {
                if module["type"] as? String == "ReLU" { x = x.map { max($0, 0) }; continue }
                let w = file["\(index).weight"]!, b = file["\(index).bias"]!
                let (outputs, inputs) = (w.shape[0], w.shape[1])
                x = (0..<outputs).map { o in (0..<inputs).reduce(b.values[o]) { $0 + w.values[o * inputs + $1] * x[$1] } }
            }
            return x
        }
        let heads = try #require(try JSONSerialization.jsonObject(with: Data(file.metadata["heads"]!.utf8)) as? [String: Any])
        let tasks = try #require(heads["tasks"] as? [[String: Any]])
        let report = try jsonObject(out + "/finetune.json")
        let lastRow = try #require(matrix(report["accuracy"])?.last)
        #expect(tasks.count == 5 && lastRow.count == 5)
        for (t, task) in tasks.enumerated() {
            let classes = try #require(task["source_classes"] as? [Int])
            let units = try #require(task["units"] as? [Int])
            var correct = 0, total = 0
            for (image, label) in labels.enumerated() where classes.contains(label) {
                let own = Array(logits(image)[units[0]..<units[1]])
                // Ties: the lowest unit wins, as in the engine.
                let predicted = own.indices.max { own[$0] < own[$1] || (own[$0] == own[$1] && $0 > $1) }!
                correct += predicted == classes.firstIndex(of: label)! ? 1 : 0
                total += 1
            }
            let reported = try #require(lastRow[t])
            #expect(abs(Double(correct) / Double(total) - reported) <= 0.002, "task \(t + 1): \(correct)/\(total) vs \(reported)")
        }
    }
}
