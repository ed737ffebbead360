// The held-out validation part: disjoint from the training part, drawn only from the training
// split, stratified per class, seeded; on random fixtures and on real Fashion-MNIST.

import Foundation
import Testing
@testable import SynapseData

/// Every image's bytes plus its label, as a multiset key.
private func rows(_ set: ImageSet) -> [String: Int] {
    var result: [String: Int] = [:]
    for i in 0..<set.count {
        let bytes = set.pixels[(i * set.imageSize)..<((i + 1) * set.imageSize)]
        result["\(set.labels[i]):" + bytes.map { String($0) }.joined(separator: ","), default: 0] += 1
    }
    return result
}

/// Checks the split of one task against its original: positions partition the training split,
/// the parts hold exactly the original training rows, per-class counts follow the rule, and the
/// test split is untouched and never part of training or validation.
private func checkSplit(_ split: ValidationSplit.SplitTask, original: ContinualTask, fraction: Double) {
    let n = original.train.count
    let training = Set(split.trainingPositions), validation = Set(split.validationPositions)
    #expect(training.isDisjoint(with: validation))
    #expect(training.union(validation) == Set(0..<n))
    #expect(split.trainingPositions == split.trainingPositions.sorted())
    // Content: training part + validation part = the original training split, as a multiset.
    var combined = rows(split.task.train)
    for (key, count) in rows(split.validation) { combined[key, default: 0] += count }
    #expect(combined == rows(original.train))
    #expect(split.task.test == original.test)
    #expect(split.selectionTask.test == split.validation && split.selectionTask.train == split.task.train)
    // Stratified: class k with n_k examples gives min(n_k − 1, round(fraction·n_k)).
    var perClass: [Int32: Int] = [:], heldPerClass: [Int32: Int] = [:]
    for label in original.train.labels { perClass[label, default: 0] += 1 }
    for label in split.validation.labels { heldPerClass[label, default: 0] += 1 }
    for (label, count) in perClass {
        let expected = min(count - 1, Int((fraction * Double(count)).rounded(.toNearestOrAwayFromZero)))
        #expect(heldPerClass[label, default: 0] == expected, "class \(label): \(count) examples")
    }
}

@Suite struct ValidationSplitTests {
    /// Images whose pixels encode a unique id (train ids below 10⁶, test ids above), so an image
    /// from the wrong split is recognisable by content.
    static func fixtureTask(_ rng: inout SplitMix64, trainCount: Int, testCount: Int, classes: Int) -> ContinualTask {
        func set(_ count: Int, base: Int) -> ImageSet {
            var pixels: [UInt8] = []
            var labels: [Int32] = []
            for i in 0..<count {
                let id = base + i
                pixels += [UInt8(id & 255), UInt8((id >> 8) & 255), UInt8((id >> 16) & 255), UInt8(rng.below(256))]
                labels.append(Int32(rng.below(UInt64(classes))))
            }
            return ImageSet(pixels: pixels, labels: labels, channels: 1, height: 2, width: 2)
        }
        return ContinualTask(name: "fixture", classNames: (0..<classes).map(String.init),
                             train: set(trainCount, base: 0), test: set(testCount, base: 1 << 20))
    }

    /// The ids written by `fixtureTask` (the first three bytes of each image, little-endian).
    static func ids(_ set: ImageSet) -> [Int] {
        (0..<set.count).map { i in
            let b0 = Int(set.pixels[4 * i]), b1 = Int(set.pixels[4 * i + 1]), b2 = Int(set.pixels[4 * i + 2])
            return b0 + (b1 << 8) + (b2 << 16)
        }
    }

    @Test("random fixtures: the parts partition the training split, stratified, test split untouched")
    func randomFixtures() throws {
        var rng = SplitMix64(state: 99)
        for round in 0..<20 {
            let classes = 1 + Int(rng.below(6))
            let tasks = (0..<3).map { _ in
                Self.fixtureTask(&rng, trainCount: 1 + Int(rng.below(400)), testCount: 1 + Int(rng.below(50)), classes: classes)
            }
            let fraction = [0.1, 0.25, 0.5, 0.9][round % 4]
            let split = try ValidationSplit(fraction: fraction, seed: UInt64(round))
            let parts = split.apply(to: tasks)
            for (part, task) in zip(parts, tasks) {
                checkSplit(part, original: task, fraction: fraction)
                // No validation or training image carries a test-split id.
                #expect(Self.ids(part.validation).allSatisfy { $0 < 1 << 20 })
                #expect(Self.ids(part.task.train).allSatisfy { $0 < 1 << 20 })
            }
        }
    }

    @Test("the same seed gives the same split; another seed or task gives another")
    func seeded() throws {
        var rng = SplitMix64(state: 5)
        let labels = (0..<1000).map { _ in Int32(rng.below(4)) }
        let a = try ValidationSplit(seed: 1).partition(labels: labels, task: 0)
        #expect(a == (try ValidationSplit(seed: 1).partition(labels: labels, task: 0)))
        #expect(a.validation != (try ValidationSplit(seed: 2).partition(labels: labels, task: 0)).validation)
        #expect(a.validation != (try ValidationSplit(seed: 1).partition(labels: labels, task: 1)).validation)
        #expect((98...102).contains(a.validation.count))   // 10% of 1,000, rounded per class (4 classes)
    }

    @Test("a fraction outside (0, 1) is an error naming the option", arguments: [0.0, 1.0, -0.1, 1.5, .nan])
    func badFraction(fraction: Double) {
        #expect(throws: DataError.self) { try ValidationSplit(fraction: fraction, seed: 0) }
    }

    @Test("Fashion-MNIST split tasks: 10% per class held out, disjoint from training, not from the test split",
          .enabled(if: ProcessInfo.processInfo.environment["CI"] == "true"
                        || FileManager.default.fileExists(atPath: "/usr/share/datasets/fashion-mnist")))
    func fashionMNIST() throws {
        let data = try IDX.loadMNIST(folder: "/usr/share/datasets/fashion-mnist", classNames: IDX.fashionClassNames)
        let tasks = try TaskBuilder.splitMNIST(data, limits: .init(maxTasks: 2))
        let parts = try ValidationSplit(seed: 3).apply(to: tasks)
        for (part, task) in zip(parts, tasks) {
            checkSplit(part, original: task, fraction: 0.1)
            #expect(part.validation.count == 1_200 && part.task.train.count == 10_800)
        }
    }
}
