// Finite-difference checks: each backward op of the reference backend against central
// differences of its forward op, through a random projection L = Σ r_i · y_i (see
// `FiniteDifference` for the step and the tolerance).
// M×N×K for GEMM; N batch, C channels, H×W input, K filters.

import Foundation
import SynapseEngine
import SynapseReference
import Testing

@Suite struct ReferenceGradientTests {
    // MARK: GEMM

    /// C = alpha·op(A)·op(B) + beta·C0. The gradients are GEMMs themselves (as in a dense layer):
    /// d op(A) = alpha·R·op(B)ᵀ, d op(B) = alpha·op(A)ᵀ·R, dC0 = beta·R, written for the stored
    /// layouts below.
    @Test(arguments: [false, true], [false, true])
    func gemmGradientsMatchFiniteDifferences(transposeA: Bool, transposeB: Bool) throws {
        let fixture = ReferenceFixture(seed: transposeA ? (transposeB ? 41 : 42) : (transposeB ? 43 : 44))
        let backend = fixture.backend
        let (m, n, k) = (5, 7, 3)
        let (alpha, beta): (Float, Float) = (0.8, -1.7)
        let a = fixture.uniform(m * k), b = fixture.uniform(k * n), c0 = fixture.uniform(m * n)
        let r = fixture.uniform(m * n)

        func loss(_ a: [Float], _ b: [Float], _ c0: [Float]) throws -> Double {
            let c = try fixture.tensor(c0)
            try backend.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                             a: try fixture.tensor(a), b: try fixture.tensor(b), beta: beta, c: c)
            return projection(r, try backend.download(c))
        }

        let (ta, tb, tr) = (try fixture.tensor(a), try fixture.tensor(b), try fixture.tensor(r))
        let dA = try fixture.zeros(m * k), dB = try fixture.zeros(k * n)
        if transposeA {
            // dA stored K×M = alpha · op(B) · Rᵀ.
            try backend.gemm(transposeA: transposeB, transposeB: true, m: k, n: m, k: n, alpha: alpha,
                             a: tb, b: tr, beta: 0, c: dA)
        } else {
            // dA stored M×K = alpha · R · op(B)ᵀ.
            try backend.gemm(transposeA: false, transposeB: !transposeB, m: m, n: k, k: n, alpha: alpha,
                             a: tr, b: tb, beta: 0, c: dA)
        }
        if transposeB {
            // dB stored N×K = alpha · Rᵀ · op(A).
            try backend.gemm(transposeA: true, transposeB: transposeA, m: n, n: k, k: m, alpha: alpha,
                             a: tr, b: ta, beta: 0, c: dB)
        } else {
            // dB stored K×N = alpha · op(A)ᵀ · R.
            try backend.gemm(transposeA: !transposeA, transposeB: false, m: k, n: n, k: m, alpha: alpha,
                             a: ta, b: tr, beta: 0, c: dB)
        }
        let numericA = try FiniteDifference.gradient(of: a) { try loss($0, b, c0) }
        let numericB = try FiniteDifference.gradient(of: b) { try loss(a, $0, c0) }
        let numericC = try FiniteDifference.gradient(of: c0) { try loss(a, b, $0) }
        #expect(FiniteDifference.maxError(numericA, try fixture.read(dA)) <= FiniteDifference.tolerance)
        #expect(FiniteDifference.maxError(numericB, try fixture.read(dB)) <= FiniteDifference.tolerance)
        #expect(FiniteDifference.maxError(numericC, r.map { Double(beta) * Double($0) }) <= FiniteDifference.tolerance)
    }

    // MARK: Convolution

    @Test(arguments: [
        ConvShape(batch: 2, inChannels: 3, height: 7, width: 5, outChannels: 4, padding: 1),
        ConvShape(batch: 2, inChannels: 3, height: 7, width: 5, outChannels: 4, padding: 0),
        ConvShape(batch: 1, inChannels: 1, height: 1, width: 1, outChannels: 1, padding: 1),
    ])
    func convolutionGradientsMatchFiniteDifferences(shape: ConvShape) throws {
        let fixture = ReferenceFixture(seed: UInt64(50 + shape.padding + shape.inputCount))
        let backend = fixture.backend
        let x = fixture.uniform(shape.inputCount), w = fixture.uniform(shape.weightCount)
        let bias = fixture.uniform(shape.outChannels), r = fixture.uniform(shape.outputCount)

        func loss(_ x: [Float], _ w: [Float], _ bias: [Float]) throws -> Double {
            let y = try fixture.zeros(shape.outputCount)
            try backend.conv2dForward(shape, input: try fixture.tensor(x), weight: try fixture.tensor(w),
                                      bias: try fixture.tensor(bias), relu: false, output: y)
            return projection(r, try backend.download(y))
        }

        let dInput = try fixture.zeros(shape.inputCount)
        let dWeight = try fixture.zeros(shape.weightCount), dBias = try fixture.zeros(shape.outChannels)
        try backend.conv2dBackwardInput(shape, dOutput: try fixture.tensor(r), weight: try fixture.tensor(w), dInput: dInput)
        try backend.conv2dBackwardWeight(shape, input: try fixture.tensor(x), dOutput: try fixture.tensor(r),
                                         dWeight: dWeight, dBias: dBias)
        let numericX = try FiniteDifference.gradient(of: x) { try loss($0, w, bias) }
        let numericW = try FiniteDifference.gradient(of: w) { try loss(x, $0, bias) }
        let numericB = try FiniteDifference.gradient(of: bias) { try loss(x, w, $0) }
        #expect(FiniteDifference.maxError(numericX, try fixture.read(dInput)) <= FiniteDifference.tolerance, "\(shape) dInput")
        #expect(FiniteDifference.maxError(numericW, try fixture.read(dWeight)) <= FiniteDifference.tolerance, "\(shape) dWeight")
        #expect(FiniteDifference.maxError(numericB, try fixture.read(dBias)) <= FiniteDifference.tolerance, "\(shape) dBias")
    }

    // MARK: Bias and ReLU

    @Test func biasGradientMatchesFiniteDifferences() throws {
        let fixture = ReferenceFixture(seed: 61)
        let (outer, channels, inner) = (3, 5, 7)
        let x = fixture.uniform(outer * channels * inner), bias = fixture.uniform(channels)
        let r = fixture.uniform(x.count)
        func loss(_ bias: [Float]) throws -> Double {
            let y = try fixture.tensor(x)
            try fixture.backend.addBias(y, bias: try fixture.tensor(bias), outer: outer, channels: channels,
                                        inner: inner, relu: false)
            return projection(r, try fixture.backend.download(y))
        }
        let dBias = try fixture.tensor([Float](repeating: 9, count: channels))
        try fixture.backend.biasBackward(try fixture.tensor(r), outer: outer, channels: channels, inner: inner, dBias: dBias)
        let numeric = try FiniteDifference.gradient(of: bias, loss: loss)
        #expect(FiniteDifference.maxError(numeric, try fixture.read(dBias)) <= FiniteDifference.tolerance)
    }

    /// ReLU through addBias(relu: true) and reluBackward (dInput aliasing dOutput). Inputs with
    /// |x + bias| < 0.05 are nudged away from the kink so that x ± h stays on one side.
    @Test func reluGradientMatchesFiniteDifferences() throws {
        let fixture = ReferenceFixture(seed: 62)
        let (outer, channels) = (9, 11)
        let bias = fixture.uniform(channels, in: -0.3...0.3)
        var x = fixture.uniform(outer * channels)
        for i in x.indices where abs(x[i] + bias[i % channels]) < 0.05 { x[i] += 0.1 }
        let r = fixture.uniform(x.count)
        let biasT = try fixture.tensor(bias)
        func forward(_ x: [Float]) throws -> Tensor {
            let y = try fixture.tensor(x)
            try fixture.backend.addBias(y, bias: biasT, outer: outer, channels: channels, inner: 1, relu: true)
            return y
        }
        let y = try forward(x)
        let gradient = try fixture.tensor(r)
        try fixture.backend.reluBackward(output: y, dOutput: gradient, count: x.count, dInput: gradient)
        let numeric = try FiniteDifference.gradient(of: x) { projection(r, try fixture.backend.download(try forward($0))) }
        #expect(FiniteDifference.maxError(numeric, try fixture.read(gradient)) <= FiniteDifference.tolerance)
        #expect(try fixture.backend.download(y).contains(0), "some units should be off")
    }

    // MARK: Pooling and dropout

    /// Distinct values 0.05 apart (a shuffled grid), so a step of h = 0.01 never changes a
    /// window's winner. Odd H and W: the dropped last row and column get gradient 0.
    @Test func maxPoolGradientMatchesFiniteDifferences() throws {
        let fixture = ReferenceFixture(seed: 63)
        let (planes, H, W) = (3, 7, 5)
        let x = (0..<(planes * H * W)).map { Float($0) * 0.05 - 2 }.shuffled(using: &fixture.rng)
        let r = fixture.uniform(planes * (H / 2) * (W / 2))
        func loss(_ x: [Float]) throws -> Double {
            let y = try fixture.zeros(r.count)
            try fixture.backend.maxPool2x2Forward(input: try fixture.tensor(x), planes: planes, height: H, width: W, output: y)
            return projection(r, try fixture.backend.download(y))
        }
        let dInput = try fixture.tensor([Float](repeating: 9, count: x.count))
        try fixture.backend.maxPool2x2Backward(input: try fixture.tensor(x), dOutput: try fixture.tensor(r),
                                               planes: planes, height: H, width: W, dInput: dInput)
        let numeric = try FiniteDifference.gradient(of: x, loss: loss)
        #expect(FiniteDifference.maxError(numeric, try fixture.read(dInput)) <= FiniteDifference.tolerance)
    }

    @Test func dropoutGradientMatchesFiniteDifferences() throws {
        let fixture = ReferenceFixture(seed: 64)
        let (n, p): (Int, Float) = (301, 0.6)
        let (seed, stream, step): (UInt64, UInt32, UInt32) = (77, 4, 9)
        let x = fixture.uniform(n), r = fixture.uniform(n)
        func loss(_ x: [Float]) throws -> Double {
            let y = try fixture.zeros(n)
            try fixture.backend.dropoutForward(input: try fixture.tensor(x), count: n, keepProbability: p,
                                               seed: seed, stream: stream, step: step, output: y)
            return projection(r, try fixture.backend.download(y))
        }
        let gradient = try fixture.tensor(r)
        try fixture.backend.dropoutBackward(dOutput: gradient, count: n, keepProbability: p, seed: seed,
                                            stream: stream, step: step, dInput: gradient)
        let numeric = try FiniteDifference.gradient(of: x, loss: loss)
        #expect(FiniteDifference.maxError(numeric, try fixture.read(gradient)) <= FiniteDifference.tolerance)
    }

    // MARK: Softmax cross-entropy

    /// L = mean over the batch of the losses (dLogits is defined as the gradient of the mean).
    /// Logits outside the live range must not change the loss at all, even when huge, and their
    /// gradient must be exactly 0.
    @Test func softmaxCrossEntropyGradientMatchesFiniteDifferences() throws {
        let fixture = ReferenceFixture(seed: 65)
        let (batch, units, start, count) = (4, 9, 2, 5)
        var z = fixture.uniform(batch * units, in: -3...3)
        let labels = (0..<batch).map { _ in Int32(Int.random(in: start..<(start + count), using: &fixture.rng)) }
        let labelT = try fixture.tensor(labels)
        func run(_ z: [Float]) throws -> (losses: [Float], dLogits: [Float]) {
            let losses = try fixture.zeros(batch), dLogits = try fixture.tensor([Float](repeating: 9, count: z.count))
            try fixture.backend.softmaxCrossEntropy(logits: try fixture.tensor(z), labels: labelT, batch: batch,
                                                    units: units, unitStart: start, unitCount: count,
                                                    losses: losses, dLogits: dLogits)
            return (try fixture.backend.download(losses), try fixture.backend.download(dLogits))
        }
        let numeric = try FiniteDifference.gradient(of: z) { z in
            try run(z).losses.reduce(0.0) { $0 + Double($1) } / Double(batch)
        }
        let (losses, analytic) = try run(z)
        #expect(FiniteDifference.maxError(numeric, analytic.map(Double.init)) <= FiniteDifference.tolerance)
        let live = start..<(start + count)
        for i in analytic.indices where !live.contains(i % units) {
            #expect(analytic[i] == 0, "dLogits[\(i)] outside the live units")
        }
        for i in z.indices where !live.contains(i % units) { z[i] = i % 2 == 0 ? 1e30 : -1e30 }
        #expect(try run(z).losses == losses, "dead logits changed the loss")
    }
}
