// The layers of a sequential network, written only against the `Backend` protocol.
// Shape letters: N batch, C input channels, K filters, H×W input spatial, P×Q output spatial.
// Activations are NCHW (convolutions) or [N, features] (dense); a layer's per-example shape
// excludes N.

/// Padding of a 3×3 convolution: 'same' (pad 1, output H×W) or 'valid' (pad 0, output (H−2)×(W−2)).
public enum ConvPadding: Sendable {
    /// One zero row and column on each side: the output keeps the input's H×W.
    case same
    /// No padding: the output loses two rows and two columns.
    case valid
}

/// One layer of a sequential network. ReLU is fused into conv/dense (`relu: true`).
public enum LayerSpec: Sendable, Equatable {
    /// 3×3 convolution, stride 1, weight [K, C, 3, 3] and bias [K]; Glorot-uniform weights
    /// (fanIn = C·9, fanOut = K·9), zero bias.
    case conv3x3(filters: Int, padding: ConvPadding, relu: Bool)
    /// 2×2 max-pool, stride 2, floor (an odd last row/column is dropped).
    case maxPool2x2
    /// Inverted dropout; `rate` is the fraction dropped (Keras), keep = 1 − rate.
    case dropout(rate: Float)
    /// [C, H, W] → [C·H·W] in C, H, W order (a reshape, no copy). Keras flattens channels-last
    /// tensors in H, W, C order instead; the order differs, not the function class, and these
    /// networks are trained from scratch, so nothing depends on it.
    case flatten
    /// x[N, in] · W[in, out] + b (Keras layout); Glorot-uniform weights, zero bias.
    case dense(units: Int, relu: Bool)
    /// The output layer: dense, no activation, zero bias; its weights are zero or Glorot-uniform
    /// as the network's `OutputInitialization` says. It must be the last layer.
    case output(units: Int)
}

/// How the output layer's weights start. The authors' code zero-initialises multi-head outputs
/// and leaves a single-head output at Keras' default (Glorot-uniform, fanIn = in, fanOut = out).
public enum OutputInitialization: Sendable, Equatable {
    case zero, glorotUniform
}

/// Errors raised when building or running a `Network`, with the value that was wrong.
public struct NetworkError: Error, CustomStringConvertible {
    /// One line naming the layer or argument and what was wrong with it.
    public let message: String
    /// An error with `message` (one line).
    public init(_ message: String) { self.message = message }
    /// The message itself, so that printing the error prints the line.
    public var description: String { message }
}

/// What one forward/backward pass shares with every layer.
struct PassContext {
    var batch: Int
    var training: Bool
    var step: UInt32
    var dropoutSeed: UInt64
    /// Index of this pass's row 0 in the whole minibatch (nonzero when a process computes only
    /// some of its rows): keys the dropout masks, so a row's mask does not depend on who runs it.
    var rowOffset: Int = 0
}

/// A layer with its activation buffer and (for conv/dense) views of its parameters and gradients.
/// Forward returns the output view for the first `batch` rows; backward returns dInput, either
/// written into `dInputBuffer` or passed through in place.
protocol Layer: AnyObject {
    var inputShape: [Int] { get }
    var outputShape: [Int] { get }
    /// Host-side initial values of this layer's parameter region (weight then bias).
    func initialValues(using generator: inout SeededGenerator) -> [Float]
    func forward(_ input: Tensor, _ context: PassContext) throws -> Tensor
    /// `dOutput` belongs to the network's scratch space (never the caller's dLogits unless this
    /// is the output layer, which does not modify it), so layers may overwrite it in place.
    /// `dInputBuffer` is nil when no one needs dInput (every layer before it is parameter-free).
    func backward(input: Tensor, output: Tensor, dOutput: Tensor, dInputBuffer: Tensor?,
                  _ context: PassContext) throws -> Tensor?
}

/// The number of elements in a per-example shape.
func elementCount(_ shape: [Int]) -> Int { shape.reduce(1, *) }

/// Glorot-uniform draws: U[−limit, limit) with limit = sqrt(6 / (fanIn + fanOut)).
func glorotUniform(count: Int, fanIn: Int, fanOut: Int, using generator: inout SeededGenerator) -> [Float] {
    let limit = (6.0 / Double(fanIn + fanOut)).squareRoot()
    return (0..<count).map { _ in Float((2 * generator.nextDouble() - 1) * limit) }
}

/// 3×3 convolution with fused bias and optional ReLU.
final class ConvLayer: Layer {
    let backend: any Backend
    let inputShape: [Int]      // [C, H, W]
    let outputShape: [Int]     // [K, P, Q]
    let relu: Bool
    let padding: Int           // elements of zero padding on each side (1 'same', 0 'valid')
    let weight, bias, dWeight, dBias: Tensor
    let outputBuffer: Tensor   // [maxBatch, K, P, Q]
    /// Set by `Network` when a max-pool right above applies this layer's ReLU backward as it
    /// writes dOutput (`maxPool2x2ReLUBackward`), or a convolution right above as it writes its
    /// input gradient, so `backward` skips its own `reluBackward`.
    var receivesMaskedGradient = false
    /// Set by `Network` when this layer's input is the output of a convolution with ReLU right
    /// below it: the input gradient is then written with that ReLU's backward applied (its mask
    /// is this layer's input), and the layer below has `receivesMaskedGradient` set.
    var masksInputGradient = false

    /// Weight then bias elements, per the parameter layout.
    static func parameterCount(inChannels: Int, filters: Int) -> Int { filters * inChannels * 9 + filters }

    init(backend: any Backend, inputShape: [Int], filters: Int, padding: ConvPadding, relu: Bool,
         parameters: Tensor, gradients: Tensor, maxBatch: Int) throws {
        let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
        let pad = padding == .same ? 1 : 0
        self.backend = backend
        self.inputShape = inputShape
        self.outputShape = [filters, h + 2 * pad - 2, w + 2 * pad - 2]
        self.relu = relu
        self.padding = pad
        let weightCount = filters * c * 9
        weight = parameters.view(at: 0, shape: [filters, c, 3, 3])
        bias = parameters.view(at: weightCount, shape: [filters])
        dWeight = gradients.view(at: 0, shape: [filters, c, 3, 3])
        dBias = gradients.view(at: weightCount, shape: [filters])
        outputBuffer = Tensor(storage: try backend.allocate(.float32, count: maxBatch * elementCount(outputShape)),
                              shape: [maxBatch] + outputShape)
    }

    private func shape(batch: Int) -> ConvShape {
        ConvShape(batch: batch, inChannels: inputShape[0], height: inputShape[1], width: inputShape[2],
                  outChannels: outputShape[0], kernelSize: 3, padding: padding)
    }

    func initialValues(using generator: inout SeededGenerator) -> [Float] {
        let (c, k) = (inputShape[0], outputShape[0])
        return glorotUniform(count: k * c * 9, fanIn: c * 9, fanOut: k * 9, using: &generator)
            + [Float](repeating: 0, count: k)
    }

    func forward(_ input: Tensor, _ context: PassContext) throws -> Tensor {
        let output = outputBuffer.leadingRows(context.batch)
        try backend.conv2dForward(shape(batch: context.batch), input: input, weight: weight, bias: bias,
                                  relu: relu, output: output)
        return output
    }

    func backward(input: Tensor, output: Tensor, dOutput: Tensor, dInputBuffer: Tensor?,
                  _ context: PassContext) throws -> Tensor? {
        let convShape = shape(batch: context.batch)
        if relu && !receivesMaskedGradient {
            // Through the fused ReLU: its output is positive exactly where the pre-activation was.
            try backend.reluBackward(output: output, dOutput: dOutput, count: convShape.outputCount, dInput: dOutput)
        }
        try backend.conv2dBackwardWeight(convShape, input: input, dOutput: dOutput, dWeight: dWeight, dBias: dBias)
        guard let dInputBuffer else { return nil }
        let dInput = dInputBuffer.view(at: 0, shape: [context.batch] + inputShape)
        try backend.conv2dBackwardInput(convShape, dOutput: dOutput, weight: weight,
                                        reluOutput: masksInputGradient ? input : nil, dInput: dInput)
        return dInput
    }
}

/// Dense layer (also the output layer, which has no ReLU and may start at zero).
final class DenseLayer: Layer {
    let backend: any Backend
    let inputShape: [Int]      // [in]
    let outputShape: [Int]     // [out]
    let relu: Bool
    let zeroInitialized: Bool
    let weight, bias, dWeight, dBias: Tensor
    let outputBuffer: Tensor   // [maxBatch, out]
    /// Set by `Network` when this layer's input is the output of a dense layer with ReLU right
    /// below it: the input gradient is then written with that ReLU's backward applied (its mask
    /// is this layer's input), and the layer below has `receivesMaskedGradient` set.
    var masksInputGradient = false
    /// Set by `Network` when the layer above applies this layer's ReLU backward as it writes
    /// dOutput, so `backward` skips its own `reluBackward`.
    var receivesMaskedGradient = false

    static func parameterCount(inputs: Int, units: Int) -> Int { inputs * units + units }

    init(backend: any Backend, inputs: Int, units: Int, relu: Bool, zeroInitialized: Bool,
         parameters: Tensor, gradients: Tensor, maxBatch: Int) throws {
        self.backend = backend
        inputShape = [inputs]
        outputShape = [units]
        self.relu = relu
        self.zeroInitialized = zeroInitialized
        weight = parameters.view(at: 0, shape: [inputs, units])
        bias = parameters.view(at: inputs * units, shape: [units])
        dWeight = gradients.view(at: 0, shape: [inputs, units])
        dBias = gradients.view(at: inputs * units, shape: [units])
        outputBuffer = Tensor(storage: try backend.allocate(.float32, count: maxBatch * units),
                              shape: [maxBatch, units])
    }

    func initialValues(using generator: inout SeededGenerator) -> [Float] {
        let (inputs, units) = (inputShape[0], outputShape[0])
        if zeroInitialized { return [Float](repeating: 0, count: inputs * units + units) }
        return glorotUniform(count: inputs * units, fanIn: inputs, fanOut: units, using: &generator)
            + [Float](repeating: 0, count: units)
    }

    func forward(_ input: Tensor, _ context: PassContext) throws -> Tensor {
        let (n, inputs, units) = (context.batch, inputShape[0], outputShape[0])
        let output = outputBuffer.leadingRows(n)
        // y[N, out] = x[N, in] · W[in, out] + b (and ReLU), one op.
        try backend.denseForward(input: input, weight: weight, bias: bias, batch: n, inputs: inputs, units: units,
                                 relu: relu, output: output)
        return output
    }

    func backward(input: Tensor, output: Tensor, dOutput: Tensor, dInputBuffer: Tensor?,
                  _ context: PassContext) throws -> Tensor? {
        let (n, inputs, units) = (context.batch, inputShape[0], outputShape[0])
        if relu && !receivesMaskedGradient {
            try backend.reluBackward(output: output, dOutput: dOutput, count: n * units, dInput: dOutput)
        }
        // dW[in, out] = xᵀ · dY and dBias = Σ_n dY, one op.
        try backend.denseBackwardWeight(input: input, dOutput: dOutput, batch: n, inputs: inputs, units: units,
                                        dWeight: dWeight, dBias: dBias)
        guard let dInputBuffer else { return nil }
        // dX[N, in] = dY · Wᵀ, with the ReLU backward of the dense layer below on store when
        // this layer's input is that ReLU's output.
        let dInput = dInputBuffer.view(at: 0, shape: [n, inputs])
        try backend.denseBackwardInput(dOutput: dOutput, weight: weight, batch: n, inputs: inputs, units: units,
                                       reluOutput: masksInputGradient ? input : nil, dInput: dInput)
        return dInput
    }
}

/// 2×2 max-pool, stride 2, floor, over each of the N·C planes.
final class MaxPoolLayer: Layer {
    let backend: any Backend
    let inputShape: [Int]      // [C, H, W]
    let outputShape: [Int]     // [C, H/2, W/2]
    let outputBuffer: Tensor
    /// Set by `Network` when the layer below is a convolution with ReLU (whose output is this
    /// layer's input): backward then applies that ReLU's backward too (`maxPool2x2ReLUBackward`).
    var appliesReLUBackward = false

    init(backend: any Backend, inputShape: [Int], maxBatch: Int) throws {
        self.backend = backend
        self.inputShape = inputShape
        outputShape = [inputShape[0], inputShape[1] / 2, inputShape[2] / 2]
        outputBuffer = Tensor(storage: try backend.allocate(.float32, count: maxBatch * elementCount(outputShape)),
                              shape: [maxBatch] + outputShape)
    }

    func initialValues(using generator: inout SeededGenerator) -> [Float] { [] }

    func forward(_ input: Tensor, _ context: PassContext) throws -> Tensor {
        let output = outputBuffer.leadingRows(context.batch)
        try backend.maxPool2x2Forward(input: input, planes: context.batch * inputShape[0],
                                      height: inputShape[1], width: inputShape[2], output: output)
        return output
    }

    func backward(input: Tensor, output: Tensor, dOutput: Tensor, dInputBuffer: Tensor?,
                  _ context: PassContext) throws -> Tensor? {
        guard let dInputBuffer else { return nil }
        let dInput = dInputBuffer.view(at: 0, shape: [context.batch] + inputShape)
        if appliesReLUBackward {
            try backend.maxPool2x2ReLUBackward(input: input, dOutput: dOutput, planes: context.batch * inputShape[0],
                                               height: inputShape[1], width: inputShape[2], dInput: dInput)
        } else {
            try backend.maxPool2x2Backward(input: input, dOutput: dOutput, planes: context.batch * inputShape[0],
                                           height: inputShape[1], width: inputShape[2], dInput: dInput)
        }
        return dInput
    }
}

/// Inverted dropout; the mask of layer `stream` at training step `step` is `DropoutMask`.
/// Outside training it passes its input through (no copy).
final class DropoutLayer: Layer {
    let backend: any Backend
    let inputShape: [Int]
    var outputShape: [Int] { inputShape }
    let keepProbability: Float
    let stream: UInt32
    let outputBuffer: Tensor

    init(backend: any Backend, inputShape: [Int], rate: Float, stream: UInt32, maxBatch: Int) throws {
        self.backend = backend
        self.inputShape = inputShape
        keepProbability = 1 - rate
        self.stream = stream
        outputBuffer = Tensor(storage: try backend.allocate(.float32, count: maxBatch * elementCount(inputShape)),
                              shape: [maxBatch] + inputShape)
    }

    func initialValues(using generator: inout SeededGenerator) -> [Float] { [] }

    func forward(_ input: Tensor, _ context: PassContext) throws -> Tensor {
        guard context.training else { return input }
        let output = outputBuffer.leadingRows(context.batch)
        try backend.dropoutForward(input: input, count: output.count, keepProbability: keepProbability,
                                   seed: context.dropoutSeed, stream: stream, step: context.step,
                                   firstIndex: try firstIndex(context), output: output)
        return output
    }

    func backward(input: Tensor, output: Tensor, dOutput: Tensor, dInputBuffer: Tensor?,
                  _ context: PassContext) throws -> Tensor? {
        guard dInputBuffer != nil else { return nil }
        guard context.training else { return dOutput }
        // In place: dOutput is the network's scratch, and its old values are not needed again.
        try backend.dropoutBackward(dOutput: dOutput, count: context.batch * elementCount(inputShape), keepProbability: keepProbability,
                                    seed: context.dropoutSeed, stream: stream, step: context.step,
                                    firstIndex: try firstIndex(context), dInput: dOutput)
        return dOutput
    }

    /// The mask index of this pass's element 0: rows before it × values per row.
    private func firstIndex(_ context: PassContext) throws -> Int {
        let perRow = elementCount(inputShape)
        guard context.rowOffset == 0 || perRow % 4 == 0 else {
            throw NetworkError("dropout layer \(stream) has \(perRow) values per example; splitting a minibatch across "
                               + "processes needs a multiple of 4 (the mask is drawn 4 values at a time)")
        }
        return context.rowOffset * perRow
    }
}

/// [C, H, W] → [C·H·W]: a reshape of the same elements (C, H, W order).
final class FlattenLayer: Layer {
    let inputShape: [Int]
    let outputShape: [Int]

    init(inputShape: [Int]) {
        self.inputShape = inputShape
        outputShape = [elementCount(inputShape)]
    }

    func initialValues(using generator: inout SeededGenerator) -> [Float] { [] }

    func forward(_ input: Tensor, _ context: PassContext) throws -> Tensor {
        input.reshaped([context.batch] + outputShape)
    }

    func backward(input: Tensor, output: Tensor, dOutput: Tensor, dInputBuffer: Tensor?,
                  _ context: PassContext) throws -> Tensor? {
        guard dInputBuffer != nil else { return nil }
        return dOutput.reshaped([context.batch] + inputShape)
    }
}
