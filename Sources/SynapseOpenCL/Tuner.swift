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

/// The candidate tiles of one kernel: its one home. `candidates[0]` is the default.
public struct TileTable: Sendable {
    /// The kernel the defines are for and, after a dot, the shape class they serve, e.g.
    /// "gemm_cpu" or "conv_fwd_cpu.narrow"; it also names the problem the tuner checks and
    /// times the candidates on.
    public let kernel: String
    public let style: KernelStyle
    public let candidates: [[String: String]]
    /// The backend ops (their `OpContract` names) whose kernels read this table, so that
    /// `synapse-check --every-tile` runs each candidate on those ops' checks; nil: every op.
    public let ops: [String]?

    public init(kernel: String, style: KernelStyle, candidates: [[String: String]], ops: [String]? = nil) {
        self.kernel = kernel; self.style = style; self.candidates = candidates; self.ops = ops
    }

    /// "MR=6 NR=32": a candidate as text (names sorted), as the cache stores it.
    public static func text(_ defines: [String: String]) -> String {
        defines.keys.sorted().map { "\($0)=\(defines[$0] ?? "")" }.joined(separator: " ")
    }
}

/// Every tunable kernel's table. Constraints a candidate must meet: CPU GEMM NR a multiple of
/// 16 (float16 lanes); GPU GEMM TM a multiple of WM, TN of WN, (TN/WN)·(TM/WM) work-items per
/// group within every device's minimum of 256, TK·(TM + TN + 2)·4 bytes of local memory.
public enum TileTables {
    /// CPU GEMM: MR rows × NR columns of C per work-item. 6 × 32 measured best on PoCL 3.1 on
    /// two Zen 4 cores; the others are the neighbours worth trying on other CPUs.
    public static let gemmCPU = TileTable(kernel: "gemm_cpu", style: .cpu, candidates: [
        ["MR": "6", "NR": "32"], ["MR": "4", "NR": "32"], ["MR": "8", "NR": "32"],
        ["MR": "8", "NR": "16"], ["MR": "4", "NR": "48"],
    ], ops: ["gemm"])
    /// The dense layers' fused GEMMs (gemm_cpu_fused: denseForward, denseBackwardWeight,
    /// denseBackwardInput): the same MR × NR block as gemm_cpu, but tuned on the split-MNIST
    /// layer, where B is read in place when NR divides the unit count (256) and packed otherwise.
    public static let gemmFusedCPU = TileTable(kernel: "gemm_cpu_fused", style: .cpu, candidates: [
        ["MR": "6", "NR": "32"], ["MR": "4", "NR": "32"], ["MR": "8", "NR": "32"],
        ["MR": "8", "NR": "16"], ["MR": "4", "NR": "48"], ["MR": "4", "NR": "64"],
    ], ops: denseOps)
    /// GPU GEMM: a TM × TN tile of C per work-group, TK deep, WM × WN per work-item.
    public static let gemmGPU = TileTable(kernel: "gemm_gpu", style: .gpu, candidates: [
        ["TM": "64", "TN": "64", "TK": "16", "WM": "8", "WN": "8"],
        ["TM": "64", "TN": "64", "TK": "16", "WM": "4", "WN": "4"],
        ["TM": "32", "TN": "64", "TK": "16", "WM": "4", "WN": "8"],
        ["TM": "128", "TN": "64", "TK": "8", "WM": "8", "WN": "8"],
        ["TM": "128", "TN": "128", "TK": "8", "WM": "8", "WN": "8"],
    ], ops: ["gemm"] + denseOps)
    /// The dense ops, GEMMs with fused epilogues (`gemm_cpu_fused` in CPU style, `gemm_gpu` in GPU style).
    private static let denseOps = ["denseForward", "denseBackwardWeight", "denseBackwardInput"]
    /// The ops that run the forward convolution kernels (the input gradient is a forward convolution of dOutput).
    private static let convForwardOps = ["conv2dForward", "conv2dBackwardInput"]

    /// CPU forward convolution (also run by the input gradient) on output rows of more than 16:
    /// MR filters × NR positions of one output row per work-item (conv_fwd_cpu; NR a multiple of
    /// 16, at most 64: the padded copies' slack). 8 × 32 measured best on PoCL 3.1 on two Zen 4
    /// cores. No flat-wide candidates: a 30- or 32-wide row wastes no more lanes than a flat
    /// tile, and on the CNN's conv1 (3 channels: 27 fmas per stored position) the flat tile's
    /// lane-by-lane store made the forward 2.5× slower when the tuner picked it on conv2.
    public static let convForwardWide = TileTable(kernel: "conv_fwd_cpu.wide", style: .cpu, candidates: [
        ["MR": "8", "NR": "32"], ["MR": "4", "NR": "32"], ["MR": "6", "NR": "32"], ["MR": "12", "NR": "16"],
        ["MR": "8", "NR": "16"],
    ], ops: convForwardOps)
    /// The same on rows of at most 16 (the 13- and 15-wide layers), where a row tile is one
    /// 16-lane vector (Q/16 of its lanes used, each broadcast weight feeding one fma). FLAT=1
    /// candidates: NR consecutive positions of the flat padded plane per work-item.
    public static let convForwardNarrow = TileTable(kernel: "conv_fwd_cpu.narrow", style: .cpu, candidates: [
        ["MR": "8", "NR": "32", "FLAT": "1"], ["MR": "8", "NR": "48", "FLAT": "1"], ["MR": "4", "NR": "64", "FLAT": "1"],
        ["MR": "12", "NR": "32", "FLAT": "1"], ["MR": "8", "NR": "16"], ["MR": "4", "NR": "16"],
    ], ops: convForwardOps)

    /// GPU convolution, forward and input gradient (conv_fwd_gpu): TM filters × TN positions per
    /// work-group, TK deep, WM × WN per work-item (the GEMM's constraints); layers with ≤ 32
    /// filters scale TM and WM down to TM = 32 (see `ConvolutionTiles.gpuConv`), so every
    /// candidate's WM·32 must be a multiple of its TM.
    public static let convGPU = TileTable(kernel: "conv_fwd_gpu", style: .gpu, candidates: gpuConvolution, ops: convForwardOps)
    /// GPU convolution weight gradient (conv_dw_gpu): the same tile parameters over filters ×
    /// (c, r, s) columns, summed over positions; its own table because its operands differ.
    public static let convWeightGPU = TileTable(kernel: "conv_dw_gpu", style: .gpu, candidates: gpuConvolution,
                                                ops: ["conv2dBackwardWeight"])
    /// The GPU convolution tables' candidates (both kernels share the tile parameters), the first
    /// being the old fixed tile.
    private static let gpuConvolution: [[String: String]] = [
        ["TM": "64", "TN": "64", "TK": "16", "WM": "8", "WN": "8"],
        ["TM": "64", "TN": "64", "TK": "16", "WM": "4", "WN": "4"],
        ["TM": "64", "TN": "128", "TK": "8", "WM": "8", "WN": "8"],
        ["TM": "128", "TN": "64", "TK": "8", "WM": "8", "WN": "8"],
        ["TM": "64", "TN": "32", "TK": "16", "WM": "4", "WN": "4"],
    ]

    /// CPU 3×3 convolutions, per op and output-width class (as the direct kernel's: rows of
    /// more than 16, or at most 16): the direct kernel (conv_fwd_cpu with its own table's tiles,
    /// the default) or Winograd F(2×2, 3×3) (wino_fwd_cpu, Winograd.swift) with MR filters × NV
    /// vectors of 16 tiles per work-item. Only shapes Winograd serves consult these (3×3, 8 to 64 channels).
    public static let conv3x3ForwardWide = TileTable(kernel: "conv3x3_fwd_cpu.wide", style: .cpu, candidates: winograd,
                                                     ops: ["conv2dForward"])
    public static let conv3x3ForwardNarrow = TileTable(kernel: "conv3x3_fwd_cpu.narrow", style: .cpu, candidates: winograd,
                                                       ops: ["conv2dForward"])
    public static let conv3x3BackwardInputWide = TileTable(kernel: "conv3x3_dx_cpu.wide", style: .cpu, candidates: winograd,
                                                           ops: ["conv2dBackwardInput"])
    public static let conv3x3BackwardInputNarrow = TileTable(kernel: "conv3x3_dx_cpu.narrow", style: .cpu,
                                                             candidates: winograd, ops: ["conv2dBackwardInput"])
    /// CPU 3×3 weight gradients, per output-width class (rows of more than 16, or at most 16):
    /// the direct kernel (conv_dw_cpu with its fixed tiles, the default) or Winograd
    /// F(3×3, 2×2) in the transform domain (wino_dw_cpu, Winograd.swift) with NB vectors of 16
    /// tiles per block and ITEMS work-items (partial sums) per compute unit. Only shapes Winograd
    /// serves consult these (3×3, 8 to 64 input channels, output rows of more than 8).
    public static let conv3x3BackwardWeightWide = TileTable(kernel: "conv3x3_dw_cpu.wide", style: .cpu,
                                                            candidates: winogradWeight, ops: ["conv2dBackwardWeight"])
    public static let conv3x3BackwardWeightNarrow = TileTable(kernel: "conv3x3_dw_cpu.narrow", style: .cpu,
                                                              candidates: winogradWeight, ops: ["conv2dBackwardWeight"])
    private static let winogradWeight: [[String: String]] = [
        ["ALGO": "direct"], ["ALGO": "winograd", "NB": "4", "ITEMS": "2"], ["ALGO": "winograd", "NB": "2", "ITEMS": "2"],
        ["ALGO": "winograd", "NB": "2", "ITEMS": "8"],
    ]
    private static let winograd: [[String: String]] = [
        ["ALGO": "direct"], ["ALGO": "winograd", "MR": "16", "NV": "1"], ["ALGO": "winograd", "MR": "8", "NV": "1"],
        ["ALGO": "winograd", "MR": "8", "NV": "2"],
    ]

    /// The tables of one kernel style (the direct kernel's before the algorithm choices, which
    /// time the direct kernel with its tuned tiles).
    public static func all(for style: KernelStyle) -> [TileTable] {
        [gemmCPU, gemmFusedCPU, gemmGPU, convForwardWide, convForwardNarrow, convGPU, convWeightGPU,
         conv3x3ForwardWide, conv3x3ForwardNarrow, conv3x3BackwardInputWide,
         conv3x3BackwardInputNarrow, conv3x3BackwardWeightWide, conv3x3BackwardWeightNarrow].filter { $0.style == style }
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

/// The problem a table's candidates are checked and timed on: `check` runs the op on ragged
/// shapes here and on the reference backend and returns the worst error and its tolerance;
/// `run` enqueues the timing problem once.
struct TuningProbe {
    let problem: String
    let check: () throws -> (error: Double, tolerance: Double)
    let run: () throws -> Void

    static func make(for kernel: String, backend: OpenCLBackend) throws -> TuningProbe {
        switch kernel {
        case "gemm_cpu", "gemm_gpu": return try gemm(backend)
        case "gemm_cpu_fused": return try dense(backend)
        // Ragged checks (odd channels, widths not a multiple of 16, batch ≥ 5 so the in-place
        // path runs too); timed on the CNN's conv2 (30 wide) or conv4 (13 wide) at a small batch.
        case "conv_fwd_cpu.wide":
            return try convForward(backend, checks: [ConvShape(batch: 6, inChannels: 5, height: 9, width: 37, outChannels: 11, padding: 1),
                                                     ConvShape(batch: 2, inChannels: 3, height: 20, width: 19, outChannels: 13, padding: 0)],
                                   timed: ConvShape(batch: 16, inChannels: 32, height: 32, width: 32, outChannels: 32, padding: 0))
        case "conv_fwd_cpu.narrow":
            return try convForward(backend, checks: [ConvShape(batch: 6, inChannels: 6, height: 11, width: 13, outChannels: 19, padding: 0),
                                                     ConvShape(batch: 2, inChannels: 7, height: 9, width: 5, outChannels: 13, padding: 1)],
                                   timed: ConvShape(batch: 32, inChannels: 64, height: 15, width: 15, outChannels: 64, padding: 0))
        // GPU style: checked on ragged shapes with ≤ 32 filters (the scaled tile) and more, pad
        // 0, 1 and 2; timed on the CNN's conv4 at batch 64 (a GPU needs enough work-groups).
        case "conv_fwd_gpu":
            return try convForward(backend, checks: gpuConvChecks,
                                   timed: ConvShape(batch: 64, inChannels: 64, height: 15, width: 15, outChannels: 64, padding: 0))
        case "conv_dw_gpu":
            return try convWeightGradient(backend, checks: gpuConvChecks,
                                          timed: [ConvShape(batch: 64, inChannels: 64, height: 15, width: 15, outChannels: 64, padding: 0)])
        default:
            if let probe = try conv3x3Algorithm(kernel, backend: backend) { return probe }
            throw BackendError("the tuner has no problem for kernel '\(kernel)'")
        }
    }

    /// The GPU convolution tables' ragged check shapes: filters ≤ 32 and > 32 (TM scaled or not),
    /// positions and (c, r, s) columns not multiples of any tile, pad 0, 1, 2.
    private static let gpuConvChecks = [
        ConvShape(batch: 3, inChannels: 5, height: 9, width: 11, outChannels: 13, padding: 1),
        ConvShape(batch: 2, inChannels: 7, height: 10, width: 13, outChannels: 37, padding: 0),
        ConvShape(batch: 2, inChannels: 3, height: 7, width: 6, outChannels: 70, padding: 2),
    ]

    /// Uploads `values` into a fresh tensor of `backend`.
    private static func tensor(_ backend: any Backend, _ values: [Float]) throws -> Tensor {
        let t = Tensor(storage: try backend.allocate(.float32, count: values.count), shape: [values.count])
        try backend.upload(values, to: t)
        return t
    }

    /// Forward convolution with bias and ReLU: checked on `checks`, timed on `timed`.
    private static func convForward(_ backend: OpenCLBackend, checks: [ConvShape], timed: ConvShape) throws -> TuningProbe {
        let reference = ReferenceBackend()
        var random = SeededGenerator(seed: 0xC0F1)
        func uniform(_ n: Int) -> [Float] { (0..<n).map { _ in 2 * random.nextFloat() - 1 } }
        var cases: [(shape: ConvShape, x: [Float], w: [Float], b: [Float], expected: [Float])] = []
        for s in checks {
            let x = uniform(s.inputCount), w = uniform(s.weightCount), b = uniform(s.outChannels)
            let out = try tensor(reference, [Float](repeating: 0, count: s.outputCount))
            try reference.conv2dForward(s, input: try tensor(reference, x), weight: try tensor(reference, w),
                                        bias: try tensor(reference, b), relu: true, output: out)
            cases.append((s, x, w, b, try reference.download(out)))
        }
        let tx = try tensor(backend, uniform(timed.inputCount)), tw = try tensor(backend, uniform(timed.weightCount))
        let tb = try tensor(backend, uniform(timed.outChannels))
        let tout = try tensor(backend, [Float](repeating: 0, count: timed.outputCount))
        return TuningProbe(problem: "conv forward \(timed)", check: {
            var worst = (error: 0.0, tolerance: 1.0)
            for c in cases {
                let out = try tensor(backend, [Float](repeating: .nan, count: c.shape.outputCount))
                try backend.conv2dForward(c.shape, input: try tensor(backend, c.x), weight: try tensor(backend, c.w),
                                          bias: try tensor(backend, c.b), relu: true, output: out)
                let error = Tolerance.maxError(try backend.download(out), c.expected)
                let tolerance = Tolerance.forReduction(length: c.shape.inChannels * c.shape.kernelSize * c.shape.kernelSize + 1)
                if !(error / tolerance <= worst.error / worst.tolerance) { worst = (error, tolerance) }
            }
            return worst
        }, run: {
            try backend.conv2dForward(timed, input: tx, weight: tw, bias: tb, relu: true, output: tout)
        })
    }

    /// Convolution weight and bias gradient: checked on `checks`, timed on the `timed` shapes
    /// run one after the other.
    static func convWeightGradient(_ backend: OpenCLBackend, checks: [ConvShape], timed: [ConvShape]) throws -> TuningProbe {
        let reference = ReferenceBackend()
        var random = SeededGenerator(seed: 0xC0D3)
        func uniform(_ n: Int) -> [Float] { (0..<n).map { _ in 2 * random.nextFloat() - 1 } }
        var cases: [(shape: ConvShape, x: [Float], dy: [Float], expected: [Float])] = []
        for s in checks {
            let x = uniform(s.inputCount), dy = uniform(s.outputCount)
            let dw = try tensor(reference, [Float](repeating: 0, count: s.weightCount))
            let db = try tensor(reference, [Float](repeating: 0, count: s.outChannels))
            try reference.conv2dBackwardWeight(s, input: try tensor(reference, x), dOutput: try tensor(reference, dy),
                                               dWeight: dw, dBias: db)
            cases.append((s, x, dy, try reference.download(dw) + reference.download(db)))
        }
        let operands = try timed.map { s in
            (shape: s, x: try tensor(backend, uniform(s.inputCount)), dy: try tensor(backend, uniform(s.outputCount)),
             dw: try tensor(backend, [Float](repeating: 0, count: s.weightCount)),
             db: try tensor(backend, [Float](repeating: 0, count: s.outChannels)))
        }
        return TuningProbe(problem: "conv weight gradient " + timed.map { "\($0)" }.joined(separator: " + "), check: {
            var worst = (error: 0.0, tolerance: 1.0)
            for c in cases {
                let dw = try tensor(backend, [Float](repeating: .nan, count: c.shape.weightCount))
                let db = try tensor(backend, [Float](repeating: .nan, count: c.shape.outChannels))
                try backend.conv2dBackwardWeight(c.shape, input: try tensor(backend, c.x), dOutput: try tensor(backend, c.dy),
                                                 dWeight: dw, dBias: db)
                let error = Tolerance.maxError(try backend.download(dw) + backend.download(db), c.expected)
                // Each gradient sums over the batch and the output positions.
                let tolerance = Tolerance.forConvolutionWeight(batch: c.shape.batch, outHeight: c.shape.outHeight,
                                                               outWidth: c.shape.outWidth, kernelSize: c.shape.kernelSize)
                if !(error / tolerance <= worst.error / worst.tolerance) { worst = (error, tolerance) }
            }
            return worst
        }, run: {
            for o in operands {
                try backend.conv2dBackwardWeight(o.shape, input: o.x, dOutput: o.dy, dWeight: o.dw, dBias: o.db)
            }
        })
    }

    /// The fused dense GEMMs: checked on ragged shapes (unit counts that are and are not
    /// multiples of every NR, so both the packed and the in-place B paths run), timed on one
    /// training step's worth of the split-MNIST network's first layer at batch 64: forward with
    /// bias and ReLU (784 → 256), weight and bias gradient, and the masked input gradient of the
    /// second layer (256 → 256).
    private static func dense(_ backend: OpenCLBackend) throws -> TuningProbe {
        let reference = ReferenceBackend()
        var random = SeededGenerator(seed: 0xDE5E)
        func uniform(_ n: Int) -> [Float] { (0..<n).map { _ in 2 * random.nextFloat() - 1 } }
        // (batch, inputs, units) and, for each op, its inputs and expected outputs.
        struct Case { let n: Int, inputs: Int, units: Int, x: [Float], w: [Float], b: [Float], dy: [Float], mask: [Float]
                      let y: [Float], dw: [Float], db: [Float], dx: [Float] }
        var cases: [Case] = []
        for (n, inputs, units) in [(13, 37, 96), (7, 70, 45), (9, 33, 64)] {
            let x = uniform(n * inputs), w = uniform(inputs * units), b = uniform(units), dy = uniform(n * units)
            let mask = uniform(n * inputs).map { max(0, $0) }
            let y = try tensor(reference, [Float](repeating: 0, count: n * units))
            let dw = try tensor(reference, [Float](repeating: 0, count: inputs * units))
            let db = try tensor(reference, [Float](repeating: 0, count: units))
            let dx = try tensor(reference, [Float](repeating: 0, count: n * inputs))
            try reference.denseForward(input: try tensor(reference, x), weight: try tensor(reference, w),
                                       bias: try tensor(reference, b), batch: n, inputs: inputs, units: units,
                                       relu: true, output: y)
            try reference.denseBackwardWeight(input: try tensor(reference, x), dOutput: try tensor(reference, dy),
                                              batch: n, inputs: inputs, units: units, dWeight: dw, dBias: db)
            try reference.denseBackwardInput(dOutput: try tensor(reference, dy), weight: try tensor(reference, w),
                                             batch: n, inputs: inputs, units: units,
                                             reluOutput: try tensor(reference, mask), dInput: dx)
            cases.append(Case(n: n, inputs: inputs, units: units, x: x, w: w, b: b, dy: dy, mask: mask,
                              y: try reference.download(y), dw: try reference.download(dw),
                              db: try reference.download(db), dx: try reference.download(dx)))
        }
        let (n, inputs, units) = (64, 784, 256)
        let x = try tensor(backend, uniform(n * inputs)), w1 = try tensor(backend, uniform(inputs * units))
        let b = try tensor(backend, uniform(units)), y = try tensor(backend, uniform(n * units))
        let dy = try tensor(backend, uniform(n * units)), w2 = try tensor(backend, uniform(units * units))
        let dw = try tensor(backend, uniform(inputs * units)), db = try tensor(backend, uniform(units))
        let dx = try tensor(backend, uniform(n * units))
        return TuningProbe(problem: "dense N\(n) \(inputs)→\(units) forward + weight gradient, \(units)→\(units) input gradient", check: {
            var worst = (error: 0.0, tolerance: 1.0)
            func note(_ error: Double, _ tolerance: Double) {
                if !(error / tolerance <= worst.error / worst.tolerance) { worst = (error, tolerance) }
            }
            for c in cases {
                let nan = { (count: Int) in try tensor(backend, [Float](repeating: .nan, count: count)) }
                let y = try nan(c.n * c.units), dw = try nan(c.inputs * c.units), db = try nan(c.units)
                let dx = try nan(c.n * c.inputs)
                let x = try tensor(backend, c.x), w = try tensor(backend, c.w), dy = try tensor(backend, c.dy)
                try backend.denseForward(input: x, weight: w, bias: try tensor(backend, c.b), batch: c.n, inputs: c.inputs,
                                         units: c.units, relu: true, output: y)
                try backend.denseBackwardWeight(input: x, dOutput: dy, batch: c.n, inputs: c.inputs, units: c.units,
                                                dWeight: dw, dBias: db)
                try backend.denseBackwardInput(dOutput: dy, weight: w, batch: c.n, inputs: c.inputs, units: c.units,
                                               reluOutput: try tensor(backend, c.mask), dInput: dx)
                note(Tolerance.maxError(try backend.download(y), c.y), Tolerance.forReduction(length: c.inputs + 1))
                note(Tolerance.maxError(try backend.download(dw), c.dw), Tolerance.forReduction(length: c.n + 1))
                note(Tolerance.maxError(try backend.download(db), c.db), Tolerance.forReduction(length: c.n + 1))
                note(Tolerance.maxError(try backend.download(dx), c.dx), Tolerance.forReduction(length: c.units + 1))
            }
            return worst
        }, run: {
            try backend.denseForward(input: x, weight: w1, bias: b, batch: n, inputs: inputs, units: units, relu: true, output: y)
            try backend.denseBackwardWeight(input: x, dOutput: dy, batch: n, inputs: inputs, units: units, dWeight: dw, dBias: db)
            try backend.denseBackwardInput(dOutput: dy, weight: w2, batch: n, inputs: units, units: units, reluOutput: y,
                                           dInput: dx)
        })
    }

    /// GEMM: checked on four ragged shapes (one per transpose combination, none a multiple of
    /// any tile, β ≠ 0 so the old C matters), timed on a square 384 (CPU) or 512 (GPU) product.
    private static func gemm(_ backend: OpenCLBackend) throws -> TuningProbe {
        let reference = ReferenceBackend()
        var random = SeededGenerator(seed: 0x7E1E)
        struct Case { let ta: Bool, tb: Bool, m: Int, n: Int, k: Int, a: [Float], b: [Float], c: [Float], expected: [Float] }
        var cases: [Case] = []
        for (ta, tb, m, n, k) in [(false, false, 67, 45, 33), (true, false, 13, 70, 129),
                                  (false, true, 130, 17, 65), (true, true, 9, 97, 20)] {
            let a = (0..<(m * k)).map { _ in 2 * random.nextFloat() - 1 }
            let b = (0..<(k * n)).map { _ in 2 * random.nextFloat() - 1 }
            let c = (0..<(m * n)).map { _ in 2 * random.nextFloat() - 1 }
            func tensor(_ backend: any Backend, _ values: [Float]) throws -> Tensor {
                let t = Tensor(storage: try backend.allocate(.float32, count: values.count), shape: [values.count])
                try backend.upload(values, to: t)
                return t
            }
            let rc = try tensor(reference, c)
            try reference.gemm(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 1.25,
                               a: try tensor(reference, a), b: try tensor(reference, b), beta: -0.5, c: rc)
            cases.append(Case(ta: ta, tb: tb, m: m, n: n, k: k, a: a, b: b, c: c, expected: try reference.download(rc)))
        }
        let size = backend.style == .cpu ? 384 : 512
        func zeros(_ count: Int) throws -> Tensor {
            Tensor(storage: try backend.allocate(.float32, count: count), shape: [count])
        }
        let ta = try zeros(size * size), tb = try zeros(size * size), tc = try zeros(size * size)
        try backend.upload((0..<(size * size)).map { _ in random.nextFloat() }, to: ta)
        try backend.upload((0..<(size * size)).map { _ in random.nextFloat() }, to: tb)
        return TuningProbe(problem: "gemm NN M\(size) N\(size) K\(size)", check: {
            // The case furthest from its own tolerance speaks for all.
            var worst = (error: 0.0, tolerance: 1.0)
            for c in cases {
                let a = try zeros(c.a.count), b = try zeros(c.b.count), out = try zeros(c.c.count)
                try backend.upload(c.a, to: a)
                try backend.upload(c.b, to: b)
                try backend.upload(c.c, to: out)
                try backend.gemm(transposeA: c.ta, transposeB: c.tb, m: c.m, n: c.n, k: c.k, alpha: 1.25,
                                 a: a, b: b, beta: -0.5, c: out)
                let error = Tolerance.maxError(try backend.download(out), c.expected)
                let tolerance = Tolerance.forReduction(length: c.k + 1)
                if !(error / tolerance <= worst.error / worst.tolerance) { worst = (error, tolerance) }
            }
            return worst
        }, run: {
            try backend.gemm(transposeA: false, transposeB: false, m: size, n: size, k: size, alpha: 1,
                             a: ta, b: tb, beta: 0, c: tc)
        })
    }
}
