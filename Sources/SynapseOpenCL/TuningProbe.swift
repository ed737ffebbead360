// What the tuner checks and times each table's candidates on: per kernel, ragged shapes compared
// with the reference backend, and one representative problem to time.

import COpenCL
import Foundation
import SynapseEngine
import SynapseReference

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
