#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file-system layer: every path check and read goes through here, so the format parsers
/// work on bytes alone (and can be fuzzed) and every failure becomes a `DataError`.
enum FileAccess {
    /// What sits at a path, without following the reader into it.
    enum Entry: Equatable {
        case missing, regularFile, directory, other(String)
    }

    static func entry(at path: String) -> Entry {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        case S_IFIFO: return .other("a FIFO")
        case S_IFSOCK: return .other("a socket")
        case S_IFCHR: return .other("a character device")
        case S_IFBLK: return .other("a block device")
        default: return .other("a special file")
        }
    }

    /// Checks that `path` is an existing folder.
    static func requireFolder(_ path: String, holding expectedFiles: [String]) throws {
        switch entry(at: path) {
        case .directory: return
        case .missing:
            throw DataError(.missing, path: path,
                            expected: "a folder holding " + expectedFiles.joined(separator: ", "),
                            found: "nothing at that path")
        case .regularFile:
            throw DataError(.notAFolder, path: path,
                            expected: "a folder holding " + expectedFiles.joined(separator: ", "),
                            found: "a regular file")
        case .other(let what):
            throw DataError(.notAFolder, path: path, expected: "a folder", found: what)
        }
    }

    /// Reads a whole regular file. Refuses folders and special files before opening (a FIFO would
    /// block the reader forever), refuses empty files, and maps `errno` to a named error.
    static func readFile(_ path: String) throws -> [UInt8] {
        switch entry(at: path) {
        case .regularFile: break
        case .missing:
            throw DataError(.missing, path: path, expected: "a file", found: "nothing at that path")
        case .directory:
            throw DataError(.notAFile, path: path, expected: "a regular file", found: "a directory")
        case .other(let what):
            throw DataError(.notAFile, path: path, expected: "a regular file", found: what)
        }
        // O_NONBLOCK: if the path is swapped for a FIFO after the check, open must not block.
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw openError(errno: errno, path: path) }
        defer { close(fd) }

        var info = stat()
        guard fstat(fd, &info) == 0 else { throw openError(errno: errno, path: path) }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw DataError(.notAFile, path: path, expected: "a regular file", found: "a special file")
        }
        let size = Int(info.st_size)
        guard size > 0 else {
            throw DataError(.empty, path: path, expected: "data", found: "an empty file (0 bytes)")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < size {
            let got = bytes.withUnsafeMutableBytes { buffer in
                read(fd, buffer.baseAddress! + filled, size - filled)
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw openError(errno: errno, path: path)
            }
            if got == 0 { break }  // the file shrank while reading
            filled += got
        }
        guard filled == size else {
            throw DataError(.unreadable, path: path, expected: "\(size) bytes (the size stat reported)",
                            found: "\(filled) bytes before end of file; the file changed while being read")
        }
        return bytes
    }

    /// The error for a failed `open`/`read`/`fstat`, named after `errno`.
    static func openError(errno code: Int32, path: String) -> DataError {
        let reason = String(cString: strerror(code))
        switch code {
        case EACCES, EPERM:
            return DataError(.unreadable, path: path, expected: "a file this process may read",
                             found: "permission denied (\(reason))",
                             hint: "Check the file's mode and the folders above it (e.g. chmod a+r).")
        case ENOENT:
            return DataError(.missing, path: path, expected: "a file", found: "nothing at that path")
        case EISDIR:
            return DataError(.notAFile, path: path, expected: "a regular file", found: "a directory")
        default:
            return DataError(.unreadable, path: path, expected: "a readable file",
                             found: "error \(code): \(reason)")
        }
    }

    /// `folder/name` without doubling the slash.
    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }

    /// The folder part of a path ("." when there is none).
    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    /// The last path component.
    static func baseName(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }
}

/// Class-name text files: one name per line, UTF-8; blank lines and surrounding white space are
/// ignored (the official `batches.meta.txt` ends with blank lines).
enum NameList {
    static func parse(_ bytes: [UInt8], path: String, expectedCount: Int) throws -> [String] {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DataError(.badText, path: path, expected: "UTF-8 text, one class name per line",
                            found: "bytes that are not valid UTF-8")
        }
        let names = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { $0.trimmingWhiteSpace() }
            .filter { !$0.isEmpty }
        guard names.count == expectedCount else {
            throw DataError(.badText, path: path, expected: "\(expectedCount) class names, one per line",
                            found: "\(names.count) non-blank lines")
        }
        return names
    }
}

extension Substring {
    func trimmingWhiteSpace() -> String {
        var slice = self[...]
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
