// Writing result and checkpoint files so that a run killed at any moment leaves every file either
// as it was or complete: write a temporary file in the same folder, flush it, rename it over the
// target (rename within one file system is atomic), then flush the folder so the rename survives a
// power cut.

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file or folder could not be written.
public struct FileWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public init(path: String, _ reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }
}

enum AtomicFile {
    /// Replaces `path` with `bytes` atomically.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temporary = (folder.isEmpty ? "." : folder) + "/.\(name).partial-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw FileWriteError(path: temporary, "cannot create (\(String(cString: strerror(errno))))")
        }
        var written = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + written, buffer.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                written += n
            }
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        guard failure == 0 else {
            unlink(temporary)
            throw FileWriteError(path: path, "cannot write (\(String(cString: strerror(failure))))")
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw FileWriteError(path: path, "cannot rename the finished file into place (\(String(cString: strerror(code))))")
        }
        let folderFD = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderFD >= 0 {
            _ = fsync(folderFD)
            close(folderFD)
        }
    }

    /// Replaces `path` with UTF-8 `text` atomically.
    static func write(text: String, to path: String) throws {
        try write(Array(text.utf8), to: path)
    }
}

enum Folder {
    /// `mkdir -p`, with the failing component and errno's reason in the error.
    static func makeFolders(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw FileWriteError(path: path, "cannot create the folder \(prefix) (\(String(cString: strerror(errno))))")
            }
            if !isFolder(prefix) {
                throw FileWriteError(path: path, "cannot create the folder: \(prefix) exists and is not a folder")
            }
            prefix += "/"
        }
    }

    static func exists(_ path: String) -> Bool {
        FileManager.default.fileExists(atPath: path)
    }

    static func isFolder(_ path: String) -> Bool {
        var isFolder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && isFolder.boolValue
    }
}
