// The lists of checks: `OpChecks.standard` (every op at several shapes, sizes that are not multiples
// of any tile among them) and `OpChecks.small` (its cheap part, for simulators).

import SynapseEngine

extension OpChecks {
    // MARK: The small list (for simulators)

    /// The most floating-point operations a check of `small` may take: GEMM and convolution
    /// checks up to this size still span several tiles of every kernel style with ragged edges
    /// (e.g. gemm M100 N37 K300, conv N2 C16 15×15 K33), while the larger network shapes, which
    /// take most of a simulator's time, are left out.
    public static let smallFlopLimit: Double = 4e6

    /// The standard checks of at most `smallFlopLimit` operations: what a device simulator such
    /// as Oclgrind (thousands of times slower than a device) runs in a few minutes on one core.
    /// Every op of `standard` keeps at least one shape.
    public static var small: [OpCheck] { standard.filter { $0.flops <= smallFlopLimit } }

    // MARK: The standard list

    /// Every op at several shapes: the list `synapse-check` and the OpenCL tests run.
    public static var standard: [OpCheck] {
        var checks: [OpCheck] = []
        let counts = [1, 7, 33, 257, 4099]
        for n in counts {
            checks.append(fill(count: n))
            checks.append(copy(count: n))
            checks.append(reluBackward(count: n, inPlace: n % 2 == 1 && n > 7))
            checks.append(accumulateSum(count: n))
        }
        for (n, transform) in [(7, AccumulateTransform.identity), (257, .square), (4099, .absolute), (33, .absolute)] {
            checks.append(accumulate(count: n, transform: transform))
        }
        checks.append(reluBackward(count: 1000, inPlace: true))
        checks.append(gatherRows(sourceRows: 10, rows: 7, rowLength: 33))
        checks.append(gatherRows(sourceRows: 300, rows: 257, rowLength: 784))
        checks.append(gatherLabels(sourceCount: 1, rows: 1))
        checks.append(gatherLabels(sourceCount: 500, rows: 257))
        for (m, n, k) in [(1, 1, 1), (7, 33, 13), (33, 7, 257), (64, 64, 64), (1, 257, 7), (100, 37, 300)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                checks.append(gemm(m: m, n: n, k: k, transposeA: ta, transposeB: tb))
            }
        }
        checks.append(gemm(m: 33, n: 65, k: 17, transposeA: false, transposeB: false, alpha: 1, beta: 0))
        checks.append(gemm(m: 9, n: 31, k: 129, transposeA: true, transposeB: true, alpha: -0.75, beta: 0))
        // Dense layers: unit counts that are and are not multiples of the CPU panel widths (16,
        // 32, 48: B read in place or packed), ragged row blocks, and the split-MNIST layers.
        for (i, (n, inputs, units)) in [(1, 1, 1), (7, 33, 10), (13, 100, 96), (5, 7, 37), (33, 257, 64),
                                         (64, 784, 256), (64, 256, 10), (3, 19, 48)].enumerated() {
            checks.append(denseForward(batch: n, inputs: inputs, units: units, relu: i % 2 == 0))
            checks.append(denseBackwardWeight(batch: n, inputs: inputs, units: units))
            checks.append(denseBackwardInput(batch: n, inputs: inputs, units: units, masked: i % 2 == 1))
        }
        checks.append(denseForward(batch: 9, inputs: 40, units: 32, relu: false))
        checks.append(denseBackwardInput(batch: 9, inputs: 40, units: 32, masked: true))
        checks.append(denseBackwardInput(batch: 64, inputs: 256, units: 256, masked: true))
        let convShapes = [
            ConvShape(batch: 1, inChannels: 1, height: 1, width: 1, outChannels: 1, padding: 1),
            ConvShape(batch: 2, inChannels: 3, height: 7, width: 7, outChannels: 5, padding: 1),
            ConvShape(batch: 3, inChannels: 4, height: 9, width: 11, outChannels: 7, padding: 0),
            ConvShape(batch: 2, inChannels: 16, height: 15, width: 15, outChannels: 33, padding: 0),
            ConvShape(batch: 2, inChannels: 5, height: 8, width: 6, outChannels: 3, kernelSize: 5, padding: 2),
            ConvShape(batch: 4, inChannels: 32, height: 16, width: 16, outChannels: 32, padding: 1),
        ]
        for (i, s) in convShapes.enumerated() {
            checks.append(conv2dForward(s, relu: i % 2 == 0))
            checks.append(conv2dBackwardInput(s))
            checks.append(conv2dBackwardWeight(s))
        }
        // Larger and odd shapes for the tiled kernels: GEMMs spanning many tiles with ragged
        // edges, the split-CIFAR CNN's conv layers at a small batch, and padding > R − 1 (the
        // input gradient then crops instead of padding).
        for (m, n, k, ta, tb) in [(257, 1000, 33, false, false), (1000, 257, 129, true, true),
                                  (130, 515, 300, false, true), (67, 190, 1025, true, false)] {
            checks.append(gemm(m: m, n: n, k: k, transposeA: ta, transposeB: tb))
        }
        let networkConvShapes = [
            ConvShape(batch: 3, inChannels: 3, height: 32, width: 32, outChannels: 32, padding: 1),
            ConvShape(batch: 2, inChannels: 32, height: 32, width: 32, outChannels: 32, padding: 0),
            ConvShape(batch: 2, inChannels: 32, height: 15, width: 15, outChannels: 64, padding: 1),
            ConvShape(batch: 2, inChannels: 64, height: 15, width: 15, outChannels: 64, padding: 0),
            ConvShape(batch: 2, inChannels: 3, height: 6, width: 5, outChannels: 4, padding: 3),
            // Batches of 5 or more: the CPU style reads pad-0 inputs in place for every image but
            // the last few (it may read past an image's end into the next one), and reads dOutput
            // in place when its width is a multiple of 16; these shapes reach both paths.
            ConvShape(batch: 9, inChannels: 2, height: 5, width: 5, outChannels: 3, padding: 0),
            ConvShape(batch: 11, inChannels: 4, height: 13, width: 11, outChannels: 9, padding: 0),
            ConvShape(batch: 7, inChannels: 3, height: 34, width: 33, outChannels: 5, padding: 0),
            ConvShape(batch: 5, inChannels: 3, height: 7, width: 16, outChannels: 7, padding: 1),
            ConvShape(batch: 9, inChannels: 5, height: 3, width: 34, outChannels: 6, padding: 0),
            // Narrow rows (flat-wide tiles: a tile spans row ends and several rows, the last one
            // runs past P·Wp): batch 1, odd channels and filters, pad 0/1/2, a batch that is not
            // a multiple of the weight gradient's chunk, R = 5.
            ConvShape(batch: 1, inChannels: 5, height: 13, width: 13, outChannels: 7, padding: 0),
            ConvShape(batch: 6, inChannels: 3, height: 11, width: 9, outChannels: 13, padding: 2),
            ConvShape(batch: 7, inChannels: 9, height: 15, width: 15, outChannels: 5, padding: 1),
            ConvShape(batch: 3, inChannels: 7, height: 12, width: 14, outChannels: 17, kernelSize: 5, padding: 1),
            // Shapes the CPU style may run with Winograd F(2×2, 3×3) (8 to 64 channels): odd
            // output sizes (a partial last tile row and column), rows of more than 16 tiles (two
            // vectors), of 9 to 16 tiles (one), of 4 to 8 (two to four tile rows per vector),
            // channel and filter counts that are multiples of no block, pad 0, 1 and 2.
            ConvShape(batch: 3, inChannels: 9, height: 37, width: 35, outChannels: 11, padding: 1),
            ConvShape(batch: 2, inChannels: 8, height: 20, width: 19, outChannels: 21, padding: 0),
            ConvShape(batch: 2, inChannels: 13, height: 15, width: 15, outChannels: 19, padding: 0),
            ConvShape(batch: 2, inChannels: 10, height: 9, width: 7, outChannels: 17, padding: 1),
            ConvShape(batch: 2, inChannels: 11, height: 7, width: 9, outChannels: 10, padding: 2),
            ConvShape(batch: 1, inChannels: 64, height: 6, width: 5, outChannels: 63, padding: 1),
            // The Winograd weight gradient (output rows of more than 8): a pad-0 batch read in
            // place but for its last image, 2 tile rows per vector (5 tiles a row), 17 channels
            // (a second vector of 16 with one used), 23 filters (no block multiple); and an odd
            // number of output rows with 17 tiles a row (two column blocks), 40 channels, 7 filters.
            ConvShape(batch: 7, inChannels: 17, height: 14, width: 12, outChannels: 23, padding: 0),
            ConvShape(batch: 3, inChannels: 40, height: 11, width: 33, outChannels: 7, padding: 1),
        ]
        for (i, s) in networkConvShapes.enumerated() {
            checks.append(conv2dForward(s, relu: i % 2 == 1))
            checks.append(conv2dBackwardInput(s, masked: i % 3 != 0))
            checks.append(conv2dBackwardWeight(s))
        }
        for (outer, channels, inner) in [(1, 1, 1), (7, 33, 1), (3, 32, 900), (257, 10, 1), (2, 5, 33)] {
            checks.append(addBias(outer: outer, channels: channels, inner: inner, relu: channels % 2 == 1))
            checks.append(biasBackward(outer: outer, channels: channels, inner: inner))
        }
        for (planes, h, w) in [(1, 2, 2), (3, 7, 9), (64, 30, 30), (5, 13, 13)] {
            checks.append(maxPool2x2Forward(planes: planes, height: h, width: w, ties: false))
            checks.append(maxPool2x2Backward(planes: planes, height: h, width: w, ties: false))
            checks.append(maxPool2x2Forward(planes: planes, height: h, width: w, ties: true))
            checks.append(maxPool2x2Backward(planes: planes, height: h, width: w, ties: true))
            checks.append(maxPool2x2Backward(planes: planes, height: h, width: w, ties: false, relu: true))
            checks.append(maxPool2x2Backward(planes: planes, height: h, width: w, ties: true, relu: true))
        }
        for (n, p, stream, step) in [(1, Float(0.5), UInt32(0), UInt32(0)), (7, 0.75, 3, 9), (257, 0.5, 1, 123),
                                     (10_007, 0.75, 2, 40_000), (65_537, 0.5, 7, 1)] {
            let dropoutSeed: UInt64 = 0xDEAD_BEEF_0000_0001 &* UInt64(n)
            for property in [DropoutProperty.values, .mask] {
                checks.append(dropout(count: n, keepProbability: p, seed: dropoutSeed, stream: stream, step: step,
                                      backward: false, property: property))
                checks.append(dropout(count: n, keepProbability: p, seed: dropoutSeed, stream: stream, step: step,
                                      backward: true, property: property))
            }
            if n >= 10_000 {
                checks.append(dropout(count: n, keepProbability: p, seed: dropoutSeed, stream: stream, step: step,
                                      backward: false, property: .keepRate))
            }
        }
        // A later slice of a minibatch (data-parallel ranks): mask numbered from firstIndex, which
        // need not be a multiple of the CPU style's 64-element chunk.
        for (n, firstIndex) in [(7, 4), (1_001, 7_200 * 3), (4_099, 2_304 * 5 + 4)] {
            for property in [DropoutProperty.values, .mask] {
                checks.append(dropout(count: n, keepProbability: 0.75, seed: 0xFEED_0000_0000_0003, stream: 3, step: 17,
                                      firstIndex: firstIndex, backward: false, property: property))
                checks.append(dropout(count: n, keepProbability: 0.75, seed: 0xFEED_0000_0000_0003, stream: 3, step: 17,
                                      firstIndex: firstIndex, backward: true, property: property))
            }
        }
        for (batch, units, start, live) in [(1, 1, 0, 1), (7, 10, 0, 10), (33, 60, 20, 10), (257, 60, 50, 10), (64, 10, 4, 2)] {
            checks.append(softmaxCrossEntropy(batch: batch, units: units, unitStart: start, unitCount: live))
            checks.append(countCorrect(batch: batch, units: units, unitStart: start, unitCount: live, ties: false))
            checks.append(countCorrect(batch: batch, units: units, unitStart: start, unitCount: live, ties: true))
        }
        for (batch, units, rows, start, live, t) in [(1, 1, 1, 0, 1, Float(2)), (7, 10, 13, 0, 10, 2), (33, 60, 5, 20, 10, 1),
                                                     (257, 60, 300, 50, 10, 3.5), (64, 10, 70, 4, 2, 0.5)] {
            checks.append(distillation(batch: batch, units: units, targetRows: rows, unitStart: start, unitCount: live,
                                       temperature: t))
        }
        for (n, steps, c) in [(1, 1, Float(0)), (7, 5, 1.0), (257, 3, 0.1), (4099, 10, 0.5)] {
            checks.append(fusedSIUpdate(count: n, steps: steps, strength: c))
        }
        for (n, steps, c) in [(1, 1, Float(0)), (7, 4, 1.0), (33, 3, 0.1), (4099, 6, 0.5)] {
            checks.append(fusedSISGDUpdate(count: n, steps: steps, strength: c))
        }
        for (n, xi) in [(1, Float(1e-3)), (33, 0.1), (4099, 1e-3)] {
            checks.append(siConsolidate(count: n, xi: xi))
        }
        for (n, bad) in [(1, StateHealth()), (1, [.v]), (7, [.theta]), (33, [.importance, .m]), (257, [.v]),
                         (4099, [.anchor, .omega, .v]), (65_537, [.theta, .anchor, .importance, .omega, .m, .v]),
                         (100_003, [.m]), (100_003, [])] as [(Int, StateHealth)] {
            checks.append(stateHealth(count: n, bad: bad))
        }
        return checks
    }
}
