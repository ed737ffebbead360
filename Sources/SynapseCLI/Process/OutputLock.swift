// One run per results folder. Every run and every --resume takes an exclusive flock(2) on
// <out>/.synapse.lock before it writes anything else there, and holds it until the process ends.
// The kernel drops the lock with the process however it ends (kill -9 included), so a stale lock
// file never blocks: only a live holder does. The holder writes "pid host start tool" into the
// file so that a refused run can name it. Holding the lock also makes the folder's leftovers ours
// to clean: temporaries of a killed writer (".<name>.partial-<pid>") are removed on taking it.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

final class OutputLock {
    static let fileName = ".synapse.lock"

    let folder: String
    private let fd: Int32

    private init(folder: String, fd: Int32) { self.folder = folder; self.fd = fd }

    deinit { close(fd) }   // closing the last descriptor releases the flock

    /// Creates `folder` if needed and takes its lock, or throws a one-line reason: the folder is
    /// not usable, or another live process holds it (named by PID, host and start time).
    static func acquire(_ folder: String, tool: String) throws -> OutputLock {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw FileWriteError(path: folder, "expected a folder; found a file") }
        } else {
            try Folder.makeFolders(folder)
        }
        let path = folder + "/" + fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            throw FileWriteError(path: folder, "the folder is not writable (cannot create \(fileName): \(String(cString: strerror(errno))))")
        }
        var status: Int32
        repeat { status = flock(fd, LOCK_EX | LOCK_NB) } while status != 0 && errno == EINTR
        guard status == 0 else {
            let code = errno
            defer { close(fd) }
            guard code == EWOULDBLOCK else {
                throw FileWriteError(path: path, "cannot lock (\(String(cString: strerror(code))))")
            }
            throw FolderInUse(folder: folder, holder: holderText(fd))
        }
        // Ours: say who holds it, for the next one that asks.
        let start = ISO8601DateFormatter().string(from: Date())
        let line = "pid \(getpid()) host \(hostName()) started \(start) tool \(tool)\n"
        _ = ftruncate(fd, 0)
        _ = line.withCString { pwrite(fd, $0, strlen($0), 0) }
        let lock = OutputLock(folder: folder, fd: fd)
        lock.removeLeftoverTemporaries()
        return lock
    }

    /// What the holder wrote, waiting briefly if it has only just taken the lock.
    private static func holderText(_ fd: Int32) -> String {
        for _ in 0..<20 {
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, 511, 0) }
            if n > 0 {
                let text = String(decoding: buffer[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                let fields = text.split(separator: " ").map(String.init)
                // "pid P host H started T tool X"
                if fields.count >= 8 { return "PID \(fields[1]) on \(fields[3]), started \(fields[5]) (\(fields[7]))" }
            }
            usleep(50_000)
        }
        return "a process that has not yet said who it is"
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, 255) == 0 else { return "unknown-host" }
        return String(cString: buffer)
    }

    /// Removes temporaries a killed writer left (AtomicFile's ".<name>.partial-<pid>" and write
    /// probes): no one else writes here while we hold the lock.
    func removeLeftoverTemporaries() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasPrefix(".") && (name.contains(".partial-") || name.hasPrefix(".synapse-write-probe-")) {
            unlink(folder + "/" + name)
        }
    }
}

/// Another live run holds the folder's lock.
struct FolderInUse: Error, CustomStringConvertible {
    let folder: String
    let holder: String
    var description: String {
        "\(folder) is in use by another run: \(holder); wait for it to end, or choose another --out"
    }
}
