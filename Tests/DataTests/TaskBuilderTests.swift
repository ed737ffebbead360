import Testing
@testable import SynapseData

/// Loads synthetic data sets through the public readers, so builders see what users give them.
private func syntheticMNIST(seed: UInt64, trainSize: Int, testSize: Int, rows: Int = 28, columns: Int = 28) throws -> IDX.Dataset {
    let folder = try TemporaryFolder("data")
    var random = Random(seed: seed)
    _ = try SyntheticIDX(in: folder, trainSize: trainSize, testSize: testSize, rows: rows, columns: columns,
                         gzip: [false, false, false, false], random: &random)
    return try IDX.loadMNIST(folder: folder.file("mnist"))
}

/// The original label of each image of a task: maps the task's images back to the source set
/// by checking that every image of the task equals the source image with the same running index.
private func expectSubset(_ task: ImageSet, of source: ImageSet, classes: [Int32], limit: Int?) {
    var expectedPixels: [UInt8] = []
    var expectedLabels: [Int32] = []
    for i in 0..<source.count {
        guard let local = classes.firstIndex(of: source.labels[i]) else { continue }
        if let limit, expectedLabels.count == limit { break }
        expectedLabels.append(Int32(local))
        expectedPixels += source.pixels[(i * source.imageSize)..<((i + 1) * source.imageSize)]
    }
    #expect(task.labels == expectedLabels)
    #expect(task.pixels == expectedPixels)
}

@Suite("Task builders")
struct TaskBuilderTests {
    @Test("split MNIST: five disjoint class pairs, local labels 0-1, images in file order", arguments: [UInt64(21), 22])
    func splitMNISTIsDisjointPairs(seed: UInt64) throws {
        let mnist = try syntheticMNIST(seed: seed, trainSize: 257, testSize: 33, rows: 7, columns: 5)
        let tasks = try TaskBuilder.splitMNIST(mnist)
        #expect(tasks.count == 5)
        #expect(tasks.reduce(0) { $0 + $1.train.count } == 257)
        #expect(tasks.reduce(0) { $0 + $1.test.count } == 33)
        var seenNames = Set<String>()
        for (t, task) in tasks.enumerated() {
            let classes = [Int32(2 * t), Int32(2 * t + 1)]
            #expect(task.classNames == classes.map { String($0) })
            #expect(seenNames.isDisjoint(with: task.classNames))
            seenNames.formUnion(task.classNames)
            #expect(task.train.labels.allSatisfy { $0 == 0 || $0 == 1 })
            expectSubset(task.train, of: mnist.train, classes: classes, limit: nil)
            expectSubset(task.test, of: mnist.test, classes: classes, limit: nil)
        }
    }

    @Test("caps keep the first images in file order and the first tasks", arguments: [(UInt64(23), 1, 1, 1), (24, 3, 7, 2), (25, 5, 33, 5)])
    func capsTakeFirstImages(seed: UInt64, maxTasks: Int, trainCap: Int, testCap: Int) throws {
        var random = Random(seed: seed)
        let folder = try TemporaryFolder("data")
        _ = try SyntheticCIFAR10(in: folder, batchSizes: [257], testSize: 66, random: &random)
        let cifar = try CIFAR10.load(folder: folder.file("cifar-10-batches-bin"))
        let limits = TaskBuilder.Limits(maxTasks: maxTasks, trainPerTask: trainCap, testPerTask: testCap)
        let tasks = try TaskBuilder.splitCIFAR10(cifar, limits: limits)
        #expect(tasks.count == maxTasks)
        for (t, task) in tasks.enumerated() {
            let classes = [Int32(2 * t), Int32(2 * t + 1)]
            #expect(task.train.count <= trainCap && task.test.count <= testCap)
            expectSubset(task.train, of: cifar.train, classes: classes, limit: trainCap)
            expectSubset(task.test, of: cifar.test, classes: classes, limit: testCap)
        }
    }

    @Test("split CIFAR-10/100: task 1 all CIFAR-10, tasks 2-6 fine labels 0-9 ... 40-49 mapped to 0-9", arguments: [UInt64(26), 27])
    func splitCIFAR10_100MatchesPaper(seed: UInt64) throws {
        var random = Random(seed: seed)
        let folder = try TemporaryFolder("data")
        _ = try SyntheticCIFAR10(in: folder, batchSizes: [33, 7], testSize: 13, random: &random)
        _ = try SyntheticCIFAR100(in: folder, trainSize: 1025, testSize: 257, random: &random)
        let cifar10 = try CIFAR10.load(folder: folder.file("cifar-10-batches-bin"))
        let cifar100 = try CIFAR100.load(folder: folder.file("cifar-100-binary"))
        let tasks = try TaskBuilder.splitCIFAR10_100(cifar10: cifar10, cifar100: cifar100)
        #expect(tasks.count == 6)
        #expect(tasks[0].train == cifar10.train && tasks[0].test == cifar10.test)
        #expect(tasks[0].classNames == cifar10.classNames)
        for block in 0..<5 {
            let task = tasks[block + 1]
            let classes = (Int32(block * 10)..<Int32(block * 10 + 10)).map { $0 }
            #expect(task.classNames == classes.map { "fine\($0)" })
            #expect(task.train.labels.allSatisfy { (0..<10).contains($0) })
            expectSubset(task.train, of: cifar100.train, classes: classes, limit: nil)
            expectSubset(task.test, of: cifar100.test, classes: classes, limit: nil)
        }
        let capped = try TaskBuilder.splitCIFAR10_100(cifar10: cifar10, cifar100: cifar100,
                                                      limits: .init(maxTasks: 2, trainPerTask: 7))
        #expect(capped.count == 2 && capped[0].train.count == 7 && capped[1].train.count == 7)
    }

    @Test("each permutation is a bijection; same seed same permutation; other seed or task another",
          arguments: [(UInt64(0), 1), (1, 2), (31, 7), (0xDEAD_BEEF, 784), (42, 1025)])
    func permutationIsSeededBijection(seed: UInt64, pixelCount: Int) {
        for task in 2...4 {
            let p = TaskBuilder.pixelPermutation(seed: seed, task: task, pixelCount: pixelCount)
            #expect(p.sorted() == Array(0..<pixelCount))
            #expect(p == TaskBuilder.pixelPermutation(seed: seed, task: task, pixelCount: pixelCount))
            if pixelCount >= 33 {  // below that, two permutations may coincide by chance
                #expect(p != TaskBuilder.pixelPermutation(seed: seed &+ 1, task: task, pixelCount: pixelCount))
                #expect(p != TaskBuilder.pixelPermutation(seed: seed, task: task + 1, pixelCount: pixelCount))
                #expect(p != Array(0..<pixelCount))
            }
        }
        #expect(TaskBuilder.pixelPermutation(seed: seed, task: 1, pixelCount: pixelCount) == Array(0..<pixelCount))
    }

    @Test("permuted MNIST: task 1 unpermuted, task t applies its permutation to train and test alike",
          arguments: [(UInt64(28), 1), (29, 3), (30, 10)])
    func permutedMNISTAppliesPermutation(seed: UInt64, taskCount: Int) throws {
        let mnist = try syntheticMNIST(seed: seed, trainSize: 33, testSize: 7)
        let tasks = try TaskBuilder.permutedMNIST(mnist, taskCount: taskCount, seed: seed)
        #expect(tasks.count == taskCount)
        #expect(tasks[0].train == mnist.train && tasks[0].test == mnist.test)
        for (index, task) in tasks.enumerated().dropFirst() {
            let p = TaskBuilder.pixelPermutation(seed: seed, task: index + 1, pixelCount: 784)
            for (set, source) in [(task.train, mnist.train), (task.test, mnist.test)] {
                #expect(set.labels == source.labels)
                var ok = true
                for image in 0..<source.count {
                    for i in 0..<784 where set.pixels[image * 784 + i] != source.pixels[image * 784 + p[i]] { ok = false }
                }
                #expect(ok)
            }
        }
        // Same seed, same tasks; another seed, other pixels; a task cap keeps task t's permutation.
        let again = try TaskBuilder.permutedMNIST(mnist, taskCount: taskCount, seed: seed)
        #expect(zip(tasks, again).allSatisfy { $0.train == $1.train && $0.test == $1.test })
        if taskCount > 1 {
            let other = try TaskBuilder.permutedMNIST(mnist, taskCount: taskCount, seed: seed + 1)
            #expect(other[1].train != tasks[1].train)
            let capped = try TaskBuilder.permutedMNIST(mnist, taskCount: taskCount, seed: seed, limits: .init(maxTasks: 2))
            #expect(capped.count == 2 && capped[1].train == tasks[1].train)
        }
    }

    @Test("options below 1 are errors naming the option", arguments: [0, -1, -257])
    func invalidOptionsAreErrors(value: Int) throws {
        let mnist = try syntheticMNIST(seed: 31, trainSize: 7, testSize: 1)
        for (limits, name) in [(TaskBuilder.Limits(maxTasks: value), "maxTasks"),
                               (.init(trainPerTask: value), "trainPerTask"), (.init(testPerTask: value), "testPerTask")] {
            let error = dataError { try TaskBuilder.splitMNIST(mnist, limits: limits) }
            #expect(error?.kind == .invalidOption && error?.path == name)
        }
        let error = dataError { try TaskBuilder.permutedMNIST(mnist, taskCount: value, seed: 1) }
        #expect(error?.kind == .invalidOption && error?.path == "taskCount")
    }
}
