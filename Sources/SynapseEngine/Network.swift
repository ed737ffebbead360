/// A sequential network built from `LayerSpec`s on any `Backend`.
///
/// Memory layout: every parameter lives in ONE contiguous float32 buffer (`parameters`), layer by
/// layer, weight then bias; the gradients (`gradients`) use the same layout in a second buffer.
/// Layers hold views into both, so the optimizer and SI see each as a single tensor and update
/// every parameter in one launch. Activations are allocated once for `maxBatch` rows; a pass over
/// a smaller batch uses views of the first rows. Backward needs only two scratch buffers for the
/// gradients of activations, used alternately layer by layer.
///
/// `forward` and `backward` only enqueue ops: nothing in them waits for the device.
public final class Network {
    /// Where the parameters, gradients and activations live and every layer's ops run.
    public let backend: any Backend
    /// Per-example input shape, e.g. [3, 32, 32] (C, H, W) or [784].
    public let inputShape: [Int]
    /// Number of input elements per example (product of `inputShape`).
    public var inputSize: Int { elementCount(inputShape) }
    /// The most rows one pass can take; activations are sized for it.
    public let maxBatch: Int
    /// Units of the output layer (logits per example).
    public let outputUnits: Int
    /// The layers as specified.
    public let layerSpecs: [LayerSpec]
    /// Per-example output shape of each layer, in layer order.
    public let layerOutputShapes: [[Int]]
    /// Total number of parameters (float32 elements).
    public let parameterCount: Int
    /// θ of every layer, one contiguous float32 view of `parameterCount` elements (layer order, weight then bias).
    public let parameters: Tensor
    /// ∂L/∂θ, same layout; `backward` overwrites every element of it.
    public let gradients: Tensor
    /// The input staging buffer [maxBatch, inputSize] float32; the caller fills its first `batch`
    /// rows (e.g. with `backend.gatherRows`) before `forward`. Convolutional inputs are NCHW.
    public let input: Tensor
    /// Per-layer parameter regions for checkpoints and tests, in buffer order: names like
    /// "conv1.weight", "conv1.bias", "dense2.weight", "output.bias"; offset and count in elements.
    /// Conv weights are [K, C, 3, 3], dense and output weights [in, out].
    public let parameterRegions: [(name: String, offset: Int, count: Int)]
    /// Seed of the dropout masks: the mask of layer l (its index in `layerSpecs`) at training
    /// step s is `DropoutMask` with stream = l, step = s.
    public var dropoutSeed: UInt64

    /// The layers (internal, not private: tests switch the fused backward passes off to compare).
    let layers: [any Layer]
    /// Whether layer i must produce dInput: true when some earlier layer has parameters.
    private let needsInputGradient: [Bool]
    /// Two scratch buffers for activation gradients, each [maxBatch × the largest dInput].
    private let scratch: [Tensor]
    /// What the last forward pass saw, so backward reuses its views and checks its arguments.
    private var lastPass: (context: PassContext, inputs: [Tensor], outputs: [Tensor])?

    /// Builds the layers, allocates parameters, gradients, activations and scratch for `maxBatch`
    /// rows, and initialises the parameters from `seed` (see `initializeParameters`). The dropout
    /// seed starts as `seed` too. Throws `NetworkError` for an invalid layer list: the output layer
    /// must be last and only there, convolutions and pooling need a [C, H, W] input large enough,
    /// dense layers need a flat input (insert `.flatten`), sizes and rates must be in range.
    /// `outputInitialization` is `.zero` for multi-head outputs (the authors' heads) and
    /// `.glorotUniform` for a single-head output (Keras' default, as the authors' permuted-MNIST
    /// network has it).
    public init(backend: any Backend, inputShape: [Int], layers specs: [LayerSpec], maxBatch: Int,
                seed: UInt64, outputInitialization: OutputInitialization = .zero) throws {
        guard maxBatch >= 1 else { throw NetworkError("maxBatch must be at least 1, found \(maxBatch)") }
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 >= 1 }) else {
            throw NetworkError("input shape must have positive dimensions, found \(inputShape)")
        }
        guard case .output(let units)? = specs.last else {
            throw NetworkError("the last layer must be .output(units:), found \(specs.last.map { "\($0)" } ?? "no layers")")
        }

        // First pass: validate, and compute each layer's shapes and parameter region.
        var shapes: [[Int]] = []              // per-example output shape of each layer
        var parameterSizes: [Int] = []
        var regions: [(name: String, offset: Int, count: Int)] = []
        var shape = inputShape
        var offset = 0
        var convIndex = 0, denseIndex = 0
        for (index, spec) in specs.enumerated() {
            let context = "layer \(index) (\(spec)) with input shape \(shape)"
            var parameterCount = 0
            switch spec {
            case .conv3x3(let filters, let padding, _):
                guard shape.count == 3 else { throw NetworkError("\(context): a convolution needs a [C, H, W] input") }
                guard filters >= 1 else { throw NetworkError("\(context): filters must be at least 1") }
                let shrink = padding == .same ? 0 : 2
                guard shape[1] > shrink, shape[2] > shrink else {
                    throw NetworkError("\(context): a 'valid' 3×3 convolution needs H and W of at least 3")
                }
                parameterCount = ConvLayer.parameterCount(inChannels: shape[0], filters: filters)
                convIndex += 1
                regions.append(("conv\(convIndex).weight", offset, parameterCount - filters))
                regions.append(("conv\(convIndex).bias", offset + parameterCount - filters, filters))
                shape = [filters, shape[1] - shrink, shape[2] - shrink]
            case .maxPool2x2:
                guard shape.count == 3, shape[1] >= 2, shape[2] >= 2 else {
                    throw NetworkError("\(context): 2×2 max-pooling needs a [C, H, W] input with H, W ≥ 2")
                }
                shape = [shape[0], shape[1] / 2, shape[2] / 2]
            case .dropout(let rate):
                guard rate >= 0, rate < 1 else {
                    throw NetworkError("\(context): dropout rate must be in [0, 1), found \(rate)")
                }
            case .flatten:
                shape = [elementCount(shape)]
            case .dense(let units, _), .output(let units):
                guard shape.count == 1 else {
                    throw NetworkError("\(context): a dense layer needs a flat input; insert .flatten before it")
                }
                guard units >= 1 else { throw NetworkError("\(context): units must be at least 1") }
                if case .output = spec, index != specs.count - 1 {
                    throw NetworkError("\(context): .output must be the last layer")
                }
                parameterCount = DenseLayer.parameterCount(inputs: shape[0], units: units)
                let name: String
                if case .output = spec {
                    name = "output"
                } else {
                    denseIndex += 1
                    name = "dense\(denseIndex)"
                }
                regions.append(("\(name).weight", offset, shape[0] * units))
                regions.append(("\(name).bias", offset + shape[0] * units, units))
                shape = [units]
            }
            shapes.append(shape)
            parameterSizes.append(parameterCount)
            offset += parameterCount
        }

        self.backend = backend
        self.inputShape = inputShape
        self.maxBatch = maxBatch
        self.outputUnits = units
        self.layerSpecs = specs
        self.layerOutputShapes = shapes
        self.parameterCount = offset
        self.parameterRegions = regions
        self.dropoutSeed = seed
        parameters = Tensor(storage: try backend.allocate(.float32, count: offset), shape: [offset])
        gradients = Tensor(storage: try backend.allocate(.float32, count: offset), shape: [offset])
        input = Tensor(storage: try backend.allocate(.float32, count: maxBatch * elementCount(inputShape)),
                       shape: [maxBatch, elementCount(inputShape)])

        // Second pass: build the layers on views of the parameter and gradient buffers.
        var built: [any Layer] = []
        var needs: [Bool] = []
        var seenParameters = false
        var largestInputGradient = 0
        offset = 0
        for (index, spec) in specs.enumerated() {
            let layerInput = index == 0 ? inputShape : shapes[index - 1]
            let size = parameterSizes[index]
            let theta = parameters.view(at: offset, shape: [size])
            let grad = gradients.view(at: offset, shape: [size])
            offset += size
            let layer: any Layer
            switch spec {
            case .conv3x3(let filters, let padding, let relu):
                layer = try ConvLayer(backend: backend, inputShape: layerInput, filters: filters, padding: padding,
                                      relu: relu, parameters: theta, gradients: grad, maxBatch: maxBatch)
            case .maxPool2x2:
                layer = try MaxPoolLayer(backend: backend, inputShape: layerInput, maxBatch: maxBatch)
            case .dropout(let rate):
                layer = try DropoutLayer(backend: backend, inputShape: layerInput, rate: rate,
                                         stream: UInt32(index), maxBatch: maxBatch)
            case .flatten:
                layer = FlattenLayer(inputShape: layerInput)
            case .dense(let units, let relu):
                layer = try DenseLayer(backend: backend, inputs: layerInput[0], units: units, relu: relu,
                                       zeroInitialized: false, parameters: theta, gradients: grad, maxBatch: maxBatch)
            case .output(let units):
                layer = try DenseLayer(backend: backend, inputs: layerInput[0], units: units, relu: false,
                                       zeroInitialized: outputInitialization == .zero,
                                       parameters: theta, gradients: grad, maxBatch: maxBatch)
            }
            built.append(layer)
            // No one needs ∂L/∂input of the network, so layers before the first parameterised
            // one skip their dInput (for a first conv layer that is a whole backward pass).
            needs.append(seenParameters)
            if seenParameters { largestInputGradient = max(largestInputGradient, elementCount(layerInput)) }
            if size > 0 { seenParameters = true }
        }
        // A dense layer right above a dense layer with ReLU applies that ReLU's backward as it
        // writes its input gradient (its input is the ReLU's output): one pass fewer per pair.
        for index in built.indices.dropFirst() where needs[index] {
            if let upper = built[index] as? DenseLayer, let lower = built[index - 1] as? DenseLayer, lower.relu {
                upper.masksInputGradient = true
                lower.receivesMaskedGradient = true
            }
            // Likewise a convolution right above a convolution with ReLU, and a max-pool right
            // above a convolution with ReLU (their input is the ReLU's output).
            if let upper = built[index] as? ConvLayer, let lower = built[index - 1] as? ConvLayer, lower.relu {
                upper.masksInputGradient = true
                lower.receivesMaskedGradient = true
            }
            if let pool = built[index] as? MaxPoolLayer, let conv = built[index - 1] as? ConvLayer, conv.relu {
                pool.appliesReLUBackward = true
                conv.receivesMaskedGradient = true
            }
        }
        layers = built
        needsInputGradient = needs
        let scratchCount = maxBatch * max(1, largestInputGradient)
        scratch = [
            Tensor(storage: try backend.allocate(.float32, count: scratchCount), shape: [scratchCount]),
            Tensor(storage: try backend.allocate(.float32, count: scratchCount), shape: [scratchCount]),
        ]
        try initializeParameters(seed: seed)
    }

    /// Keras defaults: Glorot-uniform weights, U[−limit, limit) with limit = sqrt(6/(fanIn+fanOut))
    /// (conv: fanIn = C·3·3, fanOut = K·3·3; dense: fanIn = in, fanOut = out), zero biases, and an
    /// output layer as `outputInitialization` says (zero weights, or Glorot-uniform like a dense
    /// layer; its bias is zero either way). Drawn on the host from `SeededGenerator(seed:)` layer by layer in buffer
    /// order, then uploaded, so the same seed gives the same parameters on every backend.
    public func initializeParameters(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        var values: [Float] = []
        values.reserveCapacity(parameterCount)
        for layer in layers {
            values += layer.initialValues(using: &generator)
        }
        precondition(values.count == parameterCount, "layer initial values disagree with the parameter layout")
        try backend.upload(values, to: parameters)
    }

    /// Runs the layers on the first `batch` rows of `input`; returns the logits view [batch, outputUnits]
    /// (valid until the next forward). `training` turns dropout on, with masks keyed by
    /// (`dropoutSeed`, layer index, `step`) and numbered from row `rowOffset` of the whole minibatch
    /// (a process that computes rows r..<r+batch of it passes r). Enqueues only; never waits.
    public func forward(batch: Int, training: Bool, step: UInt32, rowOffset: Int = 0) throws -> Tensor {
        guard batch >= 1, batch <= maxBatch else {
            throw NetworkError("forward: batch must be in 1...\(maxBatch) (maxBatch), found \(batch)")
        }
        guard rowOffset >= 0 else { throw NetworkError("forward: rowOffset must be ≥ 0, found \(rowOffset)") }
        let context = PassContext(batch: batch, training: training, step: step, dropoutSeed: dropoutSeed,
                                  rowOffset: rowOffset)
        var x = input.leadingRows(batch).reshaped([batch] + inputShape)
        var inputs: [Tensor] = [], outputs: [Tensor] = []
        inputs.reserveCapacity(layers.count)
        outputs.reserveCapacity(layers.count)
        for layer in layers {
            inputs.append(x)
            x = try layer.forward(x, context)
            outputs.append(x)
        }
        lastPass = (context, inputs, outputs)
        return x
    }

    /// Back-propagates dLogits [batch, outputUnits] (float32, from the same forward) and overwrites
    /// `gradients`. Must follow `forward(batch:training:step:)` with the same batch and step; the
    /// dropout masks of that forward are reused. `dLogits` is read, never written. Enqueues only.
    public func backward(dLogits: Tensor, batch: Int, step: UInt32) throws {
        guard let pass = lastPass else {
            throw NetworkError("backward: no forward pass to back-propagate; call forward(batch:training:step:) first")
        }
        guard pass.context.batch == batch, pass.context.step == step else {
            throw NetworkError("backward: batch \(batch) and step \(step) differ from the last forward's "
                               + "batch \(pass.context.batch) and step \(pass.context.step)")
        }
        guard dLogits.elementType == .float32, dLogits.count >= batch * outputUnits else {
            throw NetworkError("backward: dLogits must be float32 with at least \(batch)×\(outputUnits) elements, "
                               + "found \(dLogits.elementType) of shape \(dLogits.shape)")
        }
        let context = pass.context   // the forward's dropout seed, so the masks match
        var dOutput = dLogits.view(at: 0, shape: [batch, outputUnits])
        var scratchIndex = 0     // the scratch buffer the next dInput goes to
        for index in layers.indices.reversed() {
            let target = needsInputGradient[index] ? scratch[scratchIndex] : nil
            guard let dInput = try layers[index].backward(
                input: pass.inputs[index], output: pass.outputs[index], dOutput: dOutput,
                dInputBuffer: target, context) else { break }
            // A layer that wrote into the scratch buffer moves the next one to the other buffer;
            // pass-through layers (flatten, dropout in place) keep the current one.
            if dInput.storage === scratch[scratchIndex].storage { scratchIndex = 1 - scratchIndex }
            dOutput = dInput
        }
    }
}
