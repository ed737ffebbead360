// The op checks, one factory per op (parameterised by shape, so a benchmark can build the same
// case at its own size): elementwise helpers, data, linear algebra, dense layers, convolution,
// bias, activations, pooling and dropout (the loss, optimizer and health checks: TrainingCases.swift).
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
}
