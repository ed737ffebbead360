// Synthetic data-set files in the formats the readers take (CIFAR-10/100 binary, MNIST-format
// IDX, plain or gzip), written from the format descriptions independently of the readers.
import Foundation
import SynapseData

/// Seeded random bytes and labels for synthetic data sets.
public struct Random {
    var generator: SplitMix64
    public init(seed: UInt64) { generator = SplitMix64(state: seed) }

    public mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) } }
    public mutating func int(below bound: Int) -> Int { Int(generator.below(UInt64(bound))) }
}

/// Encoders for the formats, written independently of the readers from the format descriptions.
public enum Encode {
    public static func cifar10(labels: [UInt8], pixels: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, label) in labels.enumerated() {
            out.append(label)
            out += pixels[(i * 3072)..<((i + 1) * 3072)]
        }
        return out
    }

    public static func cifar100(coarse: [UInt8], fine: [UInt8], pixels: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for i in coarse.indices {
            out.append(coarse[i]); out.append(fine[i])
            out += pixels[(i * 3072)..<((i + 1) * 3072)]
        }
        return out
    }

    public static func bigEndian(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    public static func idxImages(count: Int, rows: Int, columns: Int, pixels: [UInt8]) -> [UInt8] {
        [0, 0, 8, 3] + bigEndian(count) + bigEndian(rows) + bigEndian(columns) + pixels
    }

    public static func idxLabels(_ labels: [UInt8]) -> [UInt8] { [0, 0, 8, 1] + bigEndian(labels.count) + labels }

    public static func names(_ count: Int, prefix: String) -> String {
        (0..<count).map { "\(prefix)\($0)" }.joined(separator: "\n") + "\n\n"
    }
}

/// A synthetic CIFAR-10 folder: `batches` training batches of the given sizes and a test batch.
public struct SyntheticCIFAR10 {
    public var trainLabels: [UInt8] = [], trainPixels: [UInt8] = [], testLabels: [UInt8] = [], testPixels: [UInt8] = []

    public init(in folder: TemporaryFolder, name: String = "cifar-10-batches-bin", batchSizes: [Int], testSize: Int,
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
public struct SyntheticCIFAR100 {
    public var train: (coarse: [UInt8], fine: [UInt8], pixels: [UInt8])
    public var test: (coarse: [UInt8], fine: [UInt8], pixels: [UInt8])

    public init(in folder: TemporaryFolder, name: String = "cifar-100-binary", trainSize: Int, testSize: Int,
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
public struct SyntheticIDX {
    public var trainLabels: [UInt8], trainPixels: [UInt8], testLabels: [UInt8], testPixels: [UInt8]
    public let rows: Int, columns: Int

    public init(in folder: TemporaryFolder, name: String = "mnist", trainSize: Int, testSize: Int, rows: Int, columns: Int,
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
public func dataError<T>(_ body: () throws -> T) -> DataError? {
    do { _ = try body(); return nil } catch let error as DataError { return error } catch { return nil }
}
