// The argument checks of every `Backend` op, written once. Each backend calls the check of an op
// before it touches memory or enqueues anything, so both backends reject the same bad call with
// the same message, and a new backend inherits the checks by calling them.
//
// What is checked here is everything that can be decided from the arguments alone: sizes ≥ 0,
// size products that fit an `Int`, element types, views large enough for the sizes given, and
// the ranges of scalar arguments (ξ > 0, Adam's step t ≥ 1, keep probability in (0, 1], a live
// unit range inside the logits). What depends on the data (an index inside its source, a label
// inside the live units) cannot be checked without reading device memory; the reference backend
// checks it while it runs, and the kernels document what they do instead.
//
// Messages read "<op>: <argument> <what is wrong>, got <value>", one line each.

/// The precondition of each `Backend` op on its arguments: a backend calls
/// `OpContract.<op>(…)` with the arguments it received, first thing.
///
/// Each function throws a `BackendError` whose message starts with the op's name, names the
/// offending argument and says what was expected. Functions are named after the op they guard and
/// take the same argument labels, so a backend's call reads like the op's own signature.
public enum OpContract {

    // MARK: Shared checks

    /// Throws unless every size is ≥ 0. Sizes often come from user input, so a negative one must
    /// be an error, not a crash in a loop bound.
    static func sizes(_ op: String, _ sizes: KeyValuePairs<String, Int>) throws {
        for (name, value) in sizes where value < 0 {
            throw BackendError("\(op): \(name) must be ≥ 0, got \(value)")
        }
    }

    /// The product of non-negative sizes, or an error when it does not fit an `Int` (sizes from a
    /// file could otherwise overflow into a small or negative element count).
    static func product(_ op: String, _ factors: Int...) throws -> Int {
        var total = 1
        for factor in factors {
            let (next, overflow) = total.multipliedReportingOverflow(by: factor)
            guard !overflow else {
                throw BackendError("\(op): the element count \(factors.map(String.init).joined(separator: " × ")) overflows")
            }
            total = next
        }
        return total
    }

    /// Throws unless `tensor` holds elements of `type` and at least `count` of them.
    static func view(_ op: String, _ role: String, _ tensor: Tensor, _ type: ElementType = .float32,
                     holds count: Int) throws {
        guard tensor.elementType == type else {
            throw BackendError("\(op): \(role) must be \(type), got \(tensor.elementType)")
        }
        guard tensor.count >= count else {
            throw BackendError("\(op): \(role) holds \(tensor.count) elements (shape \(tensor.shape)), the sizes given need \(count)")
        }
    }

    /// Throws unless every view of `state` is float32 and holds `state.count` elements.
    static func parameterState(_ op: String, _ state: ParameterState) throws {
        for (role, tensor) in [("theta", state.theta), ("anchor", state.anchor), ("importance", state.bigOmega),
                               ("omega", state.smallOmega), ("m", state.m), ("v", state.v)] {
            try view(op, role, tensor, holds: state.count)
        }
    }

    // MARK: Memory

    /// `allocate`: the element count is ≥ 0.
    public static func allocate(_ type: ElementType, count: Int) throws {
        try sizes("allocate", ["count": count])
    }

    /// `upload`: the values have the view's element type and fill it exactly (a short or long
    /// upload is almost always an off-by-a-batch bug, so it is an error rather than a partial write).
    public static func upload(_ valueCount: Int, of type: ElementType, to tensor: Tensor) throws {
        let op = "upload"
        guard tensor.elementType == type else {
            throw BackendError("\(op): \(type) values into a \(tensor.elementType) view")
        }
        guard valueCount == tensor.count else {
            throw BackendError("\(op): \(valueCount) values into a view of \(tensor.count) elements (shape \(tensor.shape))")
        }
    }

    /// `download` (float32) and `downloadInt32`: the view has the element type asked for.
    public static func download(_ tensor: Tensor, as type: ElementType) throws {
        let op = type == .int32 ? "downloadInt32" : "download"
        guard tensor.elementType == type else {
            throw BackendError("\(op): the view is \(tensor.elementType), expected \(type)")
        }
    }

    // MARK: Elementwise helpers

    /// `fill`: the value is representable in the view's element type (any float for float32; an
    /// integer in range for int32 and uint8), so no value is silently rounded.
    public static func fill(_ tensor: Tensor, value: Float) throws {
        let op = "fill"
        switch tensor.elementType {
        case .float32:
            return
        case .int32:
            guard Int32(exactly: value) != nil else {
                throw BackendError("\(op): an int32 view needs an integer in Int32 range, got \(value)")
            }
        case .uint8:
            guard UInt8(exactly: value) != nil else {
                throw BackendError("\(op): a uint8 view needs an integer in 0...255, got \(value)")
            }
        }
    }

    /// `copy`: same element type and element count on both sides.
    public static func copy(_ source: Tensor, to destination: Tensor) throws {
        let op = "copy"
        guard source.elementType == destination.elementType else {
            throw BackendError("\(op): source is \(source.elementType) but destination is \(destination.elementType)")
        }
        guard source.count == destination.count else {
            throw BackendError("\(op): source has \(source.count) elements, destination \(destination.count)")
        }
    }

    /// `accumulate`: two float32 views of equal element count.
    public static func accumulate(_ source: Tensor, into destination: Tensor) throws {
        let op = "accumulate"
        guard source.count == destination.count else {
            throw BackendError("\(op): source has \(source.count) elements, destination \(destination.count)")
        }
        try view(op, "source", source, holds: source.count)
        try view(op, "destination", destination, holds: destination.count)
    }

    /// `accumulateSum`: `count` ≥ 0 values, and an accumulator of at least one element.
    public static func accumulateSum(_ values: Tensor, count: Int, into accumulator: Tensor) throws {
        let op = "accumulateSum"
        try sizes(op, ["count": count])
        try view(op, "values", values, holds: count)
        try view(op, "accumulator", accumulator, holds: 1)
    }

    // MARK: Data

    /// `gatherRows`: uint8 source, int32 indices for `rows` rows, float32 destination of
    /// `rows × rowLength`.
    public static func gatherRows(_ source: Tensor, indices: Tensor, rows: Int, rowLength: Int,
                                  into destination: Tensor) throws {
        let op = "gatherRows"
        try sizes(op, ["rows": rows, "rowLength": rowLength])
        try view(op, "source", source, .uint8, holds: 0)
        try view(op, "indices", indices, .int32, holds: rows)
        try view(op, "destination", destination, holds: try product(op, rows, rowLength))
    }

    /// `gatherLabels`: int32 source, indices and destination, `rows` of each.
    public static func gatherLabels(_ source: Tensor, indices: Tensor, rows: Int, into destination: Tensor) throws {
        let op = "gatherLabels"
        try sizes(op, ["rows": rows])
        try view(op, "source", source, .int32, holds: 0)
        try view(op, "indices", indices, .int32, holds: rows)
        try view(op, "destination", destination, .int32, holds: rows)
    }

    // MARK: Linear algebra

    /// `gemm`: M, N, K ≥ 0; A holds M·K, B holds K·N, C holds M·N floats (the transposes change
    /// the layout, not the counts).
    public static func gemm(m: Int, n: Int, k: Int, a: Tensor, b: Tensor, c: Tensor) throws {
        let op = "gemm"
        try sizes(op, ["m": m, "n": n, "k": k])
        try view(op, "a", a, holds: try product(op, m, k))
        try view(op, "b", b, holds: try product(op, k, n))
        try view(op, "c", c, holds: try product(op, m, n))
    }

    /// `denseForward`: sizes ≥ 0; input holds batch·inputs, weight inputs·units, bias units,
    /// output batch·units floats.
    public static func denseForward(input: Tensor, weight: Tensor, bias: Tensor, batch: Int, inputs: Int, units: Int,
                                    output: Tensor) throws {
        let op = "denseForward"
        try sizes(op, ["batch": batch, "inputs": inputs, "units": units])
        try view(op, "input", input, holds: try product(op, batch, inputs))
        try view(op, "weight", weight, holds: try product(op, inputs, units))
        try view(op, "bias", bias, holds: units)
        try view(op, "output", output, holds: try product(op, batch, units))
    }

    /// `denseBackwardWeight`: sizes ≥ 0; input holds batch·inputs, dOutput batch·units, dWeight
    /// inputs·units, dBias units floats.
    public static func denseBackwardWeight(input: Tensor, dOutput: Tensor, batch: Int, inputs: Int, units: Int,
                                           dWeight: Tensor, dBias: Tensor) throws {
        let op = "denseBackwardWeight"
        try sizes(op, ["batch": batch, "inputs": inputs, "units": units])
        try view(op, "input", input, holds: try product(op, batch, inputs))
        try view(op, "dOutput", dOutput, holds: try product(op, batch, units))
        try view(op, "dWeight", dWeight, holds: try product(op, inputs, units))
        try view(op, "dBias", dBias, holds: units)
    }

    /// `denseBackwardInput`: sizes ≥ 0; dOutput holds batch·units, weight inputs·units, dInput and
    /// (when given) reluOutput batch·inputs floats.
    public static func denseBackwardInput(dOutput: Tensor, weight: Tensor, batch: Int, inputs: Int, units: Int,
                                          reluOutput: Tensor?, dInput: Tensor) throws {
        let op = "denseBackwardInput"
        try sizes(op, ["batch": batch, "inputs": inputs, "units": units])
        try view(op, "dOutput", dOutput, holds: try product(op, batch, units))
        try view(op, "weight", weight, holds: try product(op, inputs, units))
        if let reluOutput { try view(op, "reluOutput", reluOutput, holds: try product(op, batch, inputs)) }
        try view(op, "dInput", dInput, holds: try product(op, batch, inputs))
    }

    // MARK: Convolution

    /// A usable convolution geometry: every size ≥ 0, the filter at least 1×1, padding ≥ 0, and
    /// an output of at least 1×1; element counts that fit an `Int`.
    static func convShape(_ op: String, _ shape: ConvShape) throws {
        try sizes(op, ["batch": shape.batch, "inChannels": shape.inChannels, "height": shape.height,
                       "width": shape.width, "outChannels": shape.outChannels, "padding": shape.padding])
        guard shape.kernelSize >= 1 else {
            throw BackendError("\(op): kernelSize must be ≥ 1, got \(shape.kernelSize)")
        }
        guard shape.outHeight >= 1, shape.outWidth >= 1 else {
            throw BackendError("\(op): shape \(shape) has an empty output (\(shape.outHeight)x\(shape.outWidth))")
        }
        _ = try product(op, shape.batch, shape.inChannels, shape.height, shape.width)
        _ = try product(op, shape.batch, shape.outChannels, shape.outHeight, shape.outWidth)
        _ = try product(op, shape.outChannels, shape.inChannels, shape.kernelSize, shape.kernelSize)
    }

    /// `conv2dForward`: a usable geometry and views of its sizes.
    public static func conv2dForward(_ shape: ConvShape, input: Tensor, weight: Tensor, bias: Tensor,
                                     output: Tensor) throws {
        let op = "conv2dForward"
        try convShape(op, shape)
        try view(op, "input", input, holds: shape.inputCount)
        try view(op, "weight", weight, holds: shape.weightCount)
        try view(op, "bias", bias, holds: shape.outChannels)
        try view(op, "output", output, holds: shape.outputCount)
    }

    /// `conv2dBackwardInput`: a usable geometry and views of its sizes (reluOutput, when given,
    /// dInput's).
    public static func conv2dBackwardInput(_ shape: ConvShape, dOutput: Tensor, weight: Tensor, reluOutput: Tensor? = nil,
                                           dInput: Tensor) throws {
        let op = "conv2dBackwardInput"
        try convShape(op, shape)
        try view(op, "dOutput", dOutput, holds: shape.outputCount)
        try view(op, "weight", weight, holds: shape.weightCount)
        if let reluOutput { try view(op, "reluOutput", reluOutput, holds: shape.inputCount) }
        try view(op, "dInput", dInput, holds: shape.inputCount)
    }

    /// `conv2dBackwardWeight`: a usable geometry and views of its sizes.
    public static func conv2dBackwardWeight(_ shape: ConvShape, input: Tensor, dOutput: Tensor,
                                            dWeight: Tensor, dBias: Tensor) throws {
        let op = "conv2dBackwardWeight"
        try convShape(op, shape)
        try view(op, "input", input, holds: shape.inputCount)
        try view(op, "dOutput", dOutput, holds: shape.outputCount)
        try view(op, "dWeight", dWeight, holds: shape.weightCount)
        try view(op, "dBias", dBias, holds: shape.outChannels)
    }

    // MARK: Bias, activations, pooling

    /// `addBias`: sizes ≥ 0, x holds outer·channels·inner, bias holds channels.
    public static func addBias(_ x: Tensor, bias: Tensor, outer: Int, channels: Int, inner: Int) throws {
        let op = "addBias"
        try sizes(op, ["outer": outer, "channels": channels, "inner": inner])
        try view(op, "x", x, holds: try product(op, outer, channels, inner))
        try view(op, "bias", bias, holds: channels)
    }

    /// `biasBackward`: sizes ≥ 0, dOutput holds outer·channels·inner, dBias holds channels.
    public static func biasBackward(_ dOutput: Tensor, outer: Int, channels: Int, inner: Int, dBias: Tensor) throws {
        let op = "biasBackward"
        try sizes(op, ["outer": outer, "channels": channels, "inner": inner])
        try view(op, "dOutput", dOutput, holds: try product(op, outer, channels, inner))
        try view(op, "dBias", dBias, holds: channels)
    }

    /// `reluBackward`: count ≥ 0 and three views of at least count floats.
    public static func reluBackward(output: Tensor, dOutput: Tensor, count: Int, dInput: Tensor) throws {
        let op = "reluBackward"
        try sizes(op, ["count": count])
        try view(op, "output", output, holds: count)
        try view(op, "dOutput", dOutput, holds: count)
        try view(op, "dInput", dInput, holds: count)
    }

    /// `maxPool2x2Forward`: sizes ≥ 0; output holds planes·⌊H/2⌋·⌊W/2⌋.
    public static func maxPool2x2Forward(input: Tensor, planes: Int, height: Int, width: Int, output: Tensor) throws {
        let op = "maxPool2x2Forward"
        try sizes(op, ["planes": planes, "height": height, "width": width])
        try view(op, "input", input, holds: try product(op, planes, height, width))
        try view(op, "output", output, holds: try product(op, planes, height / 2, width / 2))
    }

    /// `maxPool2x2Backward`: sizes ≥ 0; input and dInput hold planes·H·W, dOutput the pooled size.
    public static func maxPool2x2Backward(input: Tensor, dOutput: Tensor, planes: Int, height: Int, width: Int,
                                          dInput: Tensor) throws {
        try poolBackward("maxPool2x2Backward", input: input, dOutput: dOutput, planes: planes, height: height,
                         width: width, dInput: dInput)
    }

    /// `maxPool2x2ReLUBackward`: as `maxPool2x2Backward`.
    public static func maxPool2x2ReLUBackward(input: Tensor, dOutput: Tensor, planes: Int, height: Int, width: Int,
                                              dInput: Tensor) throws {
        try poolBackward("maxPool2x2ReLUBackward", input: input, dOutput: dOutput, planes: planes, height: height,
                         width: width, dInput: dInput)
    }

    private static func poolBackward(_ op: String, input: Tensor, dOutput: Tensor, planes: Int, height: Int, width: Int,
                                     dInput: Tensor) throws {
        try sizes(op, ["planes": planes, "height": height, "width": width])
        let full = try product(op, planes, height, width)
        try view(op, "input", input, holds: full)
        try view(op, "dOutput", dOutput, holds: try product(op, planes, height / 2, width / 2))
        try view(op, "dInput", dInput, holds: full)
    }

    // MARK: Dropout

    /// Shared by both dropout ops: count ≥ 0, keep probability in (0, 1] (0 would divide by
    /// zero when scaling the kept values), firstIndex a multiple of 4 (the mask is drawn in blocks
    /// of 4 elements, and the block counter is 32 bits), two views of count floats.
    static func dropout(_ op: String, _ sourceRole: String, _ source: Tensor, count: Int, keepProbability: Float,
                        firstIndex: Int, _ targetRole: String, _ target: Tensor) throws {
        try sizes(op, ["count": count])
        guard keepProbability > 0 && keepProbability <= 1 else {
            throw BackendError("\(op): keepProbability must be in (0, 1], got \(keepProbability)")
        }
        guard firstIndex >= 0, firstIndex % 4 == 0, firstIndex / 4 <= Int(UInt32.max) else {
            throw BackendError("\(op): firstIndex must be a multiple of 4 in 0...\(4 * Int(UInt32.max)), got \(firstIndex)")
        }
        try view(op, sourceRole, source, holds: count)
        try view(op, targetRole, target, holds: count)
    }

    /// `dropoutForward`: see `dropout`.
    public static func dropoutForward(input: Tensor, count: Int, keepProbability: Float, firstIndex: Int = 0,
                                      output: Tensor) throws {
        try dropout("dropoutForward", "input", input, count: count, keepProbability: keepProbability,
                    firstIndex: firstIndex, "output", output)
    }

    /// `dropoutBackward`: see `dropout`.
    public static func dropoutBackward(dOutput: Tensor, count: Int, keepProbability: Float, firstIndex: Int = 0,
                                       dInput: Tensor) throws {
        try dropout("dropoutBackward", "dOutput", dOutput, count: count, keepProbability: keepProbability,
                    firstIndex: firstIndex, "dInput", dInput)
    }

    // MARK: Loss and accuracy

    /// Shared by the two multi-head ops: batch, units ≥ 0, a non-empty live range inside the
    /// units, logits of batch·units floats and batch int32 labels.
    static func head(_ op: String, logits: Tensor, labels: Tensor, batch: Int, units: Int,
                     unitStart: Int, unitCount: Int) throws {
        try sizes(op, ["batch": batch, "units": units])
        guard unitStart >= 0, unitCount >= 1, unitStart <= units - unitCount else {
            throw BackendError("\(op): live units [\(unitStart), \(unitStart) + \(unitCount)) must be a non-empty range inside [0, \(units))")
        }
        try view(op, "logits", logits, holds: try product(op, batch, units))
        try view(op, "labels", labels, .int32, holds: batch)
    }

    /// `softmaxCrossEntropy`: see `head`; losses hold batch, dLogits batch·units floats.
    public static func softmaxCrossEntropy(logits: Tensor, labels: Tensor, batch: Int, units: Int,
                                           unitStart: Int, unitCount: Int, losses: Tensor, dLogits: Tensor) throws {
        let op = "softmaxCrossEntropy"
        try head(op, logits: logits, labels: labels, batch: batch, units: units, unitStart: unitStart, unitCount: unitCount)
        try view(op, "losses", losses, holds: batch)
        try view(op, "dLogits", dLogits, holds: batch * units)
    }

    /// `countCorrect`: see `head`; the counter holds one float.
    public static func countCorrect(logits: Tensor, labels: Tensor, batch: Int, units: Int,
                                    unitStart: Int, unitCount: Int, counter: Tensor) throws {
        let op = "countCorrect"
        try head(op, logits: logits, labels: labels, batch: batch, units: units, unitStart: unitStart, unitCount: unitCount)
        try view(op, "counter", counter, holds: 1)
    }

    /// `distillation`: batch, units, targetRows ≥ 0, a non-empty live range inside the units,
    /// temperature finite and > 0, weight finite and ≥ 0; logits and dLogits hold batch·units
    /// floats, targets targetRows·units, indices batch int32, losses batch floats.
    public static func distillation(logits: Tensor, targets: Tensor, indices: Tensor, batch: Int, units: Int,
                                    targetRows: Int, unitStart: Int, unitCount: Int, temperature: Float, weight: Float,
                                    losses: Tensor, dLogits: Tensor) throws {
        let op = "distillation"
        try sizes(op, ["batch": batch, "units": units, "targetRows": targetRows])
        guard unitStart >= 0, unitCount >= 1, unitStart <= units - unitCount else {
            throw BackendError("\(op): live units [\(unitStart), \(unitStart) + \(unitCount)) must be a non-empty range inside [0, \(units))")
        }
        guard temperature.isFinite, temperature > 0 else {
            throw BackendError("\(op): temperature must be finite and > 0, got \(temperature)")
        }
        guard weight.isFinite, weight >= 0 else { throw BackendError("\(op): weight must be finite and ≥ 0, got \(weight)") }
        try view(op, "logits", logits, holds: try product(op, batch, units))
        try view(op, "targets", targets, holds: try product(op, targetRows, units))
        try view(op, "indices", indices, .int32, holds: batch)
        try view(op, "losses", losses, holds: batch)
        try view(op, "dLogits", dLogits, holds: batch * units)
    }

    // MARK: Optimizer and Synaptic Intelligence

    /// `fusedSIUpdate`: Adam's step t ≥ 1 (t = 0 would divide by the bias correction 1 − β^0 = 0),
    /// and every state view and the task gradient hold the parameter count.
    public static func fusedSIUpdate(_ state: ParameterState, taskGradient: Tensor, step: Int) throws {
        let op = "fusedSIUpdate"
        guard step >= 1 else {
            throw BackendError("\(op): step is Adam's t, which must be ≥ 1 (1 right after a reset), got \(step)")
        }
        try parameterState(op, state)
        try view(op, "taskGradient", taskGradient, holds: state.count)
    }

    /// `fusedSISGDUpdate`: the learning rate finite and > 0, every state view and the task gradient
    /// hold the parameter count.
    public static func fusedSISGDUpdate(_ state: ParameterState, taskGradient: Tensor, learningRate: Float) throws {
        let op = "fusedSISGDUpdate"
        guard learningRate > 0 && learningRate.isFinite else {
            throw BackendError("\(op): learningRate must be finite and > 0, got \(learningRate)")
        }
        try parameterState(op, state)
        try view(op, "taskGradient", taskGradient, holds: state.count)
    }

    /// `siConsolidate`: ξ finite and > 0 (with ξ ≤ 0 a parameter that did not move would divide
    /// by zero), and every state view holds the parameter count.
    public static func siConsolidate(_ state: ParameterState, xi: Float) throws {
        let op = "siConsolidate"
        guard xi > 0 && xi.isFinite else {
            throw BackendError("\(op): xi (the damping ξ) must be finite and > 0, got \(xi)")
        }
        try parameterState(op, state)
    }

    // MARK: Health of the state

    /// `stateHealth`: every state view holds the parameter count; the result holds one element.
    public static func stateHealth(_ state: ParameterState, result: Tensor) throws {
        let op = "stateHealth"
        try parameterState(op, state)
        try view(op, "result", result, holds: 1)
    }
}
