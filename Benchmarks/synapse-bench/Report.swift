// The results: a table on stdout and the JSON file (keys in snake_case).
import Foundation

/// Everything one run of synapse-bench measured.
struct BenchReport: Encodable {
    var device: String
    var deviceKind: String
    var kernelStyle: String?
    var date: String
    var command: String
    var batch: Int
    var units: Int
    var warmup: Int
    var repeats: Int
    var stepsPerRun: Int
    var siStrength: Float
    /// Training images/s with SI on (c = siStrength), and with c = 0, from the same run.
    var trainImagesPerSecond: Double?
    var trainImagesPerSecondC0: Double?
    /// Median step time with SI on divided by the one with c = 0.
    var siOverhead: Double?
    var inferImagesPerSecond: Double?
    var trainStepMsRuns: [Double]?
    var trainStepMsRunsC0: [Double]?
    var inferMsRuns: [Double]?
    /// Peak resident memory of this process (getrusage), bytes.
    var peakRssBytes: Int
    /// The most device memory the backend held at once, bytes (the step's backend).
    var peakDeviceBytes: Int?
    var peakGflops: Double?
    var peakGflopsSource: String?
    var peakGbps: Double?
    var peakGbpsSource: String?
    var ops: [OpResult]
    var profile: StepProfile?
    /// Converged (denormal-gradient) steps against ordinary ones: flushed first, then kept.
    var denormal: [DenormalFigures] = []
    /// What `--tune` measured: every candidate of every table.
    var tuning: [TuningRow] = []
    /// `--clblast`: the library loaded and CLBlast's SGEMM beside ours per shape.
    var clblastLibrary: String?
    var clblast: [CLBlastRow] = []
    var failures: [String]

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }
}

/// `value` with `digits` digits after the point.
func fixed(_ value: Double, _ digits: Int) -> String {
    value.isFinite ? String(format: "%.\(digits)f", value) : "\(value)"
}

/// `value` with `digits` significant digits.
func significant(_ value: Double, _ digits: Int) -> String {
    value.isFinite ? String(format: "%.\(digits)g", value) : "\(value)"
}

/// `text` padded with spaces to `width` characters (left-aligned), or right-aligned when `right`.
func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    guard text.count < width else { return text }
    let fill = String(repeating: " ", count: width - text.count)
    return right ? fill + text : text + fill
}

/// Peak resident set size of this process in bytes (Linux reports kilobytes).
func peakResidentBytes() -> Int {
    var usage = rusage()
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
    return Int(usage.ru_maxrss) * 1024
}

extension BenchReport {
    /// One line with the headline figures, starting "SUMMARY" (the peers' scripts print the same kind).
    func summaryLine() -> String {
        var fields = ["SUMMARY synapse-bench", "device=\(device.replacingOccurrences(of: " ", with: "_"))"]
        if let t = trainImagesPerSecond { fields.append("train=\(fixed(t, 1)) img/s (SI c=\(siStrength))") }
        if let t = trainImagesPerSecondC0 { fields.append("train_c0=\(fixed(t, 1)) img/s") }
        if let r = siOverhead { fields.append("si_overhead=\(fixed(r, 3))") }
        if let i = inferImagesPerSecond { fields.append("infer=\(fixed(i, 1)) img/s") }
        for op in ops where op.name.hasPrefix("gemm NN ") {
            if let g = op.gflops { fields.append("\(op.name.replacingOccurrences(of: " ", with: "_"))=\(fixed(g, 1)) GFLOP/s") }
        }
        if let b = peakGbps { fields.append("copy=\(fixed(b, 1)) GB/s") }
        for row in clblast where row.shape.hasPrefix("NN ") {
            if let r = row.ratio { fields.append("gemm_vs_clblast_\(row.shape.split(separator: ":")[0].replacingOccurrences(of: " ", with: "_"))=\(fixed(r, 2))") }
        }
        for d in denormal {
            if let r = d.ratio { fields.append("denormal_step_ratio_\(d.flushed ? "flushed" : "kept")=\(fixed(r, 3))") }
        }
        fields.append("peakRSS=\(fixed(Double(peakRssBytes) / 1_048_576, 0))MiB")
        fields.append("failures=\(failures.count)")
        return fields.joined(separator: " ")
    }

    /// The human-readable table.
    func table() -> String {
        var lines: [String] = []
        lines.append("synapse-bench on \(device) (\(deviceKind)\(kernelStyle.map { ", kernel style \($0)" } ?? "")), \(date)")
        if !ops.isEmpty {
            let flopPeak = peakGflops.map { "\(fixed($0, 1)) GFLOP/s (\(peakGflopsSource ?? ""))" } ?? "none"
            let bandwidthPeak = peakGbps.map { "\(fixed($0, 1)) GB/s (\(peakGbpsSource ?? ""))" } ?? "none"
            lines.append("peaks: \(flopPeak); \(bandwidthPeak)")
            lines.append(pad("op", 26) + pad("shape", 36) + pad("rate", 16, right: true) + pad("of peak", 9, right: true)
                         + pad("ms", 10, right: true) + pad("wall ms", 10, right: true) + "  check")
            for op in ops {
                let rate = op.gflops.map { fixed($0, 1) + " GFLOP/s" } ?? op.gbps.map { fixed($0, 1) + " GB/s" } ?? "-"
                let fraction = op.fractionOfPeak.map { fixed(100 * $0, 0) + "%" } ?? "-"
                let ms = op.seconds.map { fixed(1e3 * $0, 3) } ?? "-"
                let wall = op.wallSeconds.map { fixed(1e3 * $0, 3) } ?? "-"
                let check = op.passed ? "ok (\(significant(op.checkError, 2)) ≤ \(significant(op.checkTolerance, 2)))"
                                      : "FAIL: \(op.failure ?? "")"
                lines.append(pad(op.name, 26) + pad(op.shape, 36) + pad(rate, 16, right: true) + pad(fraction, 9, right: true)
                             + pad(ms, 10, right: true) + pad(wall, 10, right: true) + "  " + check
                             + (op.note.map { "  [\($0)]" } ?? ""))
            }
        }
        if let train = trainImagesPerSecond {
            lines.append("training step, batch \(batch), \(units) output units: \(fixed(train, 1)) images/s with SI (c = \(siStrength)), "
                         + "\(trainImagesPerSecondC0.map { fixed($0, 1) } ?? "-") with c = 0; SI overhead "
                         + "\(siOverhead.map { fixed($0, 3) } ?? "-")×")
            lines.append("  step ms, SI on: \((trainStepMsRuns ?? []).map { fixed($0, 1) }.joined(separator: " ")); "
                         + "c = 0: \((trainStepMsRunsC0 ?? []).map { fixed($0, 1) }.joined(separator: " "))")
        }
        if let infer = inferImagesPerSecond {
            lines.append("inference: \(fixed(infer, 1)) images/s (batch \(batch))")
        }
        lines.append("peak RSS \(fixed(Double(peakRssBytes) / 1_048_576, 1)) MiB"
                     + (peakDeviceBytes.map { ", device memory peak \(fixed(Double($0) / 1_048_576, 1)) MiB" } ?? ""))
        if let profile {
            lines.append("per-kernel profile of \(profile.steps) training step(s), per step: wall \(fixed(profile.wallMillisecondsPerStep, 2)) ms, "
                         + "kernels \(fixed(profile.kernelMillisecondsPerStep, 2)) ms (the rest is launch overhead and gaps)")
            lines.append("  " + pad("kernel", 34) + pad("launches", 10, right: true) + pad("ms", 10, right: true) + pad("share", 8, right: true))
            for row in profile.rows {
                lines.append("  " + pad(row.kernel, 34) + pad(fixed(row.launchesPerStep, 1), 10, right: true)
                             + pad(fixed(row.millisecondsPerStep, 3), 10, right: true)
                             + pad(fixed(100 * row.shareOfKernelTime, 1) + "%", 8, right: true))
            }
        }
        if !tuning.isEmpty {
            lines.append("tile tuning (every candidate checked against the reference, then timed; * = chosen):")
            // Columns as wide as their longest entry (kernel names such as conv3x3_fwd_cpu.narrow).
            let kernelWidth = (tuning.map(\.kernel.count).max() ?? 0) + 2
            let tilesWidth = (tuning.map(\.tiles.count).max() ?? 0) + 2
            let problemWidth = (tuning.map(\.problem.count).max() ?? 0) + 2
            for row in tuning {
                let time = row.milliseconds.map { fixed($0, 3) + " ms" } ?? "rejected: \(row.rejection ?? "")"
                lines.append("  " + (row.chosen ? "* " : "  ") + pad(row.kernel, kernelWidth) + pad(row.tiles, tilesWidth)
                             + pad(row.problem, problemWidth) + time)
            }
        }
        if !clblast.isEmpty {
            lines.append("CLBlast SGEMM (\(clblastLibrary ?? "")) beside ours, same buffers, wall clock; ratio = ours / CLBlast:")
            for row in clblast {
                let figures = row.clblastGflops.map { c in
                    "CLBlast \(fixed(c, 1)) GFLOP/s, ours \(fixed(row.oursGflops ?? .nan, 1)), ratio \(fixed(row.ratio ?? .nan, 2))"
                } ?? "FAILED: \(row.failure ?? "")"
                lines.append("  " + pad(row.shape, 40) + figures)
            }
        }
        for d in denormal {
            let mode = d.flushed ? "denormals flushed (-cl-denorms-are-zero)" : "denormals kept (IEEE)"
            let n = median(d.normalMsRuns).map { fixed($0, 1) } ?? "-", c = median(d.convergedMsRuns).map { fixed($0, 1) } ?? "-"
            let verdict = d.ratio.map { $0 <= 1.2 ? "within 20%" : "NOT within 20%" } ?? "-"
            lines.append("converged-state step (denormal gradients), \(mode): \(c) ms against \(n) ms for an ordinary step, "
                         + "ratio \(d.ratio.map { fixed($0, 3) } ?? "-") (\(verdict)); gradients of the converged step: "
                         + "\(d.gradientsNonzero) of \(d.gradientCount) nonzero, \(d.gradientsDenormal) of them denormal")
            lines.append("  step ms, ordinary: \(d.normalMsRuns.map { fixed($0, 1) }.joined(separator: " ")); "
                         + "converged: \(d.convergedMsRuns.map { fixed($0, 1) }.joined(separator: " "))")
        }
        for failure in failures { lines.append("FAILED: \(failure)") }
        return lines.joined(separator: "\n")
    }
}

/// One candidate of a `--tune` run.
struct TuningRow: Encodable {
    var kernel: String
    var tiles: String
    var problem: String
    var milliseconds: Double?
    var checkError: Double
    var rejection: String?
    var chosen: Bool
}
