// What the experiment tests share: tiny MNIST-format data written to a temporary folder, a
// captured console, and running a tool in-process exactly as its executable does.

import Foundation
@testable import SynapseCLI
import SynapseEngine

/// A fresh temporary folder (removed by `remove()`).
struct TemporaryFolder {
    let path: String

    init(_ label: String) throws {
        path = NSTemporaryDirectory() + "synapse-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Writes the four IDX files of a tiny MNIST-like data set into `folder`.
///
/// Class k's images: noise in 0...60 everywhere plus a bright 6×6 patch whose position depends on
/// k, so a small MLP separates the classes within a few steps. Classes are interleaved in file
/// order. `trainPerClass`/`testPerClass` images per class of 10.
func writeTinyMNIST(to folder: String, seed: UInt64, trainPerClass: Int, testPerClass: Int, side: Int = 28) throws {
    var generator = SeededGenerator(seed: seed)
    func images(_ perClass: Int) -> (pixels: [UInt8], labels: [UInt8]) {
        var pixels: [UInt8] = []
        var labels: [UInt8] = []
        for i in 0..<(perClass * 10) {
            let k = i % 10
            var image = (0..<(side * side)).map { _ in UInt8(generator.nextInt(below: 61)) }
            let row = (k / 5) * (side / 2) + 2, column = (k % 5) * (side / 5) + 1
            for r in row..<min(side, row + 6) {
                for c in column..<min(side, column + 6) { image[r * side + c] = UInt8(200 + generator.nextInt(below: 56)) }
            }
            pixels += image
            labels.append(UInt8(k))
        }
        return (pixels, labels)
    }
    func bigEndian(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }
    for (prefix, perClass) in [("train", trainPerClass), ("t10k", testPerClass)] {
        let set = images(perClass)
        let count = set.labels.count
        // IDX: 0, 0, type 0x08 (unsigned byte), dimension count, then each dimension big-endian.
        let imageFile = [0, 0, 0x08, 3] + bigEndian(count) + bigEndian(side) + bigEndian(side) + set.pixels
        let labelFile = [0, 0, 0x08, 1] + bigEndian(count) + set.labels
        try Data(imageFile).write(to: URL(fileURLWithPath: folder + "/\(prefix)-images-idx3-ubyte"))
        try Data(labelFile).write(to: URL(fileURLWithPath: folder + "/\(prefix)-labels-idx1-ubyte"))
    }
}

/// Collects what a tool prints.
final class CapturedConsole: @unchecked Sendable {
    private let lock = NSLock()
    private var progressLines: [String] = []
    private var outputText = ""

    var console: Console {
        Console(progress: { [self] line in lock.lock(); progressLines.append(line); lock.unlock() },
                output: { [self] text in lock.lock(); outputText += text; lock.unlock() })
    }

    /// Lines written to stderr (each call is one line; a call with embedded newlines counts them).
    var errorLines: [String] {
        lock.lock(); defer { lock.unlock() }
        return progressLines.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
    }

    var output: String {
        lock.lock(); defer { lock.unlock() }
        return outputText
    }
}

/// Runs `tool` in-process as its executable would (same parsing, device choice, flow, exit codes).
@discardableResult
func runTool(_ tool: Tool, _ arguments: [String], console: CapturedConsole = CapturedConsole(),
             environment: [String: String] = [:],
             flow: (ExperimentRun) throws -> Void = Experiment.standardFlow) -> Int32 {
    Experiment.run(tool, arguments: arguments, environment: environment, devices: .system,
                   console: console.console, flow: flow)
}

/// The JSON object in `path`.
func jsonObject(_ path: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw CocoaError(.fileReadCorruptFile)
    }
    return object
}

/// A JSON array of arrays of numbers (null → nil).
func matrix(_ value: Any?) -> [[Double?]]? {
    guard let rows = value as? [[Any]] else { return nil }
    return rows.map { row in row.map { ($0 as? NSNumber)?.doubleValue } }
}
