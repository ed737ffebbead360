/// Why a data set could not be loaded or a task sequence could not be built.
///
/// Every error names the thing at fault (`path`: a file, a folder, or for builder options the
/// option's name), what was expected there and what was found instead; `hint` says how to fix it
/// when there is an obvious fix (for example the `tar` command that extracts an archive).
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The class of problem, for callers (and tests) that branch on it.
    public enum Kind: String, Sendable {
        /// A file or folder does not exist.
        case missing
        /// A folder was found where a regular file is expected, or a FIFO, socket or device.
        case notAFile
        /// A file (or something else) was found where a folder is expected.
        case notAFolder
        /// The operating system refused to open or read it (permissions, I/O error).
        case unreadable
        /// The file has zero bytes.
        case empty
        /// The byte count is not what the format and its header require.
        case badSize
        /// A header field (IDX magic, type code, dimension count, dimension) is not as expected.
        case badHeader
        /// Image and label files disagree, or train and test disagree on the image shape.
        case countMismatch
        /// A label byte is outside the format's label range.
        case labelOutOfRange
        /// A gzip stream is truncated, corrupt, or followed by bytes that are not gzip.
        case badGzip
        /// A text file (class names) is not valid UTF-8 or holds the wrong number of names.
        case badText
        /// The official `.tar.gz` archive was given or found instead of the extracted folder.
        case archiveNotExtracted
        /// A task-builder option is out of range.
        case invalidOption
    }

    public var kind: Kind
    /// The file, folder or option at fault.
    public var path: String
    /// What the reader expected there.
    public var expected: String
    /// What it found instead.
    public var found: String
    /// How to fix it, when there is an obvious fix.
    public var hint: String?

    public init(_ kind: Kind, path: String, expected: String, found: String, hint: String? = nil) {
        self.kind = kind; self.path = path; self.expected = expected; self.found = found; self.hint = hint
    }

    public var description: String {
        var text = "\(path): expected \(expected); found \(found)."
        if let hint { text += " " + hint }
        return text
    }
}
