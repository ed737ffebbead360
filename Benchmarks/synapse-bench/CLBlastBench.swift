// --clblast: CLBlast's SGEMM beside ours, on the same device, queue and buffers. Each shape is
// first computed by CLBlast and compared with the reference backend (a wrong result gets no
// figure), then both GEMMs are timed by wall clock from an idle queue to an idle queue (CLBlast's
// kernels carry no events of ours), alternating run by run.
import SynapseEngine
import SynapseOpenCL
import SynapseReference

/// One shape: CLBlast's and our GEMM rate (wall clock) and the check of CLBlast's result.
struct CLBlastRow: Encodable {
    var shape: String
    var clblastGflops: Double?
    var oursGflops: Double?
    /// ours / CLBlast.
    var ratio: Double?
    var checkError: Double
    var checkTolerance: Double
    var failure: String?
}

func runCLBlastComparison(on backend: OpenCLBackend, library: String?, batch: Int, warmup: Int, repeats: Int,
                          quick: Bool, log: (String) -> Void) throws -> (library: String, rows: [CLBlastRow]) {
    let clblast = try CLBlastSgemm(library: library)
    let reference = ReferenceBackend()
    let stopwatch = Stopwatch(backend: backend)
    var random = SeededGenerator(seed: 0xC1B1A5)
    var shapes: [(name: String, m: Int, n: Int, k: Int, ta: Bool, tb: Bool)] =
        (quick ? [64, 128] : [256, 1024, 2048]).map { ("NN \($0)", $0, $0, $0, false, false) }
    shapes += [("dense1 fwd", batch, 512, 2304, false, false), ("dense1 input-grad", batch, 2304, 512, false, true),
               ("dense1 weight-grad", 2304, 512, batch, true, false)]
    var rows: [CLBlastRow] = []
    for s in shapes {
        let shape = "\(s.name): M\(s.m) N\(s.n) K\(s.k)" + (s.ta ? " Aᵀ" : "") + (s.tb ? " Bᵀ" : "")
        var row = CLBlastRow(shape: shape, checkError: .infinity, checkTolerance: 0)
        do {
            let a = (0..<(s.m * s.k)).map { _ in 2 * random.nextFloat() - 1 }
            let b = (0..<(s.k * s.n)).map { _ in 2 * random.nextFloat() - 1 }
            func tensor(_ on: any Backend, _ values: [Float]) throws -> Tensor {
                let t = Tensor(storage: try on.allocate(.float32, count: values.count), shape: [values.count])
                try on.upload(values, to: t)
                return t
            }
            let da = try tensor(backend, a), db = try tensor(backend, b)
            let dc = Tensor(storage: try backend.allocate(.float32, count: s.m * s.n), shape: [s.m * s.n])
            try clblast.gemm(on: backend, transposeA: s.ta, transposeB: s.tb, m: s.m, n: s.n, k: s.k, alpha: 1,
                             a: da, b: db, beta: 0, c: dc)
            let rc = Tensor(storage: try reference.allocate(.float32, count: s.m * s.n), shape: [s.m * s.n])
            try reference.gemm(transposeA: s.ta, transposeB: s.tb, m: s.m, n: s.n, k: s.k, alpha: 1,
                               a: try tensor(reference, a), b: try tensor(reference, b), beta: 0, c: rc)
            row.checkError = Tolerance.maxError(try backend.download(dc), try reference.download(rc))
            row.checkTolerance = Tolerance.forReduction(length: s.k + 1)
            guard row.checkError <= row.checkTolerance else {
                row.failure = "CLBlast's result does not match the reference (error \(row.checkError) > \(row.checkTolerance))"
                log("  clblast \(shape): MISMATCH, not timed")
                rows.append(row)
                continue
            }
            let flops = 2.0 * Double(s.m * s.n * s.k)
            func runCLBlast() throws {
                try clblast.gemm(on: backend, transposeA: s.ta, transposeB: s.tb, m: s.m, n: s.n, k: s.k, alpha: 1,
                                 a: da, b: db, beta: 0, c: dc)
            }
            func runOurs() throws {
                try backend.gemm(transposeA: s.ta, transposeB: s.tb, m: s.m, n: s.n, k: s.k, alpha: 1,
                                 a: da, b: db, beta: 0, c: dc)
            }
            for _ in 0..<max(1, warmup) { _ = try stopwatch.run(runCLBlast); _ = try stopwatch.run(runOurs) }
            var theirs: [Double] = [], ours: [Double] = []
            for r in 0..<repeats {
                if r % 2 == 0 {
                    theirs.append(try stopwatch.run(runCLBlast).wall); ours.append(try stopwatch.run(runOurs).wall)
                } else {
                    ours.append(try stopwatch.run(runOurs).wall); theirs.append(try stopwatch.run(runCLBlast).wall)
                }
            }
            if let t = median(theirs), let o = median(ours) {
                row.clblastGflops = flops / t / 1e9
                row.oursGflops = flops / o / 1e9
                row.ratio = t / o
            }
        } catch {
            row.failure = "\(error)"
        }
        log("  clblast \(shape): " + (row.clblastGflops.map { "CLBlast \(fixed($0, 1)) GFLOP/s, ours \(fixed(row.oursGflops ?? 0, 1))" }
                                      ?? row.failure ?? "no figure"))
        rows.append(row)
    }
    return (clblast.library, rows)
}
