// A whole tiny protocol, in-process, on MNIST-format files the test writes: the results folder's
// JSON, CSV and SVG agree with each other and with the metric definitions of docs/protocols.md.

import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import SynapseCLI
import SynapseEngine

@Suite("End to end", .serialized)
struct EndToEndTests {
    @Test func tinySplitMNISTRunWritesConsistentJSONCSVAndSVG() throws {
        let folder = try TemporaryFolder("e2e")
        defer { folder.remove() }
        var generator = SeededGenerator(seed: 0xE2E)
        let seed = UInt64(generator.nextInt(below: 1 << 20))
        try writeTinyMNIST(to: folder.path, seed: seed, trainPerClass: 7, testPerClass: 5)
        let out = folder.path + "/run"
        let captured = CapturedConsole()
        let status = runTool(.splitMNIST, ["--data-dir", folder.path, "--device", "reference", "--method", "si,finetune",
                                           "--epochs", "2", "--batch-size", "5", "--lr", "0.01",
                                           "--seed", "\(seed)", "--out", out], console: captured)
        #expect(status == 0, "\(captured.errorLines)")

        let taskCount = 5
        var finalRows: [String: [Double]] = [:]
        for method in ["si", "finetune"] {
            let json = try jsonObject(out + "/\(method).json")
            #expect(json["tool"] as? String == "split-mnist")
            #expect(json["method"] as? String == method)
            #expect(json["device"] as? String == "reference (Swift)")
            let config = try #require(json["config"] as? [String: Any])
            #expect((config["seed"] as? NSNumber)?.uint64Value == seed)
            #expect((config["epochs"] as? NSNumber)?.intValue == 2)
            #expect((config["batch_size"] as? NSNumber)?.intValue == 5)
            let methodOptions = try #require(config["method_options"] as? [String: Any])
            let si = try #require(methodOptions["si"] as? [String: Any])
            #expect((si["xi"] as? NSNumber)?.doubleValue == 0.001)   // the protocol's default, recorded
            #expect(config.keys.contains("train_limit"))                 // written as null, not left out

            // R: 5×5, fractions of 5·2 = 10 test images per task.
            let r = try #require(matrix(json["accuracy"]))
            #expect(r.count == taskCount && r.allSatisfy { $0.count == taskCount })
            for value in r.joined() {
                let v = try #require(value)
                #expect(v >= 0 && v <= 1 && abs(v * 10 - (v * 10).rounded()) < 1e-9)
            }
            let last = r[taskCount - 1].map { $0! }
            finalRows[method] = last
            let average = try #require((json["average_accuracy"] as? NSNumber)?.doubleValue)
            #expect(abs(average - last.reduce(0, +) / Double(taskCount)) < 1e-12)
            let bwt = try #require((json["bwt"] as? NSNumber)?.doubleValue)
            let expectedBWT = (0..<(taskCount - 1)).map { last[$0] - r[$0][$0]! }.reduce(0, +) / Double(taskCount - 1)
            #expect(abs(bwt - expectedBWT) < 1e-12)
            let forgetting = try #require(json["forgetting"] as? [NSNumber]).map(\.doubleValue)
            let expectedForgetting = (0..<(taskCount - 1)).map { j in
                (0..<(taskCount - 1)).map { r[$0][j]! }.max()! - last[j]
            }
            #expect(forgetting.count == expectedForgetting.count)
            for (a, b) in zip(forgetting, expectedForgetting) { #expect(abs(a - b) < 1e-12) }

            // Class-incremental beside it: unseen tasks (j > i) are null in multi-head mode.
            let classInc = try #require(matrix(json["class_incremental_accuracy"]))
            for i in 0..<taskCount {
                for j in 0..<taskCount { #expect((classInc[i][j] == nil) == (j > i)) }
            }
            #expect(json["class_incremental_average_accuracy"] is NSNumber)

            // Per-task wall time, memory and loss per epoch.
            let tasks = try #require(json["tasks"] as? [[String: Any]])
            #expect(tasks.count == taskCount)
            for task in tasks {
                #expect(((task["seconds"] as? NSNumber)?.doubleValue ?? 0) > 0)
                #expect(((task["peak_device_bytes"] as? NSNumber)?.intValue ?? 0) > 0)
                let losses = try #require(task["training_loss"] as? [NSNumber]).map(\.doubleValue)
                #expect(losses.count == 2 && losses.allSatisfy { $0.isFinite && $0 > 0 })
            }
            #expect(((json["seconds"] as? NSNumber)?.doubleValue ?? 0) > 0)
            #expect(json["finished"] as? Bool == true)
            // Training worked: each task right after its own training beats chance (0.5) clearly.
            let learned = try #require(json["average_accuracy_when_learned"] as? NSNumber).doubleValue
            #expect(learned > 0.7, "\(method): mean accuracy right after each task \(learned)")
        }

        // summary.csv: a header and one row per method, agreeing with the JSON.
        let csv = try String(contentsOfFile: out + "/summary.csv", encoding: .utf8)
        let lines = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(lines.count == 3)
        let header = lines[0]
        let column = { (name: String) in header.firstIndex(of: name) }
        let averageColumn = try #require(column("task_incremental_average_accuracy"))
        #expect(column("class_incremental_average_accuracy") != nil && column("bwt") != nil && column("seed") != nil)
        for (row, method) in zip(lines.dropFirst(), ["si", "finetune"]) {
            #expect(row[0] == method && row.count == header.count)
            let expected = finalRows[method]!.reduce(0, +) / Double(taskCount)
            #expect(abs(Double(row[averageColumn])! - expected) < 5e-5)
            for t in 0..<taskCount {
                let index = try #require(column("final_accuracy_task\(t + 1)"))
                let cell = try #require(Double(row[index]))
                #expect(abs(cell - finalRows[method]![t]) < 5e-5)
            }
        }

        // accuracy.svg: well-formed, labelled, one bar per method and task (+ the mean group),
        // each as tall as its value.
        let svgText = try String(contentsOfFile: out + "/accuracy.svg", encoding: .utf8)
        let svg = try SVGSummary(svgText)
        #expect(svg.texts.contains("si (c=1)") && svg.texts.contains("finetune"))
        #expect(svg.texts.contains { $0.contains("test accuracy (task-incremental)") })
        #expect(svg.texts.contains("T1") && svg.texts.contains("T5") && svg.texts.contains("mean"))
        for (index, method) in ["si", "finetune"].enumerated() {
            let colour = AccuracyChart.palette[index]
            let bars = svg.rects.filter { $0.fill == colour && $0.title != nil }
            #expect(bars.count == taskCount + 1)
            let values = finalRows[method]! + [finalRows[method]!.reduce(0, +) / Double(taskCount)]
            for (bar, value) in zip(bars, values) {
                #expect(abs(bar.height / 300 - value) < 0.001, "\(method): bar \(bar.height) for \(value)")
            }
        }

        // The stdout table labels both kinds of accuracy; the limits-free paper comparison is absent.
        #expect(captured.output.contains("avg acc (task-inc)") && captured.output.contains("avg acc (class-inc)"))
        #expect(!captured.output.contains("paper:"))
        // Progress went to stderr: task, epoch, loss, images/s, ETA.
        #expect(captured.errorLines.contains { $0.contains("task 5/5 epoch 2/2") && $0.contains("img/s") && $0.contains("ETA") })
    }

    @Test func quietPrintsNoProgressButTheSummary() throws {
        let folder = try TemporaryFolder("quiet")
        defer { folder.remove() }
        try writeTinyMNIST(to: folder.path, seed: 5, trainPerClass: 3, testPerClass: 2)
        let captured = CapturedConsole()
        let status = runTool(.permutedMNIST, ["--data-dir", folder.path, "--device", "reference", "--method", "finetune",
                                              "--tasks", "2", "--epochs", "1", "--batch-size", "16", "--train-limit", "12",
                                              "--test-limit", "10", "--quiet",
                                              "--out", folder.path + "/run"], console: captured)
        #expect(status == 0, "\(captured.errorLines)")
        #expect(captured.errorLines.isEmpty, "\(captured.errorLines)")
        #expect(captured.output.contains("permuted MNIST"))
        // Single head: class-incremental is the task-incremental matrix.
        let json = try jsonObject(folder.path + "/run/finetune.json")
        #expect(json["head_mode"] as? String == "single-head")
        let r = try #require(matrix(json["accuracy"]))
        let classInc = try #require(matrix(json["class_incremental_accuracy"]))
        #expect(r.count == 2 && r == classInc)
    }
}

/// The parts of an SVG file the tests check, read with an XML parser (so it must be well-formed).
struct SVGSummary {
    struct Rect { var fill: String?; var height: Double; var title: String? }
    var rects: [Rect] = []
    var texts: [String] = []

    init(_ text: String) throws {
        let delegate = Delegate()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = delegate
        guard parser.parse() else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "SVG is not well-formed XML: \(String(describing: parser.parserError))"])
        }
        rects = delegate.rects
        texts = delegate.texts
    }

    final class Delegate: NSObject, XMLParserDelegate {
        var rects: [Rect] = []
        var texts: [String] = []
        private var current = ""
        private var inRect = false

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                    qualifiedName: String?, attributes: [String: String] = [:]) {
            current = ""
            if name == "rect" {
                rects.append(Rect(fill: attributes["fill"], height: Double(attributes["height"] ?? "") ?? 0, title: nil))
                inRect = true
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            switch name {
            case "text": texts.append(current)
            case "title" where inRect: rects[rects.count - 1].title = current
            case "rect": inRect = false
            default: break
            }
            current = ""
        }
    }
}
