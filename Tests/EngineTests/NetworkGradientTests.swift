// Network tests on the reference backend: whole-network gradients against finite differences,
// Keras-default initialisation, the one-buffer parameter layout, batch views, layer-list errors,
// and the seeded generator.

import Testing
import SynapseEngine
import SynapseReference

/// A small conv net with odd sizes: 'same' and 'valid' convolutions, a pool that drops an odd
/// row and column (5×7 → 2×3), dropout before and after the dense layer, a multi-head output.
private let smallConvNet: (inputShape: [Int], layers: [LayerSpec]) = ([2, 7, 9], [
    .conv3x3(filters: 3, padding: .same, relu: true),
    .conv3x3(filters: 4, padding: .valid, relu: true),
    .maxPool2x2,
    .dropout(rate: 0.3),
    .flatten,
    .dense(units: 5, relu: true),
    .dropout(rate: 0.5),
    .output(units: 7),
])

/// A small MLP with odd sizes.
private let smallMLP: (inputShape: [Int], layers: [LayerSpec]) = ([13], [
    .dense(units: 11, relu: true),
    .dropout(rate: 0.2),
    .dense(units: 9, relu: true),
    .output(units: 6),
])

/// A network plus a batch of random inputs and labels and the loss machinery around it.
private final class LossProbe {
    let backend = ReferenceBackend()
    let network: Network
    let batch: Int
    let units: (start: Int, count: Int)
    let step: UInt32
    let labels: Tensor
    let losses: Tensor
    let dLogits: Tensor

    /// Parameters: the network's Glorot init, then every bias and the whole output layer replaced by
    /// random values (the default zero output layer would stop every gradient below it).
    init(_ architecture: (inputShape: [Int], layers: [LayerSpec]), batch: Int, maxBatch: Int,
         units: (start: Int, count: Int), seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        network = try Network(backend: backend, inputShape: architecture.inputShape, layers: architecture.layers,
                              maxBatch: maxBatch, seed: seed)
        self.batch = batch
        self.units = units
        step = UInt32(generator.nextInt(below: 1000))
        var theta = try backend.download(network.parameters)
        for region in network.parameterRegions where region.name.hasSuffix(".bias") || region.name.hasPrefix("output.") {
            for i in region.offset..<(region.offset + region.count) {
                theta[i] = 2 * generator.nextFloat() - 1
            }
        }
        try backend.upload(theta, to: network.parameters)
        let x = (0..<(maxBatch * network.inputSize)).map { _ in 2 * generator.nextFloat() - 1 }
        try backend.upload(x, to: network.input)
        let y = (0..<batch).map { _ in Int32(units.start + generator.nextInt(below: units.count)) }
        labels = Tensor(storage: try backend.allocate(.int32, count: batch), shape: [batch])
        try backend.upload(y, to: labels)
        losses = Tensor(storage: try backend.allocate(.float32, count: batch), shape: [batch])
        dLogits = Tensor(storage: try backend.allocate(.float32, count: batch * network.outputUnits),
                         shape: [batch, network.outputUnits])
    }

    /// L = mean over the batch of the live-unit softmax cross-entropy, dropout on at `step`; also
    /// leaves dL/dlogits in `dLogits`.
    func loss() throws -> Double {
        let logits = try network.forward(batch: batch, training: true, step: step)
        try backend.softmaxCrossEntropy(logits: logits, labels: labels, batch: batch, units: network.outputUnits,
                                        unitStart: units.start, unitCount: units.count,
                                        losses: losses, dLogits: dLogits)
        return try backend.download(losses).reduce(0.0) { $0 + Double($1) } / Double(batch)
    }

    /// The backward pass's dL/dθ, with `gradients` first filled with NaN so an unwritten element shows.
    func analyticGradient() throws -> [Float] {
        try backend.fill(network.gradients, value: .nan)
        _ = try loss()
        try network.backward(dLogits: dLogits, batch: batch, step: step)
        return try backend.download(network.gradients)
    }
}

/// Finite-difference policy of the whole-network check, stated once.
///
/// Central differences of the loss with h = 1e-3, perturbing one element of the parameter buffer.
/// Error sources: (a) float32 rounding of the forward pass and of the stored per-row losses,
/// about 1e-7 on a loss of order 1, so ≲ 1e-7/h = 1e-4 after dividing by 2h (measured: ~1e-4 in
/// the dense layers); (b) truncation, h²·|L‴|/6 ≲ 1e-6 for these unit-scale logits; (c) ReLU and
/// max-pool kinks. A kink crossed inside [θ−h, θ+h] with slope jump s at distance t from θ + h
/// shifts the central difference by s·t/(2h) and the second difference L(θ+h) − 2L(θ) + L(θ−h)
/// by s·t, so every crossing that could cost more than half the tolerance shows as
/// |second difference| / (2h) > tolerance / 2; such parameters are detected from forward
/// losses alone (independent of the backward pass under test) and skipped. The smooth part of
/// that quantity, h·|L''|/2, stays below it unless |L''| > 2, which is rare; so at most 25% of a
/// region may be skipped (measured: ≤ 10% over seven seeds) and every region keeps checked
/// parameters. The check is |numeric − analytic| ≤ 2e-3 · (1 + |analytic|); a wrong index,
/// missing term, wrong transpose or wrong dropout mask is an O(|gradient|) error, and the
/// gradients here are 0.2–4.
private enum NetworkFiniteDifference {
    static let step: Float = 1e-3
    static let tolerance = 2e-3
    static let kinkSecondDifference = tolerance * Double(step)
    static let maxSkippedFraction = 0.25
}

/// Checks every parameter of every region; returns a description of each failure.
private func gradientCheckFailures(_ probe: LossProbe) throws -> [String] {
    let analytic = try probe.analyticGradient()
    let theta = try probe.backend.download(probe.network.parameters)
    let centre = try probe.loss()
    var failures: [String] = []
    for region in probe.network.parameterRegions {
        var skipped = 0
        for i in region.offset..<(region.offset + region.count) {
            let element = probe.network.parameters.view(at: i, shape: [1])
            let plus = theta[i] + NetworkFiniteDifference.step, minus = theta[i] - NetworkFiniteDifference.step
            try probe.backend.upload([plus], to: element)
            let lossPlus = try probe.loss()
            try probe.backend.upload([minus], to: element)
            let lossMinus = try probe.loss()
            try probe.backend.upload([theta[i]], to: element)
            if abs(lossPlus - 2 * centre + lossMinus) > NetworkFiniteDifference.kinkSecondDifference {
                skipped += 1
                continue
            }
            let numeric = (lossPlus - lossMinus) / (Double(plus) - Double(minus))
            let error = abs(numeric - Double(analytic[i])) / (1 + abs(Double(analytic[i])))
            if !(error <= NetworkFiniteDifference.tolerance) {
                failures.append("\(region.name)[\(i - region.offset)]: numeric \(numeric), analytic \(analytic[i])")
            }
        }
        if Double(skipped) > NetworkFiniteDifference.maxSkippedFraction * Double(region.count) || skipped == region.count {
            failures.append("\(region.name): \(skipped) of \(region.count) parameters sit on a kink")
        }
    }
    return failures
}

@Suite("NetworkGradient")
struct NetworkGradientTests {
    // MARK: Gradients

    @Test("conv net backward matches central differences of the loss for every parameter",
          arguments: TestTier.pick(fast: [UInt64(1)], long: [1, 2, 3]))
    func convNetGradientMatchesFiniteDifferences(seed: UInt64) throws {
        let probe = try LossProbe(smallConvNet, batch: 3, maxBatch: 4, units: (start: 2, count: 4), seed: seed)
        let analytic = try probe.analyticGradient()
        #expect(analytic.allSatisfy { $0.isFinite }, "backward left part of the gradient buffer unwritten")
        // Gradients flow into the first layer and the dead (non-live) output units get exactly zero.
        let conv1 = probe.network.parameterRegions.first { $0.name == "conv1.weight" }!
        #expect(analytic[conv1.offset..<(conv1.offset + conv1.count)].contains { $0 != 0 })
        let outputBias = probe.network.parameterRegions.first { $0.name == "output.bias" }!
        for u in 0..<probe.network.outputUnits where !(2..<6).contains(u) {
            #expect(analytic[outputBias.offset + u] == 0)
        }
        let failures = try gradientCheckFailures(probe)
        #expect(failures.isEmpty, "\(failures.count) mismatches: \(failures.prefix(8))")
    }

    @Test("MLP backward matches central differences of the loss for every parameter",
          arguments: TestTier.pick(fast: [UInt64(1)], long: [1, 2, 3]))
    func mlpGradientMatchesFiniteDifferences(seed: UInt64) throws {
        let probe = try LossProbe(smallMLP, batch: 5, maxBatch: 5, units: (start: 0, count: 6), seed: seed)
        #expect(try probe.analyticGradient().allSatisfy { $0.isFinite }, "backward left part of the gradient buffer unwritten")
        let failures = try gradientCheckFailures(probe)
        #expect(failures.isEmpty, "\(failures.count) mismatches: \(failures.prefix(8))")
    }

    // MARK: Initialisation

    @Test("init is Glorot-uniform within bounds with zero biases and a zero output layer, same seed same values")
    func initializationFollowsKerasDefaults() throws {
        let backend = ReferenceBackend()
        let cifar = Architecture.splitCIFAR(outputUnits: 60)
        let network = try Network(backend: backend, inputShape: cifar.inputShape, layers: cifar.layers,
                                  maxBatch: 1, seed: 2017)
        let theta = try backend.download(network.parameters)
        // (fanIn, fanOut) of each weight region, from the layer sizes.
        let fans: [String: (Int, Int)] = [
            "conv1.weight": (3 * 9, 32 * 9), "conv2.weight": (32 * 9, 32 * 9),
            "conv3.weight": (32 * 9, 64 * 9), "conv4.weight": (64 * 9, 64 * 9),
            "dense1.weight": (2304, 512),
        ]
        for region in network.parameterRegions {
            let values = theta[region.offset..<(region.offset + region.count)].map(Double.init)
            if region.name.hasSuffix(".bias") || region.name.hasPrefix("output.") {
                #expect(values.allSatisfy { $0 == 0 }, "\(region.name) must start at exactly zero")
                continue
            }
            guard let (fanIn, fanOut) = fans[region.name] else {
                Issue.record("unexpected region \(region.name)")
                continue
            }
            let limit = (6.0 / Double(fanIn + fanOut)).squareRoot()
            let n = Double(values.count)
            // U[−l, l): mean 0, E[w²] = l²/3, Var(w) = l²/3, Var(w²) = l⁴/5 − l⁴/9 = 4l⁴/45.
            // Bounds at 5 standard errors of the sample statistics.
            let mean = values.reduce(0, +) / n
            let meanSquare = values.reduce(0) { $0 + $1 * $1 } / n
            let largest = values.map(abs).max() ?? 0
            #expect(largest <= limit, "\(region.name): |w| = \(largest) above the Glorot limit \(limit)")
            #expect(largest >= 0.95 * limit, "\(region.name): max |w| = \(largest) far below the limit \(limit)")
            #expect(abs(mean) <= 5 * limit / (3 * n).squareRoot(), "\(region.name): mean \(mean)")
            #expect(abs(meanSquare - limit * limit / 3) <= 5 * (4.0 / 45).squareRoot() * limit * limit / n.squareRoot(),
                    "\(region.name): mean square \(meanSquare), expected \(limit * limit / 3)")
        }
        let again = try Network(backend: backend, inputShape: cifar.inputShape, layers: cifar.layers,
                                maxBatch: 1, seed: 2017)
        #expect(try backend.download(again.parameters) == theta, "same seed must give the same parameters")
        try again.initializeParameters(seed: 2018)
        let other = try backend.download(again.parameters)
        #expect(other != theta, "another seed must give other parameters")
        try again.initializeParameters(seed: 2017)
        #expect(try backend.download(again.parameters) == theta, "re-initialising with the seed restores the values")
    }

    // MARK: Layout

    @Test("parameter regions are disjoint, contiguous, cover the buffer, and match the layer sizes")
    func parameterLayoutIsContiguousAndComplete() throws {
        let backend = ReferenceBackend()
        for outputUnits in [1, 10, 60] {
            let cifar = Architecture.splitCIFAR(outputUnits: outputUnits)
            let network = try Network(backend: backend, inputShape: cifar.inputShape, layers: cifar.layers,
                                      maxBatch: 1, seed: 1)
            // By hand: conv weight K·C·9 + bias K; 32×32 →(same) 32 →(valid) 30 → pool 15 →(same) 15
            // →(valid) 13 → pool 6; flatten 64·6·6 = 2304; dense 2304·512 + 512; output 512·N + N.
            let expected: [(String, Int)] = [
                ("conv1.weight", 32 * 3 * 9), ("conv1.bias", 32),
                ("conv2.weight", 32 * 32 * 9), ("conv2.bias", 32),
                ("conv3.weight", 64 * 32 * 9), ("conv3.bias", 64),
                ("conv4.weight", 64 * 64 * 9), ("conv4.bias", 64),
                ("dense1.weight", 64 * 6 * 6 * 512), ("dense1.bias", 512),
                ("output.weight", 512 * outputUnits), ("output.bias", outputUnits),
            ]
            #expect(network.parameterRegions.map(\.name) == expected.map(\.0))
            #expect(network.parameterRegions.map(\.count) == expected.map(\.1))
            #expect(network.parameterCount == expected.reduce(0) { $0 + $1.1 })
            #expect(network.layerOutputShapes[6] == [64, 6, 6] && network.layerOutputShapes[8] == [2304])
            #expect(network.outputUnits == outputUnits && network.inputSize == 3 * 32 * 32)
            checkContiguous(network)
        }
        for (architecture, hidden) in [(Architecture.splitMNIST(outputUnits: 10), 256),
                                       (Architecture.permutedMNIST(outputUnits: 10), 2000)] {
            let network = try Network(backend: backend, inputShape: architecture.inputShape,
                                      layers: architecture.layers, maxBatch: 1, seed: 1)
            #expect(network.parameterRegions.map(\.name)
                    == ["dense1.weight", "dense1.bias", "dense2.weight", "dense2.bias", "output.weight", "output.bias"])
            #expect(network.parameterCount == 784 * hidden + hidden + hidden * hidden + hidden + hidden * 10 + 10)
            checkContiguous(network)
        }
    }

    private func checkContiguous(_ network: Network) {
        var end = 0
        for region in network.parameterRegions {
            #expect(region.count > 0 && region.offset == end, "\(region.name) at \(region.offset), expected \(end)")
            end = region.offset + region.count
        }
        #expect(end == network.parameterCount)
        #expect(network.parameters.count == network.parameterCount && network.gradients.count == network.parameterCount)
        // One buffer each, exactly the parameters, and two different buffers.
        #expect(network.parameters.offset == 0 && network.parameters.storage.capacity == network.parameterCount)
        #expect(network.gradients.offset == 0 && network.gradients.storage.capacity == network.parameterCount)
        #expect(network.parameters.storage !== network.gradients.storage)
    }

    // MARK: Batch views

    @Test("a batch smaller than maxBatch gives the first rows' logits and the gradient of those rows")
    func smallerBatchMatchesLeadingRowsOfFullBatch() throws {
        for (architecture, maxBatch, batch) in [(smallConvNet, 7, 3), (smallMLP, 33, 1)] {
            guard case .output(let outputUnits)? = architecture.layers.last else {
                Issue.record("architecture without an output layer")
                continue
            }
            let probe = try LossProbe(architecture, batch: maxBatch, maxBatch: maxBatch,
                                      units: (start: 0, count: outputUnits), seed: 77)
            let network = probe.network, backend = probe.backend
            let units = network.outputUnits
            for training in [false, true] {
                let full = try backend.download(network.forward(batch: maxBatch, training: training, step: 5))
                let part = try backend.download(network.forward(batch: batch, training: training, step: 5))
                #expect(part.count == batch * units)
                #expect(part == Array(full.prefix(batch * units)), "training \(training): logits of the first rows differ")
            }
            // Gradient of a `batch`-row pass == full pass whose dLogits are zero beyond row `batch`.
            var generator = SeededGenerator(seed: 78)
            let rows = (0..<(batch * units)).map { _ in 2 * generator.nextFloat() - 1 }
            let padded = Tensor(storage: try backend.allocate(.float32, count: maxBatch * units), shape: [maxBatch, units])
            try backend.upload(rows, to: padded.view(at: 0, shape: [batch * units]))
            _ = try network.forward(batch: maxBatch, training: true, step: 9)
            try network.backward(dLogits: padded, batch: maxBatch, step: 9)
            let fullGradient = try backend.download(network.gradients)
            _ = try network.forward(batch: batch, training: true, step: 9)
            try network.backward(dLogits: padded.leadingRows(batch), batch: batch, step: 9)
            let partGradient = try backend.download(network.gradients)
            // Same terms plus exact zeros; the summation order may differ, so one reduction's
            // tolerance, over the longest reduction here (a conv weight gradient over N·7·9 terms).
            #expect(Tolerance.maxError(partGradient, fullGradient) <= Tolerance.forReduction(length: maxBatch * 63))
        }
    }

    // MARK: Errors

    @Test("invalid layer lists and calls are rejected with a NetworkError")
    func invalidNetworksAreRejected() throws {
        let backend = ReferenceBackend()
        let bad: [([Int], [LayerSpec])] = [
            ([3, 8, 8], [.conv3x3(filters: 4, padding: .same, relu: true), .output(units: 2)]),   // no flatten
            ([3, 2, 2], [.conv3x3(filters: 4, padding: .valid, relu: true), .flatten, .output(units: 2)]),
            ([3, 1, 5], [.maxPool2x2, .flatten, .output(units: 2)]),
            ([10], [.output(units: 2), .dense(units: 3, relu: true)]),                           // output not last
            ([10], [.dense(units: 3, relu: true)]),                                                  // no output
            ([10], [.dropout(rate: 1), .output(units: 2)]),
            ([10], [.dense(units: 0, relu: true), .output(units: 2)]),
            ([10], [.conv3x3(filters: 2, padding: .same, relu: false), .output(units: 2)]),
        ]
        for (shape, layers) in bad {
            #expect(throws: NetworkError.self, "\(shape) \(layers)") {
                try Network(backend: backend, inputShape: shape, layers: layers, maxBatch: 2, seed: 0)
            }
        }
        #expect(throws: NetworkError.self) {
            try Network(backend: backend, inputShape: [10], layers: [.output(units: 2)], maxBatch: 0, seed: 0)
        }
        let network = try Network(backend: backend, inputShape: [10], layers: [.output(units: 2)], maxBatch: 4, seed: 0)
        let dLogits = Tensor(storage: try backend.allocate(.float32, count: 8), shape: [4, 2])
        #expect(throws: NetworkError.self) { try network.backward(dLogits: dLogits, batch: 4, step: 0) }
        #expect(throws: NetworkError.self) { try network.forward(batch: 5, training: false, step: 0) }
        _ = try network.forward(batch: 3, training: true, step: 1)
        #expect(throws: NetworkError.self) { try network.backward(dLogits: dLogits, batch: 4, step: 1) }
        #expect(throws: NetworkError.self) { try network.backward(dLogits: dLogits, batch: 3, step: 2) }
    }

    // MARK: Seeded generator

    @Test("SeededGenerator is reproducible, uniform in range, and permutes without loss")
    func seededGeneratorIsReproducibleAndUniform() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 42), c = SeededGenerator(seed: 43)
        let first = (0..<64).map { _ in a.next() }
        #expect(first == (0..<64).map { _ in b.next() })
        #expect(first != (0..<64).map { _ in c.next() })
        // 100 000 floats: in [0, 1), mean 1/2 and variance 1/12 within 5 standard errors.
        let n = 100_000
        let floats = (0..<n).map { _ in Double(a.nextFloat()) }
        #expect(floats.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = floats.reduce(0, +) / Double(n)
        #expect(abs(mean - 0.5) <= 5 * (1.0 / 12 / Double(n)).squareRoot())
        // Every residue of an odd bound appears about n/bound times (5 standard deviations).
        let bound = 7
        var counts = [Int](repeating: 0, count: bound)
        for _ in 0..<n {
            let k = a.nextInt(below: bound)
            #expect(k >= 0 && k < bound)
            counts[k] += 1
        }
        let expected = Double(n) / Double(bound)
        let spread = 5 * (expected * (1 - 1.0 / Double(bound))).squareRoot()
        #expect(counts.allSatisfy { abs(Double($0) - expected) <= spread }, "counts \(counts)")
        for count in [0, 1, 257] {
            let permutation = a.permutation(count)
            #expect(permutation.sorted() == Array(0..<count))
        }
        #expect(a.permutation(257) != Array(0..<257))
    }
}
