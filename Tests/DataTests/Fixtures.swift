import Foundation
@testable import SynapseData

/// A fresh folder under /tmp, removed when the fixture goes away.
final class TempFolder {
    let path: String

    init() throws {
        var template = Array("/tmp/synapse-data-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw DataError(.unreadable, path: "/tmp", expected: "mkdtemp", found: "failure") }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    func write(_ name: String, text: String) throws { try write(name, Array(text.utf8)) }

    func makeFolder(_ name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: file(name), withIntermediateDirectories: true)
        return file(name)
    }
}

/// Seeded random bytes and labels for synthetic data sets.
struct Random {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(state: seed) }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) } }
    mutating func int(below bound: Int) -> Int { Int(generator.below(UInt64(bound))) }
}

/// Encoders for the formats, written independently of the readers from the format descriptions.
enum Encode {
    static func cifar10(labels: [UInt8], pixels: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, label) in labels.enumerated() {
            out.append(label)
            out += pixels[(i * 3072)..<((i + 1) * 3072)]
        }
        return out
    }

    static func cifar100(coarse: [UInt8], fine: [UInt8], pixels: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for i in coarse.indices {
            out.append(coarse[i]); out.append(fine[i])
            out += pixels[(i * 3072)..<((i + 1) * 3072)]
        }
        return out
    }

    static func bigEndian(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    static func idxImages(count: Int, rows: Int, columns: Int, pixels: [UInt8]) -> [UInt8] {
        [0, 0, 8, 3] + bigEndian(count) + bigEndian(rows) + bigEndian(columns) + pixels
    }

    static func idxLabels(_ labels: [UInt8]) -> [UInt8] { [0, 0, 8, 1] + bigEndian(labels.count) + labels }

    static func names(_ count: Int, prefix: String) -> String {
        (0..<count).map { "\(prefix)\($0)" }.joined(separator: "\n") + "\n\n"
    }
}

/// A synthetic CIFAR-10 folder: `batches` training batches of the given sizes and a test batch.
struct SyntheticCIFAR10 {
    var trainLabels: [UInt8] = [], trainPixels: [UInt8] = [], testLabels: [UInt8] = [], testPixels: [UInt8] = []

    init(in folder: TempFolder, name: String = "cifar-10-batches-bin", batchSizes: [Int], testSize: Int,
         random: inout Random) throws {
        for (index, size) in batchSizes.enumerated() {
            let labels = (0..<size).map { _ in UInt8(random.int(below: 10)) }
            let pixels = random.bytes(size * 3072)
            try folder.write("\(name)/data_batch_\(index + 1).bin", Encode.cifar10(labels: labels, pixels: pixels))
            trainLabels += labels; trainPixels += pixels
        }
        testLabels = (0..<testSize).map { _ in UInt8(random.int(below: 10)) }
        testPixels = random.bytes(testSize * 3072)
        try folder.write("\(name)/test_batch.bin", Encode.cifar10(labels: testLabels, pixels: testPixels))
        try folder.write("\(name)/batches.meta.txt", text: Encode.names(10, prefix: "class"))
    }
}

/// A synthetic CIFAR-100 folder.
struct SyntheticCIFAR100 {
    var train: (coarse: [UInt8], fine: [UInt8], pixels: [UInt8])
    var test: (coarse: [UInt8], fine: [UInt8], pixels: [UInt8])

    init(in folder: TempFolder, name: String = "cifar-100-binary", trainSize: Int, testSize: Int,
         random: inout Random) throws {
        func make(_ size: Int, _ random: inout Random) -> (coarse: [UInt8], fine: [UInt8], pixels: [UInt8]) {
            let fine = (0..<size).map { _ in UInt8(random.int(below: 100)) }
            return (fine.map { $0 / 5 }, fine, random.bytes(size * 3072))
        }
        train = make(trainSize, &random)
        test = make(testSize, &random)
        try folder.write("\(name)/train.bin", Encode.cifar100(coarse: train.coarse, fine: train.fine, pixels: train.pixels))
        try folder.write("\(name)/test.bin", Encode.cifar100(coarse: test.coarse, fine: test.fine, pixels: test.pixels))
        try folder.write("\(name)/fine_label_names.txt", text: Encode.names(100, prefix: "fine"))
        try folder.write("\(name)/coarse_label_names.txt", text: Encode.names(20, prefix: "coarse"))
    }
}

/// A synthetic MNIST-format folder; `gzip` chooses per file (train images, train labels,
/// test images, test labels) whether it is written compressed.
struct SyntheticIDX {
    var trainLabels: [UInt8], trainPixels: [UInt8], testLabels: [UInt8], testPixels: [UInt8]
    let rows: Int, columns: Int

    init(in folder: TempFolder, name: String = "mnist", trainSize: Int, testSize: Int, rows: Int, columns: Int,
         gzip: [Bool], random: inout Random) throws {
        self.rows = rows; self.columns = columns
        trainLabels = (0..<trainSize).map { _ in UInt8(random.int(below: 10)) }
        testLabels = (0..<testSize).map { _ in UInt8(random.int(below: 10)) }
        trainPixels = random.bytes(trainSize * rows * columns)
        testPixels = random.bytes(testSize * rows * columns)
        let files: [(String, [UInt8])] = [
            ("train-images-idx3-ubyte", Encode.idxImages(count: trainSize, rows: rows, columns: columns, pixels: trainPixels)),
            ("train-labels-idx1-ubyte", Encode.idxLabels(trainLabels)),
            ("t10k-images-idx3-ubyte", Encode.idxImages(count: testSize, rows: rows, columns: columns, pixels: testPixels)),
            ("t10k-labels-idx1-ubyte", Encode.idxLabels(testLabels)),
        ]
        for (index, (file, bytes)) in files.enumerated() {
            if gzip[index] {
                try folder.write("\(name)/\(file).gz", Gzip.compress(bytes))
            } else {
                try folder.write("\(name)/\(file)", bytes)
            }
        }
    }
}

/// Catches the `DataError` a closure throws (nil when it throws none or another error).
func dataError<T>(_ body: () throws -> T) -> DataError? {
    do { _ = try body(); return nil } catch let error as DataError { return error } catch { return nil }
}
