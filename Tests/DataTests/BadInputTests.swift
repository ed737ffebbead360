import Foundation
import Testing
@testable import SynapseData

/// Every way a data folder can be wrong must end in a `DataError` that names the path, says what
/// was expected and what was found, never a crash, hang or short load.
@Suite("Bad input")
struct BadInputTests {
    /// Checks kind, path and that the description carries the path and the expected/found texts.
    private func expectError(_ error: DataError?, _ kind: DataError.Kind, path: String,
                             mentioning words: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else {
            Issue.record("expected a \(kind) error for \(path), got none", sourceLocation: sourceLocation)
            return
        }
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        #expect(error.path == path, "\(error)", sourceLocation: sourceLocation)
        #expect(error.description.contains(path), sourceLocation: sourceLocation)
        #expect(!error.expected.isEmpty && !error.found.isEmpty, sourceLocation: sourceLocation)
        for word in words {
            #expect(error.description.contains(word), "\(error) lacks \(word)", sourceLocation: sourceLocation)
        }
    }

    @Test("missing folder names the files expected there")
    func missingFolder() throws {
        let folder = try TemporaryFolder("data")
        let path = folder.file("nowhere")
        expectError(dataError { try CIFAR10.load(folder: path) }, .missing, path: path,
                    mentioning: ["data_batch_1.bin", "test_batch.bin", "batches.meta.txt"])
        expectError(dataError { try CIFAR100.load(folder: path) }, .missing, path: path,
                    mentioning: ["train.bin", "fine_label_names.txt"])
        expectError(dataError { try IDX.loadMNIST(folder: path) }, .missing, path: path,
                    mentioning: ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
    }

    @Test("missing file in a folder is named, with the folder's expected contents")
    func missingFile() throws {
        let folder = try TemporaryFolder("data")
        var random = Random(seed: 40)
        _ = try SyntheticCIFAR10(in: folder, batchSizes: [7], testSize: 1, random: &random)
        _ = try SyntheticCIFAR100(in: folder, trainSize: 7, testSize: 1, random: &random)
        _ = try SyntheticIDX(in: folder, trainSize: 7, testSize: 1, rows: 3, columns: 3, gzip: [true, false, true, false], random: &random)
        let c10 = folder.file("cifar-10-batches-bin")
        try FileManager.default.removeItem(atPath: c10 + "/test_batch.bin")
        expectError(dataError { try CIFAR10.load(folder: c10) }, .missing, path: c10 + "/test_batch.bin")
        try FileManager.default.removeItem(atPath: c10 + "/data_batch_1.bin")
        expectError(dataError { try CIFAR10.load(folder: c10) }, .missing, path: c10, mentioning: ["data_batch_5.bin"])
        let c100 = folder.file("cifar-100-binary")
        try FileManager.default.removeItem(atPath: c100 + "/coarse_label_names.txt")
        expectError(dataError { try CIFAR100.load(folder: c100) }, .missing, path: c100 + "/coarse_label_names.txt")
        let mnist = folder.file("mnist")
        try FileManager.default.removeItem(atPath: mnist + "/t10k-labels-idx1-ubyte")
        expectError(dataError { try IDX.loadMNIST(folder: mnist) }, .missing, path: mnist + "/t10k-labels-idx1-ubyte",
                    mentioning: [".gz"])
    }

    @Test("a size that is not a whole number of records is an error, not a short load", arguments: [UInt64(41), 42, 43])
    func partialRecord(seed: UInt64) throws {
        var random = Random(seed: seed)
        let folder = try TemporaryFolder("data")
        let records = 1 + random.int(below: 7)
        let extra = 1 + random.int(below: 3072)  // 1 ... 3072 stray bytes
        let bytes = random.bytes(records * 3073 + extra).enumerated().map { i, b in i % 3073 == 0 ? b % 10 : b }
        let path = try folder.write("c10/test_batch.bin", bytes)
        expectError(dataError { try CIFAR10.parseRecords(bytes, path: path) }, .badSize, path: path,
                    mentioning: ["3073", "\(bytes.count)"])
        let bytes100 = random.bytes(records * 3074 + extra).enumerated().map { i, b in i % 3074 < 2 ? b % 20 : b }
        expectError(dataError { try CIFAR100.parseRecords(bytes100, path: "t.bin") }, .badSize, path: "t.bin",
                    mentioning: ["3074"])
    }

    @Test("wrong IDX magic, type, dimension count or size is a header error")
    func badIDXHeader() throws {
        let good = Encode.idxImages(count: 2, rows: 3, columns: 3, pixels: Array(repeating: 7, count: 18))
        let labels = Encode.idxLabels([1, 2])
        func images(_ bytes: [UInt8]) -> DataError? {
            dataError { try IDX.parsePair(images: bytes, imagePath: "i", labels: labels, labelPath: "l") }
        }
        var magic = good; magic[0] = 1
        expectError(images(magic), .badHeader, path: "i", mentioning: ["00 00 08 03"])
        var type = good; type[2] = 0x0D  // float
        expectError(images(type), .badHeader, path: "i", mentioning: ["0x0d"])
        // A label file where the image file belongs (swapped arguments).
        expectError(images(labels), .badHeader, path: "i", mentioning: ["1 dimensions"])
        expectError(images(Array(good.dropLast())), .badSize, path: "i", mentioning: ["truncated"])
        expectError(images(good + [0]), .badSize, path: "i", mentioning: ["extra"])
        expectError(images(Array(good.prefix(9))), .badSize, path: "i")
        // Zero rows: a header that describes no pixels.
        let zero = Encode.idxImages(count: 2, rows: 0, columns: 3, pixels: [])
        expectError(images(zero), .badHeader, path: "i")
        // Dimensions whose product overflows must not wrap around to a small size.
        let huge = [0, 0, 8, 3] + Encode.bigEndian(0xFFFF_FFFF) + Encode.bigEndian(0xFFFF_FFFF) + Encode.bigEndian(0xFFFF_FFFF)
        #expect(images(huge) != nil)
        // Gzip bytes given to the parser directly say so.
        expectError(images(Gzip.compress(good)), .badHeader, path: "i", mentioning: ["gzip"])
    }

    @Test("image and label counts must agree; train and test image sizes must agree")
    func countMismatch() throws {
        let images = Encode.idxImages(count: 3, rows: 2, columns: 2, pixels: Array(repeating: 1, count: 12))
        let error = dataError {
            try IDX.parsePair(images: images, imagePath: "i", labels: Encode.idxLabels([1, 2]), labelPath: "l")
        }
        expectError(error, .countMismatch, path: "l", mentioning: ["3 labels", "2 labels"])
        let folder = try TemporaryFolder("data")
        var random = Random(seed: 44)
        _ = try SyntheticIDX(in: folder, trainSize: 7, testSize: 1, rows: 3, columns: 3, gzip: [false, false, false, false], random: &random)
        try folder.write("mnist/t10k-images-idx3-ubyte", Encode.idxImages(count: 1, rows: 2, columns: 2, pixels: [1, 2, 3, 4]))
        expectError(dataError { try IDX.loadMNIST(folder: folder.file("mnist")) }, .countMismatch,
                    path: folder.file("mnist/t10k-images-idx3-ubyte"))
    }

    @Test("labels out of range are errors naming the record", arguments: [UInt64(45), 46, 47])
    func labelOutOfRange(seed: UInt64) throws {
        var random = Random(seed: seed)
        let records = 1 + random.int(below: 33)
        let bad = random.int(below: records)
        var c10 = Encode.cifar10(labels: (0..<records).map { _ in UInt8(random.int(below: 10)) }, pixels: random.bytes(records * 3072))
        c10[bad * 3073] = UInt8(10 + random.int(below: 246))
        expectError(dataError { try CIFAR10.parseRecords(c10, path: "b") }, .labelOutOfRange, path: "b",
                    mentioning: ["record \(bad)", "label \(c10[bad * 3073])"])
        let fine = (0..<records).map { _ in UInt8(random.int(below: 100)) }
        var coarseBad = Encode.cifar100(coarse: fine.map { $0 / 5 }, fine: fine, pixels: random.bytes(records * 3072))
        var fineBad = coarseBad
        coarseBad[bad * 3074] = 20
        fineBad[bad * 3074 + 1] = 100
        expectError(dataError { try CIFAR100.parseRecords(coarseBad, path: "c") }, .labelOutOfRange, path: "c",
                    mentioning: ["coarse label 20", "record \(bad)"])
        expectError(dataError { try CIFAR100.parseRecords(fineBad, path: "c") }, .labelOutOfRange, path: "c",
                    mentioning: ["fine label 100"])
        var labels = (0..<records).map { _ in UInt8(random.int(below: 10)) }
        labels[bad] = 10
        let images = Encode.idxImages(count: records, rows: 1, columns: 1, pixels: random.bytes(records))
        expectError(dataError { try IDX.parsePair(images: images, imagePath: "i", labels: Encode.idxLabels(labels), labelPath: "l") },
                    .labelOutOfRange, path: "l", mentioning: ["image \(bad)"])
    }

    @Test("truncated, corrupt or trailing-garbage gzip is an error", arguments: [UInt64(48), 49, 50, 51])
    func badGzip(seed: UInt64) throws {
        var random = Random(seed: seed)
        let size = [1, 7, 257, 70_001][Int(seed) % 4]
        let plain = (0..<size).map { _ in UInt8(random.int(below: 3)) }
        let packed = Gzip.compress(plain)
        let folder = try TemporaryFolder("data")
        // Truncated anywhere after the magic: the stream cannot complete.
        let cut = 2 + random.int(below: packed.count - 2)
        let truncatedPath = try folder.write("t.gz", Array(packed[..<cut]))
        expectError(dataError { try IDX.contents(of: truncatedPath) }, .badGzip, path: truncatedPath)
        // A flipped byte in the deflate data or the trailer: the CRC or the decoder rejects it.
        var corrupt = packed
        let position = 10 + random.int(below: packed.count - 10)
        corrupt[position] ^= UInt8(1 + random.int(below: 255))
        let corruptPath = try folder.write("c.gz", corrupt)
        expectError(dataError { try IDX.contents(of: corruptPath) }, .badGzip, path: corruptPath)
        let trailingPath = try folder.write("g.gz", packed + [0x00, 0x42])
        expectError(dataError { try IDX.contents(of: trailingPath) }, .badGzip, path: trailingPath, mentioning: ["trailing"])
    }

    @Test("truncated .gz in an MNIST folder fails the load")
    func truncatedGzipInFolder() throws {
        let folder = try TemporaryFolder("data")
        var random = Random(seed: 52)
        _ = try SyntheticIDX(in: folder, trainSize: 33, testSize: 7, rows: 28, columns: 28, gzip: [true, true, true, true], random: &random)
        let path = folder.file("mnist/train-images-idx3-ubyte.gz")
        let bytes = try FileAccess.readFile(path)
        try folder.write("mnist/train-images-idx3-ubyte.gz", Array(bytes.dropLast(9)))
        expectError(dataError { try IDX.loadMNIST(folder: folder.file("mnist")) }, .badGzip, path: path, mentioning: ["truncated"])
    }

    @Test("empty files are errors in every reader")
    func emptyFiles() throws {
        let folder = try TemporaryFolder("data")
        var random = Random(seed: 53)
        _ = try SyntheticCIFAR10(in: folder, batchSizes: [1], testSize: 1, random: &random)
        _ = try SyntheticCIFAR100(in: folder, trainSize: 1, testSize: 1, random: &random)
        _ = try SyntheticIDX(in: folder, trainSize: 1, testSize: 1, rows: 2, columns: 2, gzip: [false, false, false, true], random: &random)
        for (file, load) in [("cifar-10-batches-bin/data_batch_1.bin", { _ = try CIFAR10.load(folder: folder.file("cifar-10-batches-bin")) }),
                             ("cifar-10-batches-bin/batches.meta.txt", { _ = try CIFAR10.load(folder: folder.file("cifar-10-batches-bin")) }),
                             ("cifar-100-binary/test.bin", { _ = try CIFAR100.load(folder: folder.file("cifar-100-binary")) }),
                             ("mnist/t10k-labels-idx1-ubyte.gz", { _ = try IDX.loadMNIST(folder: folder.file("mnist")) }),
                             ("mnist/train-images-idx3-ubyte", { _ = try IDX.loadMNIST(folder: folder.file("mnist")) })] as [(String, () throws -> Void)] {
            let saved = try FileAccess.readFile(folder.file(file))
            try folder.write(file, [])
            expectError(dataError(load), .empty, path: folder.file(file), mentioning: ["0 bytes"])
            try folder.write(file, saved)
        }
        // Empty once decompressed: a valid gzip stream of nothing.
        try folder.write("mnist/t10k-labels-idx1-ubyte.gz", Gzip.compress([]))
        expectError(dataError { try IDX.loadMNIST(folder: folder.file("mnist")) }, .empty, path: folder.file("mnist/t10k-labels-idx1-ubyte.gz"))
    }

    @Test("a directory or a FIFO where a file is expected is an error, without blocking")
    func directoryOrFIFOInsteadOfFile() throws {
        let folder = try TemporaryFolder("data")
        var random = Random(seed: 54)
        _ = try SyntheticCIFAR10(in: folder, batchSizes: [1, 1, 1, 1, 1], testSize: 1, random: &random)
        let c10 = folder.file("cifar-10-batches-bin")
        try FileManager.default.removeItem(atPath: c10 + "/test_batch.bin")
        _ = try folder.makeFolder("cifar-10-batches-bin/test_batch.bin")
        expectError(dataError { try CIFAR10.load(folder: c10) }, .notAFile, path: c10 + "/test_batch.bin", mentioning: ["directory"])
        try FileManager.default.removeItem(atPath: c10 + "/test_batch.bin")
        #expect(mkfifo(c10 + "/test_batch.bin", 0o644) == 0)
        expectError(dataError { try CIFAR10.load(folder: c10) }, .notAFile, path: c10 + "/test_batch.bin", mentioning: ["FIFO"])
        // A file where the folder is expected.
        let file = try folder.write("plain-file", [1, 2, 3])
        expectError(dataError { try IDX.loadMNIST(folder: file) }, .notAFolder, path: file)
    }

    /// Root reads any file whatever its mode, so as root this test checks the errno mapping and
    /// that a file root may read is still read; as another user it checks a real mode-000 file.
    @Test("unreadable files: permission denied names the file")
    func unreadableFile() throws {
        let mapped = FileAccess.openError(errno: EACCES, path: "/x/y.bin")
        expectError(mapped, .unreadable, path: "/x/y.bin", mentioning: ["permission denied"])
        let folder = try TemporaryFolder("data")
        let path = try folder.write("locked.bin", [1, 2, 3])
        #expect(chmod(path, 0) == 0)
        if geteuid() == 0 {
            #expect(try FileAccess.readFile(path) == [1, 2, 3])
        } else {
            expectError(dataError { try FileAccess.readFile(path) }, .unreadable, path: path, mentioning: ["permission denied"])
        }
    }

    @Test("the official .tar.gz archive instead of the folder gives the tar command")
    func archiveInsteadOfFolder() throws {
        let folder = try TemporaryFolder("data")
        let archive10 = try folder.write("cifar-10-binary.tar.gz", Gzip.compress([1, 2, 3]))
        let archive100 = try folder.write("cifar-100-binary.tar.gz", Gzip.compress([4, 5, 6]))
        // The archive itself given as the folder.
        expectError(dataError { try CIFAR10.load(folder: archive10) }, .archiveNotExtracted, path: archive10,
                    mentioning: ["tar xzf \(archive10) -C \(folder.path)", "cifar-10-batches-bin"])
        expectError(dataError { try CIFAR100.load(folder: archive100) }, .archiveNotExtracted, path: archive100,
                    mentioning: ["tar xzf \(archive100) -C \(folder.path)"])
        // The folder it would extract to is missing, the archive lies beside it.
        let missing = folder.file("cifar-10-batches-bin")
        expectError(dataError { try CIFAR10.load(folder: missing) }, .archiveNotExtracted, path: missing,
                    mentioning: ["tar xzf \(archive10) -C \(folder.path)"])
        // The download folder holding only the archive.
        expectError(dataError { try CIFAR100.load(folder: folder.path) }, .archiveNotExtracted,
                    path: folder.path + "/train.bin", mentioning: ["tar xzf \(archive100) -C \(folder.path)"])
        // The parent of an extracted folder: point at the folder inside.
        var random = Random(seed: 55)
        let parent = try TemporaryFolder("data")
        _ = try SyntheticCIFAR10(in: parent, batchSizes: [1], testSize: 1, random: &random)
        expectError(dataError { try CIFAR10.load(folder: parent.path) }, .missing, path: parent.path,
                    mentioning: ["Pass \(parent.path)/cifar-10-batches-bin"])
    }

    @Test("class-name files with the wrong count or invalid UTF-8 are errors")
    func badClassNames() throws {
        let folder = try TemporaryFolder("data")
        var random = Random(seed: 56)
        _ = try SyntheticCIFAR10(in: folder, batchSizes: [1], testSize: 1, random: &random)
        let meta = try folder.write("cifar-10-batches-bin/batches.meta.txt", Array(Encode.names(9, prefix: "c").utf8))
        expectError(dataError { try CIFAR10.load(folder: folder.file("cifar-10-batches-bin")) }, .badText, path: meta,
                    mentioning: ["10 class names", "9 non-blank"])
        try folder.write("cifar-10-batches-bin/batches.meta.txt", [0xff, 0xfe, 0x0a])
        expectError(dataError { try CIFAR10.load(folder: folder.file("cifar-10-batches-bin")) }, .badText, path: meta,
                    mentioning: ["UTF-8"])
    }
}
