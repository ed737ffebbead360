/// The IDX format of MNIST and Fashion-MNIST (same layout, same file names).
///
/// A file is a big-endian header — two zero bytes, a type code (0x08: unsigned byte), the number
/// of dimensions, then each dimension as a 32-bit count — followed by the values, row-major.
/// Images are 3-dimensional (count, rows, columns); labels 1-dimensional (count).
/// Files may be plain or gzip-compressed; gzip is recognised by its content (1f 8b), not its name.
public enum IDX {
    /// An MNIST-format data set: train and test images (1, rows, columns) with labels 0-9.
    public struct Dataset: Sendable {
        public var train: ImageSet
        public var test: ImageSet
        public var classNames: [String]
    }

    /// The four files an MNIST-format folder holds, each plain or with `.gz` appended.
    public static let fileNames = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    /// MNIST's classes: the digits.
    public static let digitClassNames = (0...9).map(String.init)
    /// Fashion-MNIST's classes, in label order.
    public static let fashionClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Loads an MNIST-format folder (MNIST, Fashion-MNIST). For each of `fileNames` the plain
    /// file is used when present, else the `.gz` one.
    /// - Parameter classNames: one name per label; labels must lie in 0 ..< classNames.count.
    /// - Throws: `DataError` naming the file, what was expected and what was found.
    public static func loadMNIST(folder: String, classNames: [String] = digitClassNames) throws -> Dataset {
        let expected = fileNames.map { "\($0)[.gz]" }
        try FileAccess.requireFolder(folder, holding: expected)
        var paths: [String] = []
        for name in fileNames {
            let plain = FileAccess.join(folder, name)
            let gz = plain + ".gz"
            if FileAccess.entry(at: plain) != .missing {
                paths.append(plain)
            } else if FileAccess.entry(at: gz) != .missing {
                paths.append(gz)
            } else {
                throw DataError(.missing, path: plain,
                                expected: "\(name) or \(name).gz (the folder must hold "
                                    + expected.joined(separator: ", ") + ")",
                                found: "neither")
            }
        }
        let train = try loadPair(images: paths[0], labels: paths[1], classCount: classNames.count)
        let test = try loadPair(images: paths[2], labels: paths[3], classCount: classNames.count)
        guard train.height == test.height, train.width == test.width else {
            throw DataError(.countMismatch, path: paths[2],
                            expected: "test images of the training images' size \(train.height)×\(train.width)",
                            found: "\(test.height)×\(test.width)")
        }
        return Dataset(train: train, test: test, classNames: classNames)
    }

    /// Reads one image file and its label file (plain or gzip) into an image set.
    public static func loadPair(images imagePath: String, labels labelPath: String, classCount: Int = 10) throws -> ImageSet {
        let imageBytes = try contents(of: imagePath, dimensions: 3)
        let labelBytes = try contents(of: labelPath, dimensions: 1)
        return try parsePair(images: imageBytes, imagePath: imagePath,
                             labels: labelBytes, labelPath: labelPath, classCount: classCount)
    }

    /// Parses an image file's and a label file's bytes (already decompressed) into an image set.
    /// - Throws: `DataError` for a bad header, a wrong size, disagreeing counts or a label
    ///   outside 0 ..< classCount.
    public static func parsePair(images: [UInt8], imagePath: String, labels: [UInt8], labelPath: String,
                                 classCount: Int = 10) throws -> ImageSet {
        let (header, dims) = try parseHeader(images, path: imagePath, dimensions: 3)
        let labelHeader = try parseHeader(labels, path: labelPath, dimensions: 1)
        let count = dims[0], rows = dims[1], columns = dims[2]
        guard labelHeader.dims[0] == count else {
            throw DataError(.countMismatch, path: labelPath,
                            expected: "\(count) labels, one per image in \(imagePath)",
                            found: "\(labelHeader.dims[0]) labels")
        }
        guard count > 0, rows > 0, columns > 0 else {
            throw DataError(.badHeader, path: imagePath, expected: "at least one image of at least 1×1 pixels",
                            found: "\(count) images of \(rows)×\(columns)")
        }
        // parseHeader checked that exactly count·rows·columns bytes follow the header.
        let pixels = Array(images[header...])
        var labelValues = [Int32]()
        labelValues.reserveCapacity(count)
        for (index, label) in labels[labelHeader.header...].enumerated() {
            guard Int(label) < classCount else {
                throw DataError(.labelOutOfRange, path: labelPath, expected: "labels 0-\(classCount - 1)",
                                found: "label \(label) for image \(index) (byte offset \(labelHeader.header + index))")
            }
            labelValues.append(Int32(label))
        }
        return ImageSet(pixels: pixels, labels: labelValues, channels: 1, height: rows, width: columns)
    }

    /// Checks an unsigned-byte IDX header with `dimensions` dimensions and that the file holds
    /// exactly the values the header announces.
    /// - Returns: header length in bytes and the dimensions.
    static func parseHeader(_ bytes: [UInt8], path: String, dimensions: Int) throws -> (header: Int, dims: [Int]) {
        let headerSize = 4 + 4 * dimensions
        let kind = dimensions == 1 ? "IDX label file" : "IDX image file"
        let expectedMagic = "magic 00 00 08 0\(dimensions) (\(kind), unsigned bytes, \(dimensions) dimension\(dimensions == 1 ? "" : "s"))"
        guard !bytes.isEmpty else {
            throw DataError(.empty, path: path, expected: expectedMagic, found: "an empty file (0 bytes)")
        }
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else {
            let gzipHint = Gzip.hasMagic(bytes) ? " (gzip data that was not decompressed)" : ""
            throw DataError(.badHeader, path: path, expected: expectedMagic,
                            found: "first bytes " + Gzip.hexPrefix(bytes) + gzipHint)
        }
        guard bytes[2] == 0x08 else {
            throw DataError(.badHeader, path: path, expected: expectedMagic,
                            found: "type code 0x" + Gzip.hexPrefix([bytes[2]]) + " (only 0x08, unsigned byte, is supported)")
        }
        guard Int(bytes[3]) == dimensions else {
            throw DataError(.badHeader, path: path, expected: expectedMagic,
                            found: "\(bytes[3]) dimensions; is this the \(dimensions == 1 ? "image" : "label") file?")
        }
        guard bytes.count >= headerSize else {
            throw DataError(.badSize, path: path, expected: "a \(headerSize)-byte header",
                            found: "\(bytes.count) bytes in all")
        }
        var dims: [Int] = []
        var total = 1
        for d in 0..<dimensions {
            let o = 4 + 4 * d
            let value = Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
            dims.append(value)
            // Dimensions are below 2^32 each; the product can overflow only past 3 of them, but
            // the guard keeps the arithmetic honest for any header.
            let (product, overflow) = total.multipliedReportingOverflow(by: value)
            guard !overflow else {
                throw DataError(.badHeader, path: path, expected: "dimensions whose product fits in memory",
                                found: dims.map(String.init).joined(separator: "×"))
            }
            total = product
        }
        guard bytes.count - headerSize == total else {
            throw DataError(.badSize, path: path,
                            expected: "\(headerSize) header bytes + \(total) values (" + dims.map(String.init).joined(separator: "×") + ")",
                            found: "\(bytes.count - headerSize) value bytes"
                                + (bytes.count - headerSize < total ? " (truncated)" : " (extra bytes)"))
        }
        return (headerSize, dims)
    }

    /// A file's bytes, inflated when they are gzip: when `dimensions` is given, no further than
    /// the size its IDX header of that many dimensions declares, so a decompression bomb stops
    /// at that size (nil: only Gzip's overall limit).
    static func contents(of path: String, dimensions: Int? = nil) throws -> [UInt8] {
        let raw = try FileAccess.readFile(path)
        guard Gzip.hasMagic(raw) else { return raw }
        guard let dimensions else { return try Gzip.decompress(raw, path: path) }
        return try Gzip.decompress(raw, path: path) { prefix in try declaredSize(prefix, path: path, dimensions: dimensions) }
    }

    /// The whole file size (header + values) an IDX header declares, from the first bytes of the
    /// file; nil while fewer than the header's bytes are there. A header that is not a valid
    /// unsigned-byte IDX header of `dimensions` dimensions throws the error `parseHeader` gives.
    static func declaredSize(_ prefix: [UInt8], path: String, dimensions: Int) throws -> Int? {
        let headerSize = 4 + 4 * dimensions
        guard prefix.count >= headerSize else { return nil }
        guard prefix[0] == 0, prefix[1] == 0, prefix[2] == 0x08, Int(prefix[3]) == dimensions else {
            _ = try parseHeader(Array(prefix[0..<headerSize]), path: path, dimensions: dimensions)
            return headerSize   // unreachable: parseHeader throws for these bytes
        }
        var total = headerSize
        for d in 0..<dimensions {
            let o = 4 + 4 * d
            let value = Int(prefix[o]) << 24 | Int(prefix[o + 1]) << 16 | Int(prefix[o + 2]) << 8 | Int(prefix[o + 3])
            let (product, overflow) = (d == 0 ? 1 : (total - headerSize)).multipliedReportingOverflow(by: value)
            guard !overflow, product <= Int.max - headerSize else {
                throw DataError(.badHeader, path: path, expected: "dimensions whose product fits in memory",
                                found: "dimension \(d + 1) = \(value)")
            }
            total = headerSize + product
        }
        return total
    }
}
