// On-disk cache of compiled OpenCL program binaries, so a run starts without recompiling.
//
// Key: device name + driver version + build options + a hash of the full source text, so a
// new driver, new defines or an edited kernel each miss. File: a 64-bit FNV-1a hash of that key
// as the name; contents = magic, payload hash, payload length, payload (the device binary).
// Files are written to a temporary name and renamed, so a reader never sees half a file; a file
// that fails its hash or that the driver rejects is rebuilt from source and overwritten.
import Foundation

/// Where compiled kernels are cached.
public enum KernelCacheLocation: Equatable, Sendable {
    /// `SYNAPSE_KERNEL_CACHE` (a folder, or `off`), else `$XDG_CACHE_HOME/synapse/kernels`,
    /// else `~/.cache/synapse/kernels`.
    case environment
    /// This folder (created when missing).
    case directory(String)
    /// No disk cache: every backend compiles its programs.
    case off

    /// The folder this location resolves to, or nil when caching is off.
    public var resolvedPath: String? { resolvedPath(environment: ProcessInfo.processInfo.environment) }

    /// The folder this location resolves to under the environment variables `env`.
    public func resolvedPath(environment env: [String: String]) -> String? {
        switch self {
        case .off: return nil
        case .directory(let path): return path
        case .environment:
            if let value = env["SYNAPSE_KERNEL_CACHE"], !value.isEmpty {
                return value.lowercased() == "off" ? nil : value
            }
            if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/synapse/kernels" }
            let home = env["HOME"] ?? NSHomeDirectory()
            return home + "/.cache/synapse/kernels"
        }
    }
}

/// Counters of what the cache did, for tests and for `synapse-check`'s summary.
public struct KernelCacheStatistics: Equatable, Sendable {
    /// Programs loaded from a cache file.
    public var hits = 0
    /// Programs compiled from source (no file, or cache off).
    public var compiled = 0
    /// Cache files found but unusable (bad hash, or the driver rejected the binary); rebuilt.
    public var rejected = 0
    /// Cache files written.
    public var written = 0
}

/// 64-bit FNV-1a over bytes: a fast, stable hash (not cryptographic; with a few dozen programs
/// per device an accidental collision of two keys is practically impossible).
func fnv1a64<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
}

func hex64(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}

struct ProgramCache {
    let directory: String?
    private(set) var warnedAboutWriting = false

    static let magic = Array("SYNAPSE-KERNEL-CACHE-1\n".utf8)

    /// The cache file for a program, or nil when caching is off.
    func path(deviceName: String, driver: String, options: String, source: String) -> String? {
        guard let directory else { return nil }
        let key = "device=\(deviceName)\ndriver=\(driver)\noptions=\(options)\nsource=\(hex64(fnv1a64(source.utf8)))\n"
        return directory + "/" + hex64(fnv1a64(key.utf8)) + ".bin"
    }

    /// The binary stored at `path`; nil when absent. Throws when present but corrupt.
    func load(_ path: String) throws -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let bytes = [UInt8](data)
        let header = Self.magic.count + 16
        guard bytes.count >= header, Array(bytes[0..<Self.magic.count]) == Self.magic else {
            throw CacheFileCorrupt(path: path, reason: "bad header")
        }
        func word(_ at: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in 0..<8 { value |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
            return value
        }
        let hash = word(Self.magic.count)
        let length = word(Self.magic.count + 8)
        let payload = Array(bytes[header...])
        guard UInt64(payload.count) == length, fnv1a64(payload) == hash else {
            throw CacheFileCorrupt(path: path, reason: "length or hash mismatch")
        }
        return payload
    }

    /// Writes `binary` to `path` atomically (temporary file + rename). Failure is reported once
    /// on standard error and otherwise ignored: the cache only saves time.
    mutating func store(_ binary: [UInt8], at path: String) -> Bool {
        guard let directory else { return false }
        var bytes = Self.magic
        func append(_ value: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) } }
        append(fnv1a64(binary))
        append(UInt64(binary.count))
        bytes += binary
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, path) == 0 else {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(atPath: temporary)
                throw BackendCacheWriteError(message: "rename to \(path): \(reason)")
            }
            return true
        } catch {
            if !warnedAboutWriting {
                warnedAboutWriting = true
                // One line: Foundation's error text can span several.
                let reason = ((error as? BackendCacheWriteError)?.message ?? error.localizedDescription)
                    .split(whereSeparator: \.isNewline).joined(separator: " ")
                FileHandle.standardError.write(
                    "synapse: warning: cannot write kernel cache in \(directory) (\(reason)); continuing without it\n"
                        .data(using: .utf8) ?? Data())
            }
            return false
        }
    }
}

struct CacheFileCorrupt: Error { let path: String; let reason: String }
struct BackendCacheWriteError: Error { let message: String }
