// The op checks, one factory per op (parameterised by shape, so a benchmark can build the same
// case at its own size) and `OpChecks.standard`: every op at several shapes, including sizes
// that are not multiples of any tile (1, 7, 33, 257 ...).
import SynapseEngine

/// Factories of `OpCheck`s, one per `Backend` op (fill and copy included).
public enum OpChecks {

    // MARK: Elementwise helpers

    public static func fill(count: Int) -> OpCheck {
        OpCheck(op: "fill", shape: "n\(count)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let x = try b.output(count)
            let value = b.floats(1)[0]
            let labels = try b.tensor((0..<count).map { Int32($0) })
            b.markOutput(labels)
            return b.prepared {
                try backend.fill(x, value: value)
                try backend.fill(labels, value: -3)
            }
        }, compare: OpCheck.maxError(reductionLength: 1))
    }

    public static func copy(count: Int) -> OpCheck {
        OpCheck(op: "copy", shape: "n\(count)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let source = try b.tensor(b.floats(count))
            let destination = try b.output(count)
            return b.prepared { try backend.copy(source, to: destination) }
        }, compare: OpCheck.maxError(reductionLength: 1))
    }

    public static func accumulate(count: Int, transform: AccumulateTransform) -> OpCheck {
        OpCheck(op: "accumulate \(transform)", shape: "n\(count)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let source = try b.tensor(b.floats(count))
            let destination = try b.output(count)
            let scale = b.floats(1, -2, 2)[0]
            return b.prepared { try backend.accumulate(source, into: destination, scale: scale, transform: transform) }
        }, compare: OpCheck.maxError(reductionLength: 2))
    }

    public static func accumulateSum(count: Int) -> OpCheck {
        OpCheck(op: "accumulateSum", shape: "n\(count)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let values = try b.tensor(b.floats(count + 3))   // only the first `count` are summed
            let accumulator = try b.output(1)
            return b.prepared { try backend.accumulateSum(values, count: count, into: accumulator) }
        }, compare: OpCheck.maxError(reductionLength: count + 1))
    }

    // MARK: Data

    public static func gatherRows(sourceRows: Int, rows: Int, rowLength: Int) -> OpCheck {
        OpCheck(op: "gatherRows", shape: "src\(sourceRows) rows\(rows) len\(rowLength)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let pixels = (0..<(sourceRows * rowLength)).map { _ in UInt8(truncatingIfNeeded: b.random.next()) }
            let source = try b.tensor(pixels)
            let indices = try b.tensor((0..<rows).map { _ in Int32(b.random.nextInt(below: sourceRows)) })
            let destination = try b.output(rows * rowLength)
            return b.prepared {
                try backend.gatherRows(source, indices: indices, rows: rows, rowLength: rowLength, scale: 1.0 / 255,
                                       into: destination)
            }
        }, compare: OpCheck.maxError(reductionLength: 1))
    }

    public static func gatherLabels(sourceCount: Int, rows: Int) -> OpCheck {
        OpCheck(op: "gatherLabels", shape: "src\(sourceCount) rows\(rows)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let source = try b.tensor((0..<sourceCount).map { _ in Int32(b.random.nextInt(below: 100)) })
            let indices = try b.tensor((0..<rows).map { _ in Int32(b.random.nextInt(below: sourceCount)) })
            let destination = try b.tensor((0..<rows).map { _ in Int32(-7) })
            b.markOutput(destination)
            return b.prepared { try backend.gatherLabels(source, indices: indices, rows: rows, into: destination) }
        }, compare: OpCheck.maxError(reductionLength: 1))
    }

    // MARK: Linear algebra

    public static func gemm(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool,
                            alpha: Float = 1.5, beta: Float = -0.5) -> OpCheck {
        let name = "gemm " + (transposeA ? "T" : "N") + (transposeB ? "T" : "N")
        return OpCheck(op: name, shape: "M\(m) N\(n) K\(k) α\(alpha) β\(beta)", flops: 2.0 * Double(m * n * k),
                       prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let a = try b.tensor(b.floats(m * k))
            let bMatrix = try b.tensor(b.floats(k * n))
            // With beta = 0 the old C must be ignored, NaNs included.
            let c = try b.output(m * n, initial: beta == 0 ? [Float](repeating: .nan, count: m * n) : nil)
            return b.prepared {
                try backend.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                 alpha: alpha, a: a, b: bMatrix, beta: beta, c: c)
            }
        }, compare: OpCheck.maxError(reductionLength: k + 1))
    }

    // MARK: Dense layers (fused GEMMs)

    public static func denseForward(batch: Int, inputs: Int, units: Int, relu: Bool) -> OpCheck {
        OpCheck(op: "denseForward" + (relu ? "+relu" : ""), shape: "N\(batch) in\(inputs) out\(units)",
                flops: 2.0 * Double(batch * inputs * units), prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let input = try b.tensor(b.floats(batch * inputs))
            let weight = try b.tensor(b.floats(inputs * units))
            let bias = try b.tensor(b.floats(units))
            // Overwritten: NaNs in the old output must not survive.
            let output = try b.output(batch * units, initial: [Float](repeating: .nan, count: batch * units))
            return b.prepared {
                try backend.denseForward(input: input, weight: weight, bias: bias, batch: batch, inputs: inputs,
                                         units: units, relu: relu, output: output)
            }
        }, compare: OpCheck.maxError(reductionLength: inputs + 1))
    }

    public static func denseBackwardWeight(batch: Int, inputs: Int, units: Int) -> OpCheck {
        OpCheck(op: "denseBackwardWeight", shape: "N\(batch) in\(inputs) out\(units)",
                flops: 2.0 * Double(batch * inputs * units), prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let input = try b.tensor(b.floats(batch * inputs))
            let dOutput = try b.tensor(b.floats(batch * units))
            let dWeight = try b.output(inputs * units, initial: [Float](repeating: .nan, count: inputs * units))
            let dBias = try b.output(units, initial: [Float](repeating: .nan, count: units))
            return b.prepared {
                try backend.denseBackwardWeight(input: input, dOutput: dOutput, batch: batch, inputs: inputs,
                                                units: units, dWeight: dWeight, dBias: dBias)
            }
        }, compare: OpCheck.maxError(reductionLength: batch + 1))
    }

    /// `masked`: with the ReLU output below (zeros included) as the mask.
    public static func denseBackwardInput(batch: Int, inputs: Int, units: Int, masked: Bool) -> OpCheck {
        OpCheck(op: "denseBackwardInput" + (masked ? "+relu" : ""), shape: "N\(batch) in\(inputs) out\(units)",
                flops: 2.0 * Double(batch * inputs * units), prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let dOutput = try b.tensor(b.floats(batch * units))
            let weight = try b.tensor(b.floats(inputs * units))
            let reluOutput = masked ? try b.tensor(b.floats(batch * inputs).map { max(0, $0) }) : nil
            let dInput = try b.output(batch * inputs, initial: [Float](repeating: .nan, count: batch * inputs))
            return b.prepared {
                try backend.denseBackwardInput(dOutput: dOutput, weight: weight, batch: batch, inputs: inputs,
                                               units: units, reluOutput: reluOutput, dInput: dInput)
            }
        }, compare: OpCheck.maxError(reductionLength: units + 1))
    }

    // MARK: Convolution

    public static func conv2dForward(_ s: ConvShape, relu: Bool) -> OpCheck {
        OpCheck(op: "conv2dForward" + (relu ? "+relu" : ""), shape: s.description, flops: s.forwardFlops,
                prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let input = try b.tensor(b.floats(s.inputCount))
            let weight = try b.tensor(b.floats(s.weightCount))
            let bias = try b.tensor(b.floats(s.outChannels))
            let output = try b.output(s.outputCount)
            return b.prepared {
                try backend.conv2dForward(s, input: input, weight: weight, bias: bias, relu: relu, output: output)
            }
        }, compare: OpCheck.maxError(tolerance: Tolerance.forConvolution(channels: s.inChannels,
                                                                           kernelSize: s.kernelSize, bias: true)))
    }

    /// The input gradient; `masked`: with the ReLU backward of a `reluOutput` (a ReLU output,
    /// about half zeros) on store.
    public static func conv2dBackwardInput(_ s: ConvShape, masked: Bool = false) -> OpCheck {
        OpCheck(op: "conv2dBackwardInput" + (masked ? "+relu" : ""), shape: s.description, flops: s.forwardFlops,
                prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let dOutput = try b.tensor(b.floats(s.outputCount))
            let weight = try b.tensor(b.floats(s.weightCount))
            let reluOutput = masked ? try b.tensor(b.floats(s.inputCount).map { max(0, $0) }) : nil
            let dInput = try b.output(s.inputCount)
            return b.prepared {
                try backend.conv2dBackwardInput(s, dOutput: dOutput, weight: weight, reluOutput: reluOutput, dInput: dInput)
            }
        }, compare: OpCheck.maxError(tolerance: Tolerance.forConvolution(channels: s.outChannels,
                                                                           kernelSize: s.kernelSize)))
    }

    public static func conv2dBackwardWeight(_ s: ConvShape) -> OpCheck {
        OpCheck(op: "conv2dBackwardWeight", shape: s.description, flops: s.forwardFlops, prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let input = try b.tensor(b.floats(s.inputCount))
            let dOutput = try b.tensor(b.floats(s.outputCount))
            let dWeight = try b.output(s.weightCount)
            let dBias = try b.output(s.outChannels)
            return b.prepared {
                try backend.conv2dBackwardWeight(s, input: input, dOutput: dOutput, dWeight: dWeight, dBias: dBias)
            }
        }, compare: OpCheck.maxError(tolerance: Tolerance.forConvolutionWeight(batch: s.batch, outHeight: s.outHeight,
                                                                                 outWidth: s.outWidth, kernelSize: s.kernelSize)))
    }

    // MARK: Bias, activations, pooling

    public static func addBias(outer: Int, channels: Int, inner: Int, relu: Bool) -> OpCheck {
        OpCheck(op: "addBias" + (relu ? "+relu" : ""), shape: "outer\(outer) ch\(channels) inner\(inner)",
                prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let x = try b.output(outer * channels * inner)
            let bias = try b.tensor(b.floats(channels))
            return b.prepared { try backend.addBias(x, bias: bias, outer: outer, channels: channels, inner: inner, relu: relu) }
        }, compare: OpCheck.maxError(reductionLength: 2))
    }

    public static func biasBackward(outer: Int, channels: Int, inner: Int) -> OpCheck {
        OpCheck(op: "biasBackward", shape: "outer\(outer) ch\(channels) inner\(inner)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let dOutput = try b.tensor(b.floats(outer * channels * inner))
            let dBias = try b.output(channels)
            return b.prepared {
                try backend.biasBackward(dOutput, outer: outer, channels: channels, inner: inner, dBias: dBias)
            }
        }, compare: OpCheck.maxError(reductionLength: outer * inner))
    }

    /// `inPlace`: dInput aliases dOutput (allowed by the contract).
    public static func reluBackward(count: Int, inPlace: Bool) -> OpCheck {
        OpCheck(op: "reluBackward" + (inPlace ? " in-place" : ""), shape: "n\(count)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let output = try b.tensor(b.floats(count).map { max(0, $0) })   // a ReLU output: zeros included
            let dOutput = try b.tensor(b.floats(count))
            let dInput = inPlace ? dOutput : try b.output(count)
            if inPlace { b.markOutput(dOutput) }
            return b.prepared { try backend.reluBackward(output: output, dOutput: dOutput, count: count, dInput: dInput) }
        }, compare: OpCheck.maxError(reductionLength: 1))
    }

    /// `ties`: inputs drawn from {-1, 0, 1}, so windows often hold equal maxima (the tie rule).
    public static func maxPool2x2Forward(planes: Int, height: Int, width: Int, ties: Bool) -> OpCheck {
        OpCheck(op: "maxPool2x2Forward" + (ties ? " ties" : ""), shape: "planes\(planes) \(height)x\(width)",
                prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let input = try b.tensor(poolInput(&b, planes * height * width, ties: ties))
            let output = try b.output(planes * (height / 2) * (width / 2))
            return b.prepared {
                try backend.maxPool2x2Forward(input: input, planes: planes, height: height, width: width, output: output)
            }
        }, compare: OpCheck.maxError(reductionLength: 1))
    }

    /// `relu`: `maxPool2x2ReLUBackward` on a ReLU output (zeros included, so whole windows of
    /// zeros and ties at zero occur).
    public static func maxPool2x2Backward(planes: Int, height: Int, width: Int, ties: Bool, relu: Bool = false) -> OpCheck {
        OpCheck(op: (relu ? "maxPool2x2ReLUBackward" : "maxPool2x2Backward") + (ties ? " ties" : ""),
                shape: "planes\(planes) \(height)x\(width)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            var values = poolInput(&b, planes * height * width, ties: ties)
            if relu { values = values.map { max(0, $0 - 0.3) } }
            let input = try b.tensor(values)
            let dOutput = try b.tensor(b.floats(planes * (height / 2) * (width / 2)))
            let dInput = try b.output(planes * height * width)
            return b.prepared {
                if relu {
                    try backend.maxPool2x2ReLUBackward(input: input, dOutput: dOutput, planes: planes, height: height,
                                                       width: width, dInput: dInput)
                } else {
                    try backend.maxPool2x2Backward(input: input, dOutput: dOutput, planes: planes, height: height,
                                                   width: width, dInput: dInput)
                }
            }
        }, compare: OpCheck.maxError(reductionLength: 1))
    }

    private static func poolInput(_ b: inout CaseBuilder, _ count: Int, ties: Bool) -> [Float] {
        ties ? (0..<count).map { _ in Float(b.random.nextInt(below: 3) - 1) } : b.floats(count)
    }

    // MARK: Dropout

    /// What a dropout check compares.
    public enum DropoutProperty: String, Sendable {
        /// The output values (kept inputs / p, zeros elsewhere).
        case values
        /// Which elements are kept, identical to the reference bit for bit (error = mismatches).
        case mask
        /// The device's keep fraction within 5 binomial standard deviations of p.
        case keepRate = "keep rate"
    }

    public static func dropout(count: Int, keepProbability p: Float, seed dropoutSeed: UInt64, stream: UInt32,
                               step: UInt32, firstIndex: Int = 0, backward: Bool, property: DropoutProperty) -> OpCheck {
        let name = (backward ? "dropoutBackward" : "dropoutForward") + " " + property.rawValue
        return OpCheck(op: name, shape: "n\(count) p\(p) stream\(stream) step\(step)" + (firstIndex == 0 ? "" : " first\(firstIndex)"),
                       prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let input = try b.tensor(b.nonZeroFloats(count))   // nonzero, so zero output = dropped
            let output = try b.output(count)
            return b.prepared {
                if backward {
                    try backend.dropoutBackward(dOutput: input, count: count, keepProbability: p, seed: dropoutSeed,
                                                stream: stream, step: step, firstIndex: firstIndex, dInput: output)
                } else {
                    try backend.dropoutForward(input: input, count: count, keepProbability: p, seed: dropoutSeed,
                                               stream: stream, step: step, firstIndex: firstIndex, output: output)
                }
            }
        }, compare: { device, reference in
            switch property {
            case .values:
                return OpCheck.maxError(reductionLength: 1)(device, reference)
            case .mask:
                guard device.count == 1, reference.count == 1, device[0].count == reference[0].count else { return (.infinity, 0) }
                let mismatches = zip(device[0], reference[0]).filter { ($0 == 0) != ($1 == 0) }.count
                return (Double(mismatches), 0)
            case .keepRate:
                // The view sits inside sentinel padding, which is nonzero and not counted.
                guard let values = device.first else { return (.infinity, 0) }
                let kept = values.filter { $0 != 0 && $0 != CaseBuilder.sentinel }.count
                let rate = Double(kept) / Double(max(1, count))
                let sigma = (Double(p) * (1 - Double(p)) / Double(max(1, count))).squareRoot()
                return (abs(rate - Double(p)), 5 * sigma + 1e-12)
            }
        })
    }

    // MARK: Loss and accuracy

    public static func softmaxCrossEntropy(batch: Int, units: Int, unitStart: Int, unitCount: Int) -> OpCheck {
        OpCheck(op: "softmaxCrossEntropy", shape: "batch\(batch) units\(units) live[\(unitStart),+\(unitCount))",
                prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let logits = try b.tensor(b.floats(batch * units, -4, 4))
            let labels = try b.tensor((0..<batch).map { _ in Int32(unitStart + b.random.nextInt(below: unitCount)) })
            let losses = try b.output(batch)
            let dLogits = try b.output(batch * units)
            return b.prepared {
                try backend.softmaxCrossEntropy(logits: logits, labels: labels, batch: batch, units: units,
                                                unitStart: unitStart, unitCount: unitCount, losses: losses, dLogits: dLogits)
            }
        }, compare: OpCheck.maxError(reductionLength: unitCount))
    }

    /// Distillation (LwF): gathered target rows, tempered softmaxes, gradient ADDED to a non-zero dLogits.
    public static func distillation(batch: Int, units: Int, targetRows: Int, unitStart: Int, unitCount: Int,
                                    temperature: Float) -> OpCheck {
        OpCheck(op: "distillation", shape: "batch\(batch) units\(units) rows\(targetRows) live[\(unitStart),+\(unitCount)) T\(temperature)",
                prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let logits = try b.tensor(b.floats(batch * units, -4, 4))
            let targets = try b.tensor(b.floats(targetRows * units, -4, 4))
            let indices = try b.tensor((0..<batch).map { _ in Int32(b.random.nextInt(below: targetRows)) })
            let losses = try b.output(batch)
            let dLogits = try b.output(batch * units)   // random start: the gradient must be added
            return b.prepared {
                try backend.distillation(logits: logits, targets: targets, indices: indices, batch: batch, units: units,
                                         targetRows: targetRows, unitStart: unitStart, unitCount: unitCount,
                                         temperature: temperature, weight: 0.7, losses: losses, dLogits: dLogits)
            }
        }, compare: OpCheck.maxError(reductionLength: unitCount))
    }

    /// `ties`: logits from {0, 1}, so rows often hold equal maxima (the lowest unit must win).
    public static func countCorrect(batch: Int, units: Int, unitStart: Int, unitCount: Int, ties: Bool) -> OpCheck {
        OpCheck(op: "countCorrect" + (ties ? " ties" : ""), shape: "batch\(batch) units\(units) live[\(unitStart),+\(unitCount))",
                prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let values = ties ? (0..<(batch * units)).map { _ in Float(b.random.nextInt(below: 2)) } : b.floats(batch * units)
            let logits = try b.tensor(values)
            let labels = try b.tensor((0..<batch).map { _ in Int32(unitStart + b.random.nextInt(below: unitCount)) })
            let counter = try b.output(1, initial: [5])
            return b.prepared {
                try backend.countCorrect(logits: logits, labels: labels, batch: batch, units: units,
                                         unitStart: unitStart, unitCount: unitCount, counter: counter)
            }
        }, compare: OpCheck.maxError(reductionLength: 1))
    }

    // MARK: Optimizer and Synaptic Intelligence

    /// `steps` consecutive fused SI updates (Adam t = 1...steps) on one parameter state with a
    /// fresh task gradient each step; every state view lives at its own offset of ONE buffer,
    /// as in a model. Tolerance: each step's rounding builds on the previous state, so the
    /// reduction length is the number of steps.
    public static func fusedSIUpdate(count: Int, steps: Int, strength: Float) -> OpCheck {
        OpCheck(op: "fusedSIUpdate ×\(steps)", shape: "n\(count) c\(strength)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let values = b.floats(count) + b.floats(count) + b.floats(count, 0, 2) + b.floats(count, -0.1, 0.1)
                + b.floats(count, -0.1, 0.1) + b.floats(count, 0, 0.1)
            let all = try b.output(6 * count, initial: values)
            let state = ParameterState(theta: all.view(at: 0, shape: [count]), anchor: all.view(at: count, shape: [count]),
                                       bigOmega: all.view(at: 2 * count, shape: [count]),
                                       smallOmega: all.view(at: 3 * count, shape: [count]),
                                       m: all.view(at: 4 * count, shape: [count]), v: all.view(at: 5 * count, shape: [count]))
            var gradients: [Tensor] = []
            for _ in 0..<steps { gradients.append(try b.tensor(b.floats(count))) }
            let hyper = AdamHyper(learningRate: 0.01)
            return b.prepared {
                for (t, gradient) in gradients.enumerated() {
                    try backend.fusedSIUpdate(state, taskGradient: gradient, strength: strength, hyper: hyper, step: t + 1)
                }
            }
        }, compare: OpCheck.maxError(reductionLength: steps))
    }

    /// `steps` consecutive fused SI updates with plain gradient descent, state laid out as in
    /// `fusedSIUpdate` (m and v included, so a kernel that wrote them would be caught).
    public static func fusedSISGDUpdate(count: Int, steps: Int, strength: Float) -> OpCheck {
        OpCheck(op: "fusedSISGDUpdate ×\(steps)", shape: "n\(count) c\(strength)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let values = b.floats(count) + b.floats(count) + b.floats(count, 0, 2) + b.floats(count, -0.1, 0.1)
                + b.floats(count, -0.1, 0.1) + b.floats(count, 0, 0.1)
            let all = try b.output(6 * count, initial: values)
            let state = ParameterState(theta: all.view(at: 0, shape: [count]), anchor: all.view(at: count, shape: [count]),
                                       bigOmega: all.view(at: 2 * count, shape: [count]),
                                       smallOmega: all.view(at: 3 * count, shape: [count]),
                                       m: all.view(at: 4 * count, shape: [count]), v: all.view(at: 5 * count, shape: [count]))
            var gradients: [Tensor] = []
            for _ in 0..<steps { gradients.append(try b.tensor(b.floats(count))) }
            return b.prepared {
                for gradient in gradients {
                    try backend.fusedSISGDUpdate(state, taskGradient: gradient, strength: strength, learningRate: 0.05)
                }
            }
        }, compare: OpCheck.maxError(reductionLength: 2 * steps))
    }

    public static func siConsolidate(count: Int, xi: Float) -> OpCheck {
        OpCheck(op: "siConsolidate", shape: "n\(count) ξ\(xi)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            // ω of both signs, so the clamp of the running total at 0 is exercised.
            let values = b.floats(count) + b.floats(count) + b.floats(count, 0, 0.5) + b.floats(count, -0.2, 0.1)
                + b.floats(count) + b.floats(count)
            let all = try b.output(6 * count, initial: values)
            let state = ParameterState(theta: all.view(at: 0, shape: [count]), anchor: all.view(at: count, shape: [count]),
                                       bigOmega: all.view(at: 2 * count, shape: [count]),
                                       smallOmega: all.view(at: 3 * count, shape: [count]),
                                       m: all.view(at: 4 * count, shape: [count]), v: all.view(at: 5 * count, shape: [count]))
            return b.prepared { try backend.siConsolidate(state, xi: xi) }
        }, compare: OpCheck.maxError(reductionLength: 4))
    }

    // MARK: Health of the state

    /// `stateHealth` on one state (six views of ONE buffer, as in a model) whose arrays listed in
    /// `bad` each hold one unhealthy element at a seeded position (NaN, ±∞, or for Ω and v also a
    /// negative value), and whose other arrays hold only healthy values, including negative θ,
    /// θ*, ω, m and −0 in Ω and v (which are healthy). result[0] starts with an unrelated bit set,
    /// which the op must keep (it ORs). Compared bit for bit: the flags are exact.
    public static func stateHealth(count: Int, bad: StateHealth) -> OpCheck {
        OpCheck(op: "stateHealth", shape: "n\(count) bad[\(bad)]", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            var arrays = [b.floats(count), b.floats(count), b.floats(count, 0, 2), b.floats(count),
                          b.floats(count), b.floats(count, 0, 0.1)]
            arrays[2][b.random.nextInt(below: count)] = -0.0
            arrays[5][b.random.nextInt(below: count)] = -0.0
            for (index, part) in StateHealth.parts.enumerated() where bad.contains(part.flag) {
                let nonNegative = part.flag == .importance || part.flag == .v
                let faults: [Float] = [.nan, .infinity, -.infinity] + (nonNegative ? [-1e-30, -3] : [])
                arrays[index][b.random.nextInt(below: count)] = faults[b.random.nextInt(below: faults.count)]
            }
            let all = try b.output(6 * count, initial: arrays.flatMap { $0 })
            let state = ParameterState(theta: all.view(at: 0, shape: [count]), anchor: all.view(at: count, shape: [count]),
                                       bigOmega: all.view(at: 2 * count, shape: [count]),
                                       smallOmega: all.view(at: 3 * count, shape: [count]),
                                       m: all.view(at: 4 * count, shape: [count]), v: all.view(at: 5 * count, shape: [count]))
            let result = try b.output(2, initial: [Float(bitPattern: 1 << 20), 0.25])
            return b.prepared { try backend.stateHealth(state, result: result) }
        }, compare: { device, reference in
            // The number of elements whose bits differ (NaN payloads included); none may.
            guard device.count == reference.count else { return (.infinity, 0) }
            var differing = 0
            for (d, r) in zip(device, reference) {
                guard d.count == r.count else { return (.infinity, 0) }
                differing += zip(d, r).filter { $0.bitPattern != $1.bitPattern }.count
            }
            return (Double(differing), 0)
        })
    }

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
