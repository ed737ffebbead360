/// CIFAR-10, official "binary version": the extracted folder `cifar-10-batches-bin/`.
///
/// Each record is 3073 bytes: one label byte (0-9), then 1024 red, 1024 green and 1024 blue
/// bytes, each channel row-major 32×32. Images come out channel-planar (3, 32, 32) as stored.
public struct CIFAR10: Sendable {
    /// Training images of every `data_batch_N.bin` present, in batch order then file order.
    public var train: ImageSet
    /// `test_batch.bin`, in file order.
    public var test: ImageSet
    /// Ten names from `batches.meta.txt`, in label order.
    public var classNames: [String]
    /// Things worth telling the user that do not stop loading (missing training batches).
    /// The library never prints; the caller decides where warnings go.
    public var warnings: [String]

    public static let recordSize = 1 + imageSize
    public static let imageSize = 3 * 32 * 32
    public static let trainBatchNames = (1...5).map { "data_batch_\($0).bin" }
    public static let testBatchName = "test_batch.bin"
    public static let metaName = "batches.meta.txt"
    /// The official archive of the binary version and the folder it extracts to.
    public static let archiveName = "cifar-10-binary.tar.gz"
    public static let folderName = "cifar-10-batches-bin"

    /// Loads the extracted folder. Reads the training batches present (at least one; a warning
    /// lists missing ones), the test batch and the class names.
    /// - Throws: `DataError` naming the path, what was expected and what was found; when the
    ///   `.tar.gz` archive is given or lies next to a missing folder, the error gives the `tar` command.
    public static func load(folder: String) throws -> CIFAR10 {
        let expected = trainBatchNames + [testBatchName, metaName]
        try CIFARFolder.check(folder: folder, folderName: folderName, archiveName: archiveName,
                              expectedFiles: expected)
        var warnings: [String] = []
        var present: [String] = []
        for name in trainBatchNames {
            let path = FileAccess.join(folder, name)
            if FileAccess.entry(at: path) == .missing { continue }
            present.append(path)
        }
        guard !present.isEmpty else {
            throw CIFARFolder.withArchiveHint(
                DataError(.missing, path: folder,
                          expected: "training batches " + trainBatchNames.joined(separator: ", "),
                          found: "none of them"),
                folder: folder, archiveName: archiveName)
        }
        if present.count < trainBatchNames.count {
            let missing = trainBatchNames.filter { !present.contains(FileAccess.join(folder, $0)) }
            warnings.append("\(folder): only \(present.count) of 5 training batches present "
                            + "(missing \(missing.joined(separator: ", "))); training on "
                            + "\(present.count * 10_000) images if each batch holds the usual 10,000.")
        }
        let testPath = FileAccess.join(folder, testBatchName)
        let metaPath = FileAccess.join(folder, metaName)
        let test = try parseRecords(FileAccess.readFile(testPath), path: testPath)
        let classNames = try NameList.parse(FileAccess.readFile(metaPath), path: metaPath, expectedCount: 10)
        var pixels: [UInt8] = []
        var labels: [Int32] = []
        for path in present {
            let batch = try parseRecords(FileAccess.readFile(path), path: path)
            pixels += batch.pixels
            labels += batch.labels
        }
        let train = ImageSet(pixels: pixels, labels: labels, channels: 3, height: 32, width: 32)
        return CIFAR10(train: train, test: test, classNames: classNames, warnings: warnings)
    }

    /// Parses the bytes of one batch file (`path` only names it in errors).
    /// - Throws: `DataError` when the file is empty, not a whole number of 3073-byte records, or
    ///   holds a label above 9.
    public static func parseRecords(_ bytes: [UInt8], path: String) throws -> ImageSet {
        let records = try CIFARFolder.recordCount(bytes, recordSize: recordSize, path: path)
        var pixels = [UInt8]()
        pixels.reserveCapacity(records * imageSize)
        var labels = [Int32]()
        labels.reserveCapacity(records)
        for record in 0..<records {
            let start = record * recordSize
            let label = bytes[start]
            guard label < 10 else {
                throw DataError(.labelOutOfRange, path: path, expected: "labels 0-9",
                                found: "label \(label) in record \(record) (byte offset \(start))")
            }
            labels.append(Int32(label))
            pixels.append(contentsOf: bytes[(start + 1)..<(start + recordSize)])
        }
        return ImageSet(pixels: pixels, labels: labels, channels: 3, height: 32, width: 32)
    }
}

/// CIFAR-100, official "binary version": the extracted folder `cifar-100-binary/`.
///
/// Each record is 3074 bytes: coarse label (0-19), fine label (0-99), then the 3072 pixel bytes
/// laid out as in CIFAR-10. `train` and `test` carry the fine labels; the coarse labels sit beside.
public struct CIFAR100: Sendable {
    /// `train.bin` in file order, fine labels 0-99.
    public var train: ImageSet
    /// `test.bin` in file order, fine labels 0-99.
    public var test: ImageSet
    /// Coarse (superclass) label of each training image, 0-19.
    public var trainCoarseLabels: [Int32]
    /// Coarse (superclass) label of each test image, 0-19.
    public var testCoarseLabels: [Int32]
    /// 100 names from `fine_label_names.txt`, in label order.
    public var fineClassNames: [String]
    /// 20 names from `coarse_label_names.txt`, in label order.
    public var coarseClassNames: [String]

    public static let recordSize = 2 + CIFAR10.imageSize
    public static let trainName = "train.bin"
    public static let testName = "test.bin"
    public static let fineNamesName = "fine_label_names.txt"
    public static let coarseNamesName = "coarse_label_names.txt"
    public static let archiveName = "cifar-100-binary.tar.gz"
    public static let folderName = "cifar-100-binary"

    /// Loads the extracted folder (all four files are required).
    /// - Throws: `DataError` as `CIFAR10.load(folder:)` does.
    public static func load(folder: String) throws -> CIFAR100 {
        let expected = [trainName, testName, fineNamesName, coarseNamesName]
        try CIFARFolder.check(folder: folder, folderName: folderName, archiveName: archiveName,
                              expectedFiles: expected)
        for name in expected where FileAccess.entry(at: FileAccess.join(folder, name)) == .missing {
            throw CIFARFolder.withArchiveHint(
                DataError(.missing, path: FileAccess.join(folder, name),
                          expected: "a file (the folder must hold " + expected.joined(separator: ", ") + ")",
                          found: "nothing at that path"),
                folder: folder, archiveName: archiveName)
        }
        let trainPath = FileAccess.join(folder, trainName)
        let testPath = FileAccess.join(folder, testName)
        let finePath = FileAccess.join(folder, fineNamesName)
        let coarsePath = FileAccess.join(folder, coarseNamesName)
        let fineNames = try NameList.parse(FileAccess.readFile(finePath), path: finePath, expectedCount: 100)
        let coarseNames = try NameList.parse(FileAccess.readFile(coarsePath), path: coarsePath, expectedCount: 20)
        let train = try parseRecords(FileAccess.readFile(trainPath), path: trainPath)
        let test = try parseRecords(FileAccess.readFile(testPath), path: testPath)
        return CIFAR100(train: train.images, test: test.images,
                        trainCoarseLabels: train.coarseLabels, testCoarseLabels: test.coarseLabels,
                        fineClassNames: fineNames, coarseClassNames: coarseNames)
    }

    /// Parses the bytes of `train.bin` or `test.bin`: images with fine labels, and coarse labels.
    /// - Throws: `DataError` when the file is empty, not a whole number of 3074-byte records, or
    ///   holds a coarse label above 19 or a fine label above 99.
    public static func parseRecords(_ bytes: [UInt8], path: String) throws
        -> (images: ImageSet, coarseLabels: [Int32]) {
        let records = try CIFARFolder.recordCount(bytes, recordSize: recordSize, path: path)
        var pixels = [UInt8]()
        pixels.reserveCapacity(records * CIFAR10.imageSize)
        var fine = [Int32]()
        fine.reserveCapacity(records)
        var coarse = [Int32]()
        coarse.reserveCapacity(records)
        for record in 0..<records {
            let start = record * recordSize
            guard bytes[start] < 20 else {
                throw DataError(.labelOutOfRange, path: path, expected: "coarse labels 0-19",
                                found: "coarse label \(bytes[start]) in record \(record) (byte offset \(start))")
            }
            guard bytes[start + 1] < 100 else {
                throw DataError(.labelOutOfRange, path: path, expected: "fine labels 0-99",
                                found: "fine label \(bytes[start + 1]) in record \(record) (byte offset \(start + 1))")
            }
            coarse.append(Int32(bytes[start]))
            fine.append(Int32(bytes[start + 1]))
            pixels.append(contentsOf: bytes[(start + 2)..<(start + recordSize)])
        }
        return (ImageSet(pixels: pixels, labels: fine, channels: 3, height: 32, width: 32), coarse)
    }
}

/// What the two CIFAR readers share: folder checks with archive hints, record counting.
enum CIFARFolder {
    /// The folder must exist and be a folder. When it is the archive itself, or it is missing and
    /// the archive lies beside it (or inside it), the error says how to extract.
    static func check(folder: String, folderName: String, archiveName: String,
                      expectedFiles: [String]) throws {
        let base = FileAccess.baseName(of: folder)
        let entry = FileAccess.entry(at: folder)
        if entry == .regularFile, base.hasSuffix(".tar.gz") || base.hasSuffix(".tgz") || base == archiveName {
            let parent = FileAccess.parent(of: folder)
            throw DataError(.archiveNotExtracted, path: folder,
                            expected: "the extracted folder \(folderName)/",
                            found: "a .tar.gz archive",
                            hint: "Extract it with `tar xzf \(folder) -C \(parent)` and pass "
                                + "\(FileAccess.join(parent, folderName)) instead.")
        }
        if entry == .directory {
            // The parent folder was given: the extracted folder (or the archive) sits inside it.
            let inner = FileAccess.join(folder, folderName)
            let holdsData = expectedFiles.contains { FileAccess.entry(at: FileAccess.join(folder, $0)) != .missing }
            if !holdsData, FileAccess.entry(at: inner) == .directory {
                throw DataError(.missing, path: folder,
                                expected: "a folder holding " + expectedFiles.joined(separator: ", "),
                                found: "none of them, but a subfolder \(folderName)/",
                                hint: "Pass \(inner) instead.")
            }
            return
        }
        do {
            try FileAccess.requireFolder(folder, holding: expectedFiles)
        } catch let error as DataError {
            throw withArchiveHint(error, folder: folder, archiveName: archiveName)
        }
    }

    /// `error` unchanged, or, when the official archive lies in `folder` or beside it, turned into
    /// an `.archiveNotExtracted` error whose hint is the extraction command.
    static func withArchiveHint(_ error: DataError, folder: String, archiveName: String) -> DataError {
        for place in [folder, FileAccess.parent(of: folder)] {
            let archive = FileAccess.join(place, archiveName)
            if FileAccess.entry(at: archive) == .regularFile {
                var changed = error
                changed.kind = .archiveNotExtracted
                changed.found += ", but the official archive \(archive)"
                changed.hint = "Extract it with `tar xzf \(archive) -C \(place)` and pass the folder it creates."
                return changed
            }
        }
        return error
    }

    /// Whole records in `bytes`, or an error naming the size found.
    static func recordCount(_ bytes: [UInt8], recordSize: Int, path: String) throws -> Int {
        guard !bytes.isEmpty else {
            throw DataError(.empty, path: path, expected: "records of \(recordSize) bytes", found: "an empty file (0 bytes)")
        }
        guard bytes.count % recordSize == 0 else {
            throw DataError(.badSize, path: path,
                            expected: "a whole number of \(recordSize)-byte records",
                            found: "\(bytes.count) bytes = \(bytes.count / recordSize) records + "
                                + "\(bytes.count % recordSize) bytes (truncated or not this format)")
        }
        return bytes.count / recordSize
    }
}
