// The tile tuner. Each tunable kernel has ONE table of candidate tiles (sets of -D defines, the
// first being the default); on a kernel's first use on a device the tuner checks every candidate
// against the reference backend on ragged shapes, times those that pass on a representative
// problem, and keeps the fastest. The choice is cached per device, driver and table, beside the
// compiled programs, so a device seen for the first time (a GPU, or a CPU unlike the one the
// defaults were picked on) gets measured tiles, and later runs start without timing anything.
// `synapse-bench --tune` retunes on demand and prints the candidates' times.
//
// Cache file (one per device + driver + style + table): text lines
//   SYNAPSE-TUNING-1 / key=<the key text, one line> / choice=<NAME=value ...> / check=<FNV-1a of
//   the lines above>
// A file whose check, key or choice does not match (a choice that is no longer a candidate
// included) is rebuilt: the kernel is retuned and the file rewritten.
import COpenCL
import Foundation
import SynapseEngine
import SynapseReference
import Synchronization

/// When the tuner times candidates.
public enum TuningPolicy: String, Equatable, Sendable {
    /// At a kernel's first use on a device, unless a cached choice exists (the default).
    case firstUse = "first-use"
    /// A cached choice when there is one, else the table's default; never times anything.
    case cached
    /// The table's default always (no timing, no cache).
    case off

    /// `SYNAPSE_TUNE=first-use|cached|off` (default first-use); any other value is an error.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> TuningPolicy {
        guard let text = env["SYNAPSE_TUNE"], !text.isEmpty else { return .firstUse }
        guard let policy = TuningPolicy(rawValue: text.lowercased()) else {
            throw BackendError("SYNAPSE_TUNE is '\(text)'; expected first-use, cached or off")
        }
        return policy
    }
}


/// One candidate as the tuner saw it.
public struct TuningCandidate: Sendable {
    public let defines: [String: String]
    /// Worst error against the reference over the check shapes, and the tolerance it had to meet.
    public let error: Double
    public let tolerance: Double
    /// Median seconds of the timing problem; nil when the candidate failed (never timed).
    public let seconds: Double?
    /// Why the candidate was rejected (wrong results, build or launch error); nil when it passed.
    public let rejection: String?
}

/// What tuning one table did.
public struct TuningReport: Sendable {
    public let kernel: String
    public let device: String
    /// The timing problem, e.g. "gemm NN M384 N384 K384".
    public let problem: String
    public let candidates: [TuningCandidate]
    public let chosen: [String: String]
}

/// Counters of what the tuner did, for tests and reports.
public struct TuningStatistics: Equatable, Sendable {
    /// Choices read from a cache file.
    public var loaded = 0
    /// Tables tuned (candidates checked and timed).
    public var tuned = 0
    /// Cache files found but unusable (bad check, key or choice); the table was retuned.
    public var rejected = 0
    /// Cache files written.
    public var written = 0
}

/// Choices already made in this process, by cache key: backends opened later (tests open many)
/// reuse them instead of timing again. The disk cache carries them across processes.
private enum ProcessTuningMemo {
    private static let choices = Mutex<[String: [String: String]]>([:])

    static func get(_ key: String) -> [String: String]? {
        choices.withLock { $0[key] }
    }

    static func set(_ key: String, _ value: [String: String]) {
        choices.withLock { $0[key] = value }
    }
}

extension OpenCLBackend {
    /// The key of a table's choice on this device: device, driver, style, kernel and the
    /// candidate list (a changed table is a new key), plus the cache folder so that separate
    /// caches (tests) do not share a process memo.
    func tuningKey(_ table: TileTable) -> String {
        let candidates = table.candidates.map(TileTable.text).joined(separator: "; ")
        return "device=\(device.name) driver=\(device.driverVersion) style=\(table.style.rawValue) "
            + "kernel=\(table.kernel) candidates=[\(candidates)] cache=\(cache.directory ?? "none")"
    }

    private func tuningPath(_ key: String) -> String? {
        cache.directory.map { $0 + "/tuning-" + hex64(fnv1a64(key.utf8)) + ".txt" }
    }

    /// The tiles `table`'s kernel uses on this device: the candidate being tried while tuning,
    /// else this backend's choice, else the cache file's, else (no file) one made earlier in this
    /// process, else (policy first-use, or a corrupt file, which is thereby rebuilt) a fresh
    /// tuning, else the default.
    public func tiles(_ table: TileTable) throws -> [String: String] {
        if let trying = tilesUnderTrial[table.kernel] { return trying }
        if let chosen = chosenTiles[table.kernel] { return chosen }
        let key = tuningKey(table)
        var choice: [String: String]? = nil
        if tuningPolicy != .off {
            switch loadTuning(table, key: key) {
            case .found(let cached): choice = cached
            case .absent: choice = ProcessTuningMemo.get(key)
            case .corrupt: choice = tuningPolicy == .firstUse ? nil : ProcessTuningMemo.get(key)
            }
            if choice == nil && tuningPolicy == .firstUse {
                // Said on stderr: the pause (a build per candidate) would otherwise look like a hang.
                FileHandle.standardError.write(Data(
                    "synapse: tuning \(table.kernel) tiles on \(device.name) (first use; cached afterwards, SYNAPSE_TUNE=cached skips it)\n".utf8))
                choice = try tune(table).chosen
            }
        }
        let result = choice ?? table.candidates[0]
        chosenTiles[table.kernel] = result
        return result
    }

    enum CachedTuning: Equatable {
        case found([String: String])
        case absent
        /// A file that fails its check, names another key, or a choice that is not a candidate.
        case corrupt
    }

    /// The cache file's choice for `table` (counted as loaded or rejected).
    func loadTuning(_ table: TileTable, key: String) -> CachedTuning {
        guard let path = tuningPath(key), let data = FileManager.default.contents(atPath: path) else { return .absent }
        guard let text = String(data: data, encoding: .utf8) else { tuningStatistics.rejected += 1; return .corrupt }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 4, lines[0] == "SYNAPSE-TUNING-1", lines[1] == "key=" + key,
              lines[2].hasPrefix("choice="), lines[3] == "check=" + hex64(fnv1a64(lines[0...2].joined(separator: "\n").utf8))
        else {
            tuningStatistics.rejected += 1
            return .corrupt
        }
        let choiceText = String(lines[2].dropFirst("choice=".count))
        guard let choice = table.candidates.first(where: { TileTable.text($0) == choiceText }) else {
            tuningStatistics.rejected += 1
            return .corrupt
        }
        tuningStatistics.loaded += 1
        ProcessTuningMemo.set(key, choice)
        return .found(choice)
    }

    private func storeTuning(_ choice: [String: String], key: String) {
        guard let path = tuningPath(key), let directory = cache.directory else { return }
        let body = "SYNAPSE-TUNING-1\nkey=\(key)\nchoice=\(TileTable.text(choice))"
        let text = body + "\ncheck=" + hex64(fnv1a64(body.utf8)) + "\n"
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
            if rename(temporary, path) == 0 {
                tuningStatistics.written += 1
            } else {
                try? FileManager.default.removeItem(atPath: temporary)
            }
        } catch {
            // The cache only saves time; the program cache already warns once about an unwritable folder.
        }
    }

    /// Checks every candidate of `table` against the reference backend, times those that pass,
    /// chooses the fastest and caches the choice (whatever the policy). Waits for the device.
    @discardableResult
    public func tune(_ table: TileTable) throws -> TuningReport {
        guard table.style == style else {
            throw BackendError("tuning \(table.kernel): a \(table.style.rawValue)-style table on a \(style.rawValue)-style backend")
        }
        guard !table.candidates.isEmpty else { throw BackendError("tuning \(table.kernel): the table has no candidates") }
        let probe = try TuningProbe.make(for: table.kernel, backend: self)
        try synchronize()
        // 1. Every candidate is checked (and warmed up: built, caches filled) before any timing.
        var results: [TuningCandidate] = []
        var times: [[Double]] = Array(repeating: [], count: table.candidates.count)
        func trial<T>(_ candidate: [String: String], _ body: () throws -> T) rethrows -> T {
            tilesUnderTrial[table.kernel] = candidate
            defer { tilesUnderTrial[table.kernel] = nil }
            return try body()
        }
        for candidate in table.candidates {
            do {
                let (error, tolerance) = try trial(candidate) { try probe.check() }
                guard error <= tolerance else {
                    results.append(TuningCandidate(defines: candidate, error: error, tolerance: tolerance, seconds: nil,
                                                   rejection: "wrong results: error \(error) > tolerance \(tolerance)"))
                    continue
                }
                _ = try trial(candidate) { try time(probe.run) }
                results.append(TuningCandidate(defines: candidate, error: error, tolerance: tolerance, seconds: nil,
                                               rejection: nil))
            } catch {
                // A candidate the device cannot build or launch (too much local memory, too
                // many work-items) is rejected, not fatal.
                try? synchronize()
                results.append(TuningCandidate(defines: candidate, error: .infinity, tolerance: 0, seconds: nil,
                                               rejection: "\(error)"))
            }
        }
        // 2. The passing candidates are timed in interleaved rounds, so that a burst of load on
        // a shared machine hits every candidate alike; the median of each is compared.
        for _ in 0..<Self.tuningRounds {
            for (i, candidate) in table.candidates.enumerated() where results[i].rejection == nil {
                times[i].append(try trial(candidate) { try time(probe.run) })
            }
        }
        results = results.enumerated().map { i, r in
            guard r.rejection == nil else { return r }
            let sorted = times[i].sorted()
            return TuningCandidate(defines: r.defines, error: r.error, tolerance: r.tolerance,
                                   seconds: sorted[sorted.count / 2], rejection: nil)
        }
        let passed = results.filter { $0.rejection == nil }
        guard let best = passed.min(by: { ($0.seconds ?? .infinity) < ($1.seconds ?? .infinity) }) else {
            let reasons = results.map { TileTable.text($0.defines) + ": " + ($0.rejection ?? "?") }.joined(separator: "; ")
            throw BackendError("tuning \(table.kernel) on \(device.name): no candidate computed correct results (\(reasons))")
        }
        let key = tuningKey(table)
        tuningStatistics.tuned += 1
        chosenTiles[table.kernel] = best.defines
        ProcessTuningMemo.set(key, best.defines)
        storeTuning(best.defines, key: key)
        return TuningReport(kernel: table.kernel, device: device.name, problem: probe.problem, candidates: results,
                            chosen: best.defines)
    }

    /// Timed runs per candidate (interleaved); the median counts.
    static var tuningRounds: Int { 5 }

    /// Runs `body` with `table`'s kernels on `candidate` (one of the table's candidates) instead of
    /// the tuned choice: for checking every candidate against the reference (`synapse-check
    /// --every-tile`, e.g. under Oclgrind), not for timing.
    public func withTiles<T>(_ table: TileTable, _ candidate: [String: String], _ body: () throws -> T) throws -> T {
        guard table.style == style else {
            throw BackendError("\(table.kernel): a \(table.style.rawValue)-style table on a \(style.rawValue)-style backend")
        }
        guard table.candidates.contains(candidate) else {
            throw BackendError("\(table.kernel): '\(TileTable.text(candidate))' is not one of its candidates")
        }
        let previous = tilesUnderTrial[table.kernel]
        tilesUnderTrial[table.kernel] = candidate
        defer { tilesUnderTrial[table.kernel] = previous }
        return try body()
    }

    /// Retunes every table of this backend's style (ignoring cached choices): `synapse-bench --tune`.
    public func tuneAll() throws -> [TuningReport] {
        try TileTables.all(for: style).map { try tune($0) }
    }
}
