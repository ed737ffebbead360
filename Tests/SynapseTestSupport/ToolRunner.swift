// Running a tool in-process exactly as its executable does (with the test backends' pinned
// tiles), on tiny MNIST-format data written to a temporary folder, with its console captured and
// its JSON results read back.
import Foundation
import SynapseCLI
import SynapseEngine

/// Writes the four IDX files of a tiny MNIST-like data set into `folder`.
///
/// Class k's images: noise in 0...60 everywhere plus a bright 6×6 patch whose position depends on
/// k, so a small MLP separates the classes within a few steps. Classes are interleaved in file
/// order. `trainPerClass`/`testPerClass` images per class of 10.
public func writeTinyMNIST(to folder: String, seed: UInt64, trainPerClass: Int, testPerClass: Int, side: Int = 28) throws {
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
    for (prefix, perClass) in [("train", trainPerClass), ("t10k", testPerClass)] {
        let set = images(perClass)
        let imageFile = Encode.idxImages(count: set.labels.count, rows: side, columns: side, pixels: set.pixels)
        let labelFile = Encode.idxLabels(set.labels)
        try Data(imageFile).write(to: URL(fileURLWithPath: folder + "/\(prefix)-images-idx3-ubyte"))
        try Data(labelFile).write(to: URL(fileURLWithPath: folder + "/\(prefix)-labels-idx1-ubyte"))
    }
}

/// Collects what a tool prints.
public final class CapturedConsole: @unchecked Sendable {
    private let lock = NSLock()
    private var progressLines: [String] = []
    private var outputText = ""

    public init() {}

    public var console: Console {
        Console(progress: { [self] line in lock.lock(); progressLines.append(line); lock.unlock() },
                output: { [self] text in lock.lock(); outputText += text; lock.unlock() })
    }

    /// Lines written to stderr (each call is one line; a call with embedded newlines counts them).
    public var errorLines: [String] {
        lock.lock(); defer { lock.unlock() }
        return progressLines.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
    }

    public var output: String {
        lock.lock(); defer { lock.unlock() }
        return outputText
    }
}

/// Runs `tool` in-process as its executable would (same parsing, device choice, flow, exit codes),
/// but with OpenCL tiles pinned to the tables' defaults (`Fixture.tuning`): nothing is timed.
@discardableResult
public func runTool(_ tool: Tool, _ arguments: [String], console: CapturedConsole = CapturedConsole(),
                    environment: [String: String] = [:],
                    flow: (ExperimentRun) throws -> Void = Experiment.standardFlow) -> Int32 {
    Experiment.run(tool, arguments: arguments, environment: environment, devices: .system(tuning: Fixture.tuning),
                   console: console.console, flow: flow)
}

/// The JSON object in `path`.
public func jsonObject(_ path: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw CocoaError(.fileReadCorruptFile)
    }
    return object
}

/// A JSON array of arrays of numbers (null → nil).
public func matrix(_ value: Any?) -> [[Double?]]? {
    guard let rows = value as? [[Any]] else { return nil }
    return rows.map { row in row.map { ($0 as? NSNumber)?.doubleValue } }
}
