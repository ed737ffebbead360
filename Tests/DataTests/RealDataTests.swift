import Foundation
import Testing
@testable import SynapseData

/// The package root, found from this file's path (Tests/DataTests/RealDataTests.swift).
private let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

private let fashionFolder = "/usr/share/datasets/fashion-mnist"
private let cifarFolder = packageRoot + "/../shared/datasets/cifar-10-jpeg/cifar-10-batches-bin"

private func counts(_ labels: [Int32], classes: Int) -> [Int] {
    var result = [Int](repeating: 0, count: classes)
    for label in labels { result[Int(label)] += 1 }
    return result
}

/// The whole files, decompressed and checked in a debug build: slow tier.
@Suite("Real data sets", .slowTier)
struct RealDataTests {
    /// CI installs Debian's dataset-fashion-mnist, so there a missing folder fails the test;
    /// elsewhere the test is skipped with this message.
    @Test("Fashion-MNIST (gzip IDX): 60,000/10,000 images, 6,000/1,000 per class, 28×28",
          .enabled(if: Fixture.inCI || FileManager.default.fileExists(atPath: fashionFolder),
                   "\(fashionFolder) absent (apt install dataset-fashion-mnist)"))
    func fashionMNIST() throws {
        let data = try IDX.loadMNIST(folder: fashionFolder, classNames: IDX.fashionClassNames)
        #expect(data.train.count == 60_000 && data.test.count == 10_000)
        #expect((data.train.channels, data.train.height, data.train.width) == (1, 28, 28))
        #expect(counts(data.train.labels, classes: 10) == Array(repeating: 6_000, count: 10))
        #expect(counts(data.test.labels, classes: 10) == Array(repeating: 1_000, count: 10))
        // Real images are not blank: a mean pixel far from 0 and 255.
        let mean = Double(data.test.pixels.reduce(0) { $0 + Int($1) }) / Double(data.test.pixels.count)
        #expect(mean > 30 && mean < 120, "mean test pixel \(mean)")
        let split = try TaskBuilder.splitMNIST(data)
        #expect(split.map(\.train.count) == Array(repeating: 12_000, count: 5))
        #expect(split.map(\.test.count) == Array(repeating: 2_000, count: 5))
    }

    /// The README beside the data: two training batches of 10,000 (per-class counts per batch
    /// between 935 and 1,053), a test batch with 1,000 per class, class names in label order.
    /// CI runs with shared/ beside the clone, so there a missing folder fails the test; elsewhere
    /// (a clone without ../shared) it is skipped.
    @Test("CIFAR-10 from ../shared: 20,000 train in two batches, 10,000 test with 1,000 per class",
          .enabled(if: Fixture.inCI || FileManager.default.fileExists(atPath: cifarFolder), "\(cifarFolder) absent"))
    func sharedCIFAR10() throws {
        let data = try CIFAR10.load(folder: cifarFolder)
        #expect(data.train.count == 20_000 && data.test.count == 10_000)
        #expect(data.classNames == ["airplane", "automobile", "bird", "cat", "deer",
                                    "dog", "frog", "horse", "ship", "truck"])
        #expect(counts(data.test.labels, classes: 10) == Array(repeating: 1_000, count: 10))
        for batch in 0..<2 {
            let perClass = counts(Array(data.train.labels[(batch * 10_000)..<((batch + 1) * 10_000)]), classes: 10)
            #expect(perClass.allSatisfy { (935...1_053).contains($0) }, "batch \(batch + 1): \(perClass)")
        }
        #expect(data.warnings.count == 1 && data.warnings[0].contains("data_batch_3.bin"))
        let tasks = try TaskBuilder.splitCIFAR10(data, limits: .init(testPerTask: 500))
        #expect(tasks.map(\.test.count) == Array(repeating: 500, count: 5))
        #expect(tasks.reduce(0) { $0 + $1.train.count } == 20_000)
    }
}
