// The reference ops against direct, naive definitions computed in Double.
// M×N×K for GEMM; N batch, C channels, H×W input, K filters, P×Q output, R filter size.

import Foundation
import SynapseEngine
import SynapseReference
import Testing

@Suite struct ReferenceDefinitionTests {
    // MARK: GEMM

    /// op(X)[row, col] of a matrix stored row-major, transposed or not.
    static func element(_ x: [Float], transposed: Bool, rows: Int, cols: Int, _ row: Int, _ col: Int) -> Double {
        Double(transposed ? x[col * rows + row] : x[row * cols + col])
    }

    static func naiveGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                          a: [Float], b: [Float], beta: Float, c: [Float]) -> [Double] {
        var result = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    sum += element(a, transposed: transposeA, rows: m, cols: k, i, p)
                        * element(b, transposed: transposeB, rows: k, cols: n, p, j)
                }
                result[i * n + j] = Double(alpha) * sum + (beta == 0 ? 0 : Double(beta) * Double(c[i * n + j]))
            }
        }
        return result
    }

    @Test(arguments: [(7, 33, 5), (1, 1, 1), (33, 17, 257), (16, 1, 9)])
    func gemmMatchesNaiveTripleLoopForAllTransposes(sizes: (Int, Int, Int)) throws {
        let (m, n, k) = sizes
        let fixture = ReferenceFixture(seed: UInt64(m * 1000 + n * 10 + k))
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                for (alpha, beta) in [(Float(0.7), Float(-1.3)), (1, 0), (-2, 1)] {
                    let a = fixture.uniform(m * k), b = fixture.uniform(k * n), c = fixture.uniform(m * n)
                    // C sits at offset 5 inside a larger buffer: the elements around it must survive.
                    let guardValue: Float = 777
                    let storage = [Float](repeating: guardValue, count: 5) + c + [Float](repeating: guardValue, count: 3)
                    let big = try fixture.tensor(storage)
                    let view = big.view(at: 5, shape: [m, n])
                    try fixture.backend.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                             alpha: alpha, a: try fixture.tensor(a), b: try fixture.tensor(b),
                                             beta: beta, c: view)
                    let expected = Self.naiveGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                                  alpha: alpha, a: a, b: b, beta: beta, c: c)
                    let all = try fixture.backend.download(big)
                    let error = maxError(Array(all[5..<(5 + m * n)]), expected)
                    // alpha and beta scale unit-size terms by up to 2: the tolerance of k + 2 terms, twice.
                    #expect(error <= 2 * Tolerance.forReduction(length: k + 2),
                            "m\(m) n\(n) k\(k) tA \(transposeA) tB \(transposeB) alpha \(alpha) beta \(beta): \(error)")
                    #expect(all[..<5].allSatisfy { $0 == guardValue } && all.suffix(3).allSatisfy { $0 == guardValue })
                }
            }
        }
    }

    @Test func gemmWithBetaZeroIgnoresNaNInC() throws {
        let fixture = ReferenceFixture(seed: 21)
        let (m, n, k) = (3, 5, 4)
        let c = try fixture.tensor([Float](repeating: .nan, count: m * n))
        try fixture.backend.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1,
                                 a: try fixture.tensor(fixture.uniform(m * k)),
                                 b: try fixture.tensor(fixture.uniform(k * n)), beta: 0, c: c)
        #expect(try fixture.backend.download(c).allSatisfy { $0.isFinite })
    }

    // MARK: Convolution

    static func inputAt(_ x: [Float], _ s: ConvShape, _ n: Int, _ c: Int, _ h: Int, _ w: Int) -> Double {
        guard h >= 0, h < s.height, w >= 0, w < s.width else { return 0 }
        return Double(x[((n * s.inChannels + c) * s.height + h) * s.width + w])
    }

    /// The 7-loop definition of Backend.conv2dForward.
    static func naiveConvForward(_ s: ConvShape, x: [Float], weight: [Float], bias: [Float], relu: Bool) -> [Double] {
        let (C, K, R, P, Q) = (s.inChannels, s.outChannels, s.kernelSize, s.outHeight, s.outWidth)
        var y = [Double](repeating: 0, count: s.outputCount)
        for n in 0..<s.batch { for k in 0..<K { for p in 0..<P { for q in 0..<Q {
            var sum = Double(bias[k])
            for c in 0..<C { for r in 0..<R { for t in 0..<R {
                sum += inputAt(x, s, n, c, p + r - s.padding, q + t - s.padding)
                    * Double(weight[((k * C + c) * R + r) * R + t])
            } } }
            y[((n * K + k) * P + p) * Q + q] = relu ? max(0, sum) : sum
        } } } }
        return y
    }

    /// Backend.conv2dBackwardInput's formula, literally.
    static func naiveConvBackwardInput(_ s: ConvShape, dy: [Float], weight: [Float]) -> [Double] {
        let (C, K, R, P, Q) = (s.inChannels, s.outChannels, s.kernelSize, s.outHeight, s.outWidth)
        var dx = [Double](repeating: 0, count: s.inputCount)
        for n in 0..<s.batch { for c in 0..<C { for h in 0..<s.height { for w in 0..<s.width {
            var sum = 0.0
            for k in 0..<K { for r in 0..<R { for t in 0..<R {
                let p = h - r + s.padding, q = w - t + s.padding
                guard p >= 0, p < P, q >= 0, q < Q else { continue }
                sum += Double(dy[((n * K + k) * P + p) * Q + q]) * Double(weight[((k * C + c) * R + r) * R + t])
            } } }
            dx[((n * C + c) * s.height + h) * s.width + w] = sum
        } } } }
        return dx
    }

    /// Backend.conv2dBackwardWeight's formulas, literally.
    static func naiveConvBackwardWeight(_ s: ConvShape, x: [Float], dy: [Float]) -> (dWeight: [Double], dBias: [Double]) {
        let (C, K, R, P, Q) = (s.inChannels, s.outChannels, s.kernelSize, s.outHeight, s.outWidth)
        var dw = [Double](repeating: 0, count: s.weightCount), db = [Double](repeating: 0, count: K)
        for k in 0..<K { for n in 0..<s.batch { for p in 0..<P { for q in 0..<Q {
            let g = Double(dy[((n * K + k) * P + p) * Q + q])
            db[k] += g
            for c in 0..<C { for r in 0..<R { for t in 0..<R {
                dw[((k * C + c) * R + r) * R + t] += g * inputAt(x, s, n, c, p + r - s.padding, q + t - s.padding)
            } } }
        } } } }
        return (dw, db)
    }

    static let convShapes = [
        ConvShape(batch: 2, inChannels: 3, height: 7, width: 5, outChannels: 4, padding: 1),
        ConvShape(batch: 2, inChannels: 3, height: 7, width: 5, outChannels: 4, padding: 0),
        ConvShape(batch: 1, inChannels: 1, height: 1, width: 1, outChannels: 1, padding: 1),
        ConvShape(batch: 3, inChannels: 2, height: 6, width: 9, outChannels: 5, kernelSize: 5, padding: 2),
        ConvShape(batch: 1, inChannels: 4, height: 3, width: 3, outChannels: 2, kernelSize: 1, padding: 0),
    ]

    @Test(arguments: convShapes)
    func convolutionMatchesNaiveLoops(shape: ConvShape) throws {
        let fixture = ReferenceFixture(seed: UInt64(shape.inputCount * 31 + shape.weightCount))
        let x = fixture.uniform(shape.inputCount), w = fixture.uniform(shape.weightCount)
        let bias = fixture.uniform(shape.outChannels), dy = fixture.uniform(shape.outputCount)
        let (input, weight, biasT) = (try fixture.tensor(x), try fixture.tensor(w), try fixture.tensor(bias))
        let reduction = shape.inChannels * shape.kernelSize * shape.kernelSize
        for relu in [false, true] {
            let output = try fixture.zeros(shape.outputCount)
            try fixture.backend.conv2dForward(shape, input: input, weight: weight, bias: biasT, relu: relu, output: output)
            let expected = Self.naiveConvForward(shape, x: x, weight: w, bias: bias, relu: relu)
            let error = maxError(try fixture.backend.download(output), expected)
            #expect(error <= Tolerance.forReduction(length: reduction + 1), "\(shape) relu \(relu): \(error)")
        }
        // Backward ops write over garbage: outputs are overwritten, not accumulated.
        let dInput = try fixture.tensor([Float](repeating: 9, count: shape.inputCount))
        try fixture.backend.conv2dBackwardInput(shape, dOutput: try fixture.tensor(dy), weight: weight, dInput: dInput)
        let inputError = maxError(try fixture.backend.download(dInput), Self.naiveConvBackwardInput(shape, dy: dy, weight: w))
        #expect(inputError <= Tolerance.forReduction(length: shape.outChannels * reduction / shape.inChannels),
                "\(shape) dInput: \(inputError)")
        let dWeight = try fixture.tensor([Float](repeating: 9, count: shape.weightCount))
        let dBias = try fixture.tensor([Float](repeating: 9, count: shape.outChannels))
        try fixture.backend.conv2dBackwardWeight(shape, input: input, dOutput: try fixture.tensor(dy),
                                                 dWeight: dWeight, dBias: dBias)
        let (expectedW, expectedB) = Self.naiveConvBackwardWeight(shape, x: x, dy: dy)
        let spatial = shape.batch * shape.outHeight * shape.outWidth
        #expect(maxError(try fixture.backend.download(dWeight), expectedW) <= Tolerance.forReduction(length: spatial))
        #expect(maxError(try fixture.backend.download(dBias), expectedB) <= Tolerance.forReduction(length: spatial))
    }

    @Test func convolutionWithEmptyOutputThrows() throws {
        let fixture = ReferenceFixture(seed: 22)
        let shape = ConvShape(batch: 1, inChannels: 1, height: 2, width: 2, outChannels: 1, padding: 0)
        let t = try fixture.zeros(16)
        #expect(throws: BackendError.self) {
            try fixture.backend.conv2dForward(shape, input: t, weight: t, bias: t, relu: false, output: t)
        }
    }

    // MARK: Pooling

    /// Values from {0, 1, 2} make ties common; the expected winner is the first maximum in
    /// row-major window order, and the backward pass must route to exactly that element.
    @Test func maxPoolTakesTheFirstMaximumOnTies() throws {
        let fixture = ReferenceFixture(seed: 23)
        let (planes, H, W) = (5, 7, 9)
        let (P, Q) = (H / 2, W / 2)
        let x = (0..<(planes * H * W)).map { _ in Float(Int.random(in: 0...2, using: &fixture.rng)) }
        let dy = fixture.uniform(planes * P * Q, in: 1...2)
        let input = try fixture.tensor(x), output = try fixture.zeros(planes * P * Q)
        let dInput = try fixture.tensor([Float](repeating: 9, count: x.count))
        try fixture.backend.maxPool2x2Forward(input: input, planes: planes, height: H, width: W, output: output)
        try fixture.backend.maxPool2x2Backward(input: input, dOutput: try fixture.tensor(dy), planes: planes,
                                               height: H, width: W, dInput: dInput)
        var expectedY = [Float](repeating: 0, count: planes * P * Q)
        var expectedDx = [Float](repeating: 0, count: x.count)
        var ties = 0
        for plane in 0..<planes { for p in 0..<P { for q in 0..<Q {
            let window = [(0, 0), (0, 1), (1, 0), (1, 1)].map { plane * H * W + (2 * p + $0.0) * W + 2 * q + $0.1 }
            let best = window.map { x[$0] }.max()!
            if window.filter({ x[$0] == best }).count > 1 { ties += 1 }
            let winner = window.first { x[$0] == best }!
            expectedY[(plane * P + p) * Q + q] = best
            expectedDx[winner] = dy[(plane * P + p) * Q + q]
        } } }
        #expect(ties > 10, "the input should exercise ties")
        #expect(try fixture.backend.download(output) == expectedY)
        #expect(try fixture.backend.download(dInput) == expectedDx)
    }

    // MARK: Accuracy and loss

    @Test func countCorrectUsesLiveUnitsAndLowestUnitOnTies() throws {
        let fixture = ReferenceFixture(seed: 24)
        let (batch, units) = (257, 13)
        for (start, count) in [(0, 13), (3, 5), (12, 1), (4, 2)] {
            // Small integers make ties frequent; dead units get large values that must not win.
            var z = (0..<(batch * units)).map { _ in Float(Int.random(in: 0...3, using: &fixture.rng)) }
            for n in 0..<batch { for u in 0..<units where u < start || u >= start + count { z[n * units + u] = 100 } }
            let labels = (0..<batch).map { _ in Int32(Int.random(in: start..<(start + count), using: &fixture.rng)) }
            var expected = 0
            for n in 0..<batch {
                var best = start
                for u in start..<(start + count) where z[n * units + u] > z[n * units + best] { best = u }
                if best == Int(labels[n]) { expected += 1 }
            }
            let counter = try fixture.tensor([Float(5)])
            try fixture.backend.countCorrect(logits: try fixture.tensor(z), labels: try fixture.tensor(labels),
                                             batch: batch, units: units, unitStart: start, unitCount: count,
                                             counter: counter)
            #expect(try fixture.backend.download(counter) == [Float(5 + expected)], "live [\(start), +\(count))")
        }
    }

    @Test func softmaxCrossEntropyMatchesDoubleDefinition() throws {
        let fixture = ReferenceFixture(seed: 25)
        let (batch, units, start, count) = (33, 17, 5, 7)
        let z = fixture.uniform(batch * units, in: -4...4)
        let labels = (0..<batch).map { _ in Int32(Int.random(in: start..<(start + count), using: &fixture.rng)) }
        let losses = try fixture.zeros(batch), dLogits = try fixture.zeros(batch * units)
        try fixture.backend.softmaxCrossEntropy(logits: try fixture.tensor(z), labels: try fixture.tensor(labels),
                                                batch: batch, units: units, unitStart: start, unitCount: count,
                                                losses: losses, dLogits: dLogits)
        var expectedLoss = [Double](), expectedGrad = [Double](repeating: 0, count: batch * units)
        for n in 0..<batch {
            let live = (start..<(start + count)).map { Double(z[n * units + $0]) }
            let sumExp = live.reduce(0) { $0 + exp($1) }
            expectedLoss.append(log(sumExp) - Double(z[n * units + Int(labels[n])]))
            for u in start..<(start + count) {
                let softmax = exp(Double(z[n * units + u])) / sumExp
                expectedGrad[n * units + u] = (softmax - (u == Int(labels[n]) ? 1 : 0)) / Double(batch)
            }
        }
        #expect(maxError(try fixture.backend.download(losses), expectedLoss) <= Tolerance.forReduction(length: count))
        #expect(maxError(try fixture.backend.download(dLogits), expectedGrad) <= Tolerance.forReduction(length: count))
    }

    @Test func labelOutsideLiveUnitsThrows() throws {
        let fixture = ReferenceFixture(seed: 26)
        let z = try fixture.tensor(fixture.uniform(2 * 10)), out = try fixture.zeros(20)
        #expect(throws: BackendError.self) {
            try fixture.backend.softmaxCrossEntropy(logits: z, labels: try fixture.tensor([Int32(2), 7]), batch: 2,
                                                    units: 10, unitStart: 2, unitCount: 4, losses: out, dLogits: out)
        }
    }

    // MARK: Data

    @Test func gatherRowsAndLabelsPickIndexedRows() throws {
        let fixture = ReferenceFixture(seed: 27)
        let (sourceRows, rowLength, rows) = (11, 7, 9)
        let pixels = (0..<(sourceRows * rowLength)).map { _ in UInt8.random(in: 0...255, using: &fixture.rng) }
        let labels = (0..<sourceRows).map { _ in Int32.random(in: -5...100, using: &fixture.rng) }
        let indices = (0..<rows).map { _ in Int32.random(in: 0..<Int32(sourceRows), using: &fixture.rng) }
        let source = Tensor(storage: try fixture.backend.allocate(.uint8, count: pixels.count), shape: [pixels.count])
        try fixture.backend.upload(pixels, to: source)
        let index = try fixture.tensor(indices)
        let images = try fixture.zeros(rows * rowLength)
        let scale: Float = 1 / 255
        try fixture.backend.gatherRows(source, indices: index, rows: rows, rowLength: rowLength, scale: scale, into: images)
        let expected = indices.flatMap { b in (0..<rowLength).map { Float(pixels[Int(b) * rowLength + $0]) * scale } }
        #expect(try fixture.backend.download(images) == expected)
        let gathered = try fixture.tensor([Int32](repeating: 0, count: rows))
        try fixture.backend.gatherLabels(try fixture.tensor(labels), indices: index, rows: rows, into: gathered)
        #expect(try fixture.backend.downloadInt32(gathered) == indices.map { labels[Int($0)] })
        // An index past the source is an error, not a read out of bounds.
        let bad = try fixture.tensor([Int32(0), Int32(sourceRows)])
        #expect(throws: BackendError.self) {
            try fixture.backend.gatherRows(source, indices: bad, rows: 2, rowLength: rowLength, scale: 1, into: images)
        }
        #expect(throws: BackendError.self) {
            try fixture.backend.gatherLabels(try fixture.tensor(labels), indices: bad, rows: 2, into: gathered)
        }
    }

    // MARK: Elementwise helpers

    @Test(arguments: [AccumulateTransform.identity, .square, .absolute])
    func accumulateAddsScaledTransform(transform: AccumulateTransform) throws {
        let fixture = ReferenceFixture(seed: 28)
        let n = 257
        let x = fixture.uniform(n), y = fixture.uniform(n)
        let scale: Float = -0.37
        let destination = try fixture.tensor(y)
        try fixture.backend.accumulate(try fixture.tensor(x), into: destination, scale: scale, transform: transform)
        let expected = (0..<n).map { i -> Double in
            let f: Double
            switch transform {
            case .identity: f = Double(x[i])
            case .square: f = Double(x[i]) * Double(x[i])
            case .absolute: f = abs(Double(x[i]))
            }
            return Double(y[i]) + Double(scale) * f
        }
        #expect(maxError(try fixture.backend.download(destination), expected) <= Tolerance.forReduction(length: 2))
    }

    @Test func accumulateSumAddsThePrefixSum() throws {
        let fixture = ReferenceFixture(seed: 29)
        let values = fixture.uniform(1000)
        let count = 777
        let accumulator = try fixture.tensor([Float(3.5)])
        try fixture.backend.accumulateSum(try fixture.tensor(values), count: count, into: accumulator)
        try fixture.backend.accumulateSum(try fixture.tensor(values), count: count, into: accumulator)
        let expected = 3.5 + 2 * values[..<count].reduce(0.0) { $0 + Double($1) }
        #expect(maxError(try fixture.backend.download(accumulator), [expected]) <= Tolerance.forReduction(length: 2 * count))
    }

    @Test func fillAndCopyTouchOnlyTheirViews() throws {
        let fixture = ReferenceFixture(seed: 30)
        let original = fixture.uniform(40)
        let big = try fixture.tensor(original)
        try fixture.backend.fill(big.view(at: 7, shape: [13]), value: -2.5)
        var expected = original
        for i in 7..<20 { expected[i] = -2.5 }
        #expect(try fixture.backend.download(big) == expected)

        // Copy between two views of one storage, overlapping (memmove semantics).
        try fixture.backend.copy(big.view(at: 3, shape: [10]), to: big.view(at: 8, shape: [10]))
        let before = expected
        for i in 0..<10 { expected[8 + i] = before[3 + i] }
        #expect(try fixture.backend.download(big) == expected)

        // Int32 views: fill with an integral value; a fractional one is an error.
        let ints = try fixture.tensor((0..<9).map { Int32($0) })
        try fixture.backend.fill(ints.view(at: 2, shape: [3]), value: -4)
        #expect(try fixture.backend.downloadInt32(ints) == [0, 1, -4, -4, -4, 5, 6, 7, 8])
        #expect(throws: BackendError.self) { try fixture.backend.fill(ints, value: 0.5) }
    }

    // MARK: Errors and memory accounting

    @Test func mismatchedTypesAndShortViewsThrow() throws {
        let fixture = ReferenceFixture(seed: 31)
        let floats = try fixture.zeros(6), ints = try fixture.tensor([Int32](repeating: 0, count: 6))
        #expect(throws: BackendError.self) { try fixture.backend.upload([Int32(1)], to: floats) }
        #expect(throws: BackendError.self) { try fixture.backend.upload([Float](repeating: 0, count: 7), to: floats) }
        #expect(throws: BackendError.self) { try fixture.backend.download(ints) }
        #expect(throws: BackendError.self) { try fixture.backend.copy(ints, to: floats) }
        #expect(throws: BackendError.self) {
            try fixture.backend.gemm(transposeA: false, transposeB: false, m: 2, n: 2, k: 2, alpha: 1,
                                     a: floats, b: floats, beta: 0, c: floats.view(at: 0, shape: [3]))
        }
        #expect(throws: BackendError.self) {
            try fixture.backend.addBias(floats, bias: floats, outer: -1, channels: 2, inner: 1, relu: false)
        }
        do {
            try fixture.backend.upload([Int32(1)], to: floats)
        } catch let error as BackendError {
            #expect(error.message.contains("upload") && error.message.contains("float32"), "\(error.message)")
        }
    }

    @Test func allocatedBytesTrackCurrentAndPeak() throws {
        let backend = ReferenceBackend()
        #expect(backend.allocatedBytes == 0)
        var first: (any DeviceStorage)? = try backend.allocate(.float32, count: 1000)
        let second = try backend.allocate(.uint8, count: 33)
        #expect(backend.allocatedBytes == 4033)
        first = nil
        #expect(first == nil && backend.allocatedBytes == 33 && backend.peakAllocatedBytes == 4033)
        _ = second
    }
}
