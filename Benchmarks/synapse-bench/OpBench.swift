// Per-op benchmarks: each op at its benchmark shape is first checked against the reference backend
// (the shared description in SynapseChecks, so a fast wrong kernel is a failure, never a figure),
// then warmed up and timed; the median of the repeats gives GFLOP/s or GB/s.
import SynapseChecks
import SynapseEngine
import SynapseReference

/// What one run of an op is measured in.
enum OpWork {
    /// Floating-point operations per run (GEMM, convolutions): reported as GFLOP/s.
    case flops(Double)
    /// Bytes read plus bytes written per run (memory-bound ops): reported as GB/s.
    case bytes(Double)
}

/// One op to benchmark: a shared check description plus how its work is counted.
struct OpCase {
    /// Short name for the table and the JSON, e.g. "gemm NN 1024" or "conv2 weight-grad".
    let name: String
    let check: OpCheck
    let work: OpWork
    /// Counts towards the FLOP/s peak (the square GEMMs) or the bandwidth peak (the copy).
    var peakCandidate = false
    /// Said in the table, e.g. "not run by the training step".
    var note: String?
}

/// The figures of one op.
struct OpResult: Encodable {
    var name: String
    var shape: String
    var gflops: Double?
    var gbps: Double?
    var fractionOfPeak: Double?
    /// Median seconds of one run (device time when profiling events exist, else wall time).
    var seconds: Double?
    /// Median wall seconds of one run, launch overhead included.
    var wallSeconds: Double?
    /// "device events" or "wall clock".
    var timer: String?
    var checkError: Double
    var checkTolerance: Double
    var passed: Bool
    var failure: String?
    var note: String?
}

/// The parameter count of the split-CIFAR CNN with `units` output units (conv: K·C·9 + K;
/// dense: in·out + out), so the SI update is timed at the model's real size.
func splitCIFARParameterCount(units: Int) -> Int {
    let convs = [(3, 32), (32, 32), (32, 64), (64, 64)].reduce(0) { $0 + $1.1 * $1.0 * 9 + $1.1 }
    return convs + (2304 * 512 + 512) + (512 * units + units)
}

/// The conv layers of the split-CIFAR CNN at `batch` (docs/algorithm.md: 32→32→30→15, 15→15→13→6).
func splitCIFARConvShapes(batch: Int) -> [(name: String, shape: ConvShape)] {
    [("conv1", ConvShape(batch: batch, inChannels: 3, height: 32, width: 32, outChannels: 32, padding: 1)),
     ("conv2", ConvShape(batch: batch, inChannels: 32, height: 32, width: 32, outChannels: 32, padding: 0)),
     ("conv3", ConvShape(batch: batch, inChannels: 32, height: 15, width: 15, outChannels: 64, padding: 1)),
     ("conv4", ConvShape(batch: batch, inChannels: 64, height: 15, width: 15, outChannels: 64, padding: 0))]
}

/// The benchmark's op list. Bytes of the fused SI update per parameter: reads θ, θ*, Ω, ω, m, v
/// and the task gradient, writes θ, ω, m, v: 11 float32 = 44 bytes. A copy moves 8 bytes per element.
func benchmarkCases(batch: Int, units: Int, quick: Bool) -> [OpCase] {
    var cases: [OpCase] = []
    let copyCount = quick ? 1 << 16 : 1 << 25  // 128 MiB each side: past any cache
    cases.append(OpCase(name: "copy", check: OpChecks.copy(count: copyCount), work: .bytes(8.0 * Double(copyCount)),
                        peakCandidate: true, note: "bandwidth peak"))
    for n in quick ? [64, 128] : [256, 1024, 2048] {
        cases.append(OpCase(name: "gemm NN \(n)", check: OpChecks.gemm(m: n, n: n, k: n, transposeA: false, transposeB: false,
                                                                          alpha: 1, beta: 0),
                            work: .flops(2.0 * Double(n * n * n)), peakCandidate: true))
    }
    // The dense layers' GEMMs (weights stored [in, out]): forward X·W, input grad dY·Wᵀ, weight grad Xᵀ·dY.
    for (layer, inputs, outputs) in [("dense1", 2304, 512), ("output", 512, units)] {
        let shapes = [("fwd", batch, outputs, inputs, false, false),
                      ("input-grad", batch, inputs, outputs, false, true),
                      ("weight-grad", inputs, outputs, batch, true, false)]
        for (what, m, n, k, ta, tb) in shapes {
            cases.append(OpCase(name: "gemm \(layer) \(what)",
                                check: OpChecks.gemm(m: m, n: n, k: k, transposeA: ta, transposeB: tb, alpha: 1, beta: 0),
                                work: .flops(2.0 * Double(m * n * k))))
        }
    }
    let convs = splitCIFARConvShapes(batch: batch)
    // Each conv layer as the GEMM of im2col (M = N·P·Q rows, N = K filters, K = C·R·R), the shape a
    // GEMM-based convolution runs (docs/performance.md: 230400×32×288 is conv2's).
    for (name, s) in convs {
        let m = s.batch * s.outHeight * s.outWidth, n = s.outChannels, k = s.inChannels * s.kernelSize * s.kernelSize
        cases.append(OpCase(name: "gemm \(name) im2col", check: OpChecks.gemm(m: m, n: n, k: k, transposeA: false,
                                                                                transposeB: false, alpha: 1, beta: 0),
                            work: .flops(2.0 * Double(m * n * k))))
    }
    for (name, s) in convs {
        cases.append(OpCase(name: "\(name) forward+relu", check: OpChecks.conv2dForward(s, relu: true),
                            work: .flops(s.forwardFlops)))
        cases.append(OpCase(name: "\(name) input-grad", check: OpChecks.conv2dBackwardInput(s),
                            work: .flops(s.forwardFlops),
                            note: name == "conv1" ? "not run by the training step" : nil))
        cases.append(OpCase(name: "\(name) weight-grad", check: OpChecks.conv2dBackwardWeight(s),
                            work: .flops(s.forwardFlops)))
    }
    let parameters = splitCIFARParameterCount(units: units)
    cases.append(OpCase(name: "fusedSIUpdate model", check: OpChecks.fusedSIUpdate(count: parameters, steps: 1, strength: 0.1),
                        work: .bytes(44.0 * Double(parameters)), note: "the CNN's \(parameters) parameters"))
    if !quick {
        let large = 1 << 24
        cases.append(OpCase(name: "fusedSIUpdate 16M", check: OpChecks.fusedSIUpdate(count: large, steps: 1, strength: 0.1),
                            work: .bytes(44.0 * Double(large)), note: "past any cache"))
    }
    return cases
}

/// Checks and times each case on `backend`; figures without the fraction of peak (set later).
func runOpBenchmarks(_ cases: [OpCase], on backend: any Backend, warmup: Int, repeats: Int,
                     log: (String) -> Void) -> [OpResult] {
    let reference = ReferenceBackend()
    let stopwatch = Stopwatch(backend: backend)
    let seed: UInt64 = 0xBE7C_4000
    var results: [OpResult] = []
    for item in cases {
        var result = OpResult(name: item.name, shape: item.check.shape, checkError: .infinity, checkTolerance: 0,
                              passed: false, note: item.note)
        do {
            // Prepared on each backend from the same seed: the same inputs and layout.
            let onDevice = try item.check.prepare(backend, seed)
            do {
                let onReference = try item.check.prepare(reference, seed)
                try onDevice.run()
                try onReference.run()
                let (error, tolerance) = item.check.compare(try onDevice.download(from: backend),
                                                            try onReference.download(from: reference))
                result.checkError = error
                result.checkTolerance = tolerance
                result.passed = error <= tolerance
            }  // the reference buffers are released here, before the timing
            guard result.passed else {
                result.failure = "does not match the reference (error \(error: result.checkError) > tolerance \(error: result.checkTolerance)); not timed"
                log("  \(item.name): MISMATCH, not timed")
                results.append(result)
                continue
            }
            for _ in 0..<warmup { _ = try stopwatch.run { try onDevice.run() } }
            var runs: [TimedRun] = []
            for _ in 0..<repeats { runs.append(try stopwatch.run { try onDevice.run() }) }
            let seconds = median(runs.map(\.seconds)) ?? .nan
            result.seconds = seconds
            result.wallSeconds = median(runs.map(\.wall))
            result.timer = runs.allSatisfy { $0.kernels != nil } ? "device events" : "wall clock"
            switch item.work {
            case .flops(let f): result.gflops = f / seconds / 1e9
            case .bytes(let b): result.gbps = b / seconds / 1e9
            }
        } catch {
            result.failure = "\(error)"
            result.passed = false
        }
        log("  \(item.name) [\(result.shape)]: " + (result.gflops.map { "\(fixed($0, 1)) GFLOP/s" }
                ?? result.gbps.map { "\(fixed($0, 1)) GB/s" } ?? (result.failure ?? "no figure")))
        results.append(result)
    }
    return results
}

extension DefaultStringInterpolation {
    /// An error figure in 3 significant digits.
    mutating func appendInterpolation(error value: Double) {
        appendLiteral(significant(value, 3))
    }
}
