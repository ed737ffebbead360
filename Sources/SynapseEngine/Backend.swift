// The backend contract. Everything above it (layers, models, SI, the trainer, the tools) is
// written once against this protocol. A backend allocates, copies and runs the ops below.
//
// Conventions shared by every op:
// - Tensors are dense row-major views; sizes are passed explicitly, so a view may be larger than
//   the region an op touches (e.g. activations sized for the largest minibatch).
// - Ops are enqueued in order. Nothing but `download*` and `synchronize` waits for the device, so a
//   training step made of ops never blocks the host.
// - Outputs are overwritten unless the op says it accumulates.
// - Every op first runs its argument checks from `OpContract` (OpContracts.swift), so every
//   backend refuses a bad call with the same one-line message before it touches memory.
// - Shape letters: N batch, C input channels, K output channels (filters), H×W input spatial,
//   P×Q output spatial, M×N×K for GEMM as in BLAS.

/// Which kind of device runs the ops. Kernel variants are chosen by it (CPUs and GPUs want
/// different code), and the tools record it with every run.
public enum DeviceKind: String, Sendable {
    /// The pure-Swift reference backend on the host.
    case reference
    /// An OpenCL CPU device (PoCL).
    case cpu
    /// An OpenCL GPU.
    case gpu
    /// An OpenCL accelerator (CL_DEVICE_TYPE_ACCELERATOR).
    case accelerator
    /// An OpenCL device of any other type.
    case other
}

/// Geometry of a 3×3-or-other square convolution, stride 1, NCHW, weights `[K, C, R, R]`.
///
/// The op contracts accept any sizes ≥ 0 with a filter of at least 1×1 and an output of at least
/// 1×1 (`OpContract`).
public struct ConvShape: Equatable, Sendable, CustomStringConvertible {
    /// N: images in the batch.
    public var batch: Int
    /// C: channels of each input image.
    public var inChannels: Int
    /// H: input rows.
    public var height: Int
    /// W: input columns.
    public var width: Int
    /// K: output channels (filters).
    public var outChannels: Int
    /// R: the filter is R×R.
    public var kernelSize: Int
    /// Zero rows and columns added on each side: R/2 for Keras' 'same', 0 for 'valid'.
    public var padding: Int

    /// A geometry; the default filter is 3×3, the only size the paper's network uses.
    public init(batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int,
                kernelSize: Int = 3, padding: Int) {
        self.batch = batch; self.inChannels = inChannels; self.height = height; self.width = width
        self.outChannels = outChannels; self.kernelSize = kernelSize; self.padding = padding
    }

    /// P = H + 2·pad − R + 1
    public var outHeight: Int { height + 2 * padding - kernelSize + 1 }
    /// Q = W + 2·pad − R + 1
    public var outWidth: Int { width + 2 * padding - kernelSize + 1 }
    /// Elements of the input, N·C·H·W.
    public var inputCount: Int { batch * inChannels * height * width }
    /// Elements of the output, N·K·P·Q.
    public var outputCount: Int { batch * outChannels * outHeight * outWidth }
    /// Elements of the weight, K·C·R·R (the bias adds K more).
    public var weightCount: Int { outChannels * inChannels * kernelSize * kernelSize }
    /// Multiply-adds of the forward pass ×2.
    public var forwardFlops: Double {
        2.0 * Double(batch * outChannels * outHeight * outWidth) * Double(inChannels * kernelSize * kernelSize)
    }

    /// Compact form for messages and benchmark tables, e.g. "N256 C32 30x30 K32 R3 pad0".
    public var description: String {
        "N\(batch) C\(inChannels) \(height)x\(width) K\(outChannels) R\(kernelSize) pad\(padding)"
    }
}

/// Adam hyper-parameters, with bias correction:
/// m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; Δθ = −lr · m̂ / (√v̂ + ε),
/// m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t), t = 1 for the first step after a reset.
///
/// The authors' Keras 2.0 Adam adds ε to √v instead of √v̂; a caller reproduces it exactly by
/// passing ε/√(1 − β2^t) here (docs/algorithm.md, "The Adam reset").
public struct AdamHyper: Equatable, Sendable {
    /// lr: the step size, in parameter units per unit of normalised gradient.
    public var learningRate: Float
    /// β1: decay of the first-moment average per step.
    public var beta1: Float
    /// β2: decay of the second-moment average per step.
    public var beta2: Float
    /// ε: added to the denominator √v̂, so a parameter with a zero gradient history does not divide by zero.
    public var epsilon: Float
    /// Defaults are the protocols' values: lr 1e-3, β1 0.9, β2 0.999, ε 1e-8.
    public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
    }
}

/// The per-parameter state of the optimizer and of every quadratic-penalty method, each a view
/// of `count` elements in the same order as the parameters.
public struct ParameterState {
    /// θ: the parameters.
    public var theta: Tensor
    /// θ*: the anchor ("cweights" in the authors' code).
    public var anchor: Tensor
    /// Ω (capital omega): the consolidated per-parameter importance the penalty uses: SI's Ω, the
    /// Fisher (EWC), the MAS importance. Saved in checkpoints as "importance".
    public var bigOmega: Tensor
    /// ω (small omega): SI's running path integral during the current task (ω ← ω − g⊙Δθ), folded
    /// into Ω at task end. Saved in checkpoints as "omega".
    public var smallOmega: Tensor
    /// Adam first moment.
    public var m: Tensor
    /// Adam second moment.
    public var v: Tensor

    /// Groups six views; the ops check that each holds `count` float32 elements.
    public init(theta: Tensor, anchor: Tensor, bigOmega: Tensor, smallOmega: Tensor, m: Tensor, v: Tensor) {
        self.theta = theta; self.anchor = anchor; self.bigOmega = bigOmega
        self.smallOmega = smallOmega; self.m = m; self.v = v
    }

    /// The number of parameters: the element count of θ, which every other view must match.
    public var count: Int { theta.count }
}

/// What `accumulate` applies to each source element before adding it.
public enum AccumulateTransform: Sendable {
    /// f(x) = x.
    case identity
    /// f(x) = x², e.g. squared per-example gradients summed into a Fisher diagonal.
    case square
    /// f(x) = |x|, e.g. MAS's absolute gradients.
    case absolute
}

/// Errors raised by a backend, with enough context to act on.
///
/// Messages are one line and start with the op that refused ("gemm: c holds 14 elements…"), so
/// a tool can print them as they are.
public struct BackendError: Error, CustomStringConvertible {
    /// The one-line explanation: which op, which argument, what was expected, what was found.
    public let message: String
    /// An error with `message` (one line, starting with the op's name where there is one).
    public init(_ message: String) { self.message = message }
    /// The message itself, so that printing the error prints the line.
    public var description: String { message }
}

extension Backend {
    /// Dropout with the mask numbered from element 0 (`firstIndex` 0).
    public func dropoutForward(input: Tensor, count: Int, keepProbability: Float, seed: UInt64,
                               stream: UInt32, step: UInt32, output: Tensor) throws {
        try dropoutForward(input: input, count: count, keepProbability: keepProbability, seed: seed,
                           stream: stream, step: step, firstIndex: 0, output: output)
    }

    /// The input gradient of a convolution with no ReLU backward (`reluOutput` nil).
    public func conv2dBackwardInput(_ shape: ConvShape, dOutput: Tensor, weight: Tensor, dInput: Tensor) throws {
        try conv2dBackwardInput(shape, dOutput: dOutput, weight: weight, reluOutput: nil, dInput: dInput)
    }

    /// Dropout's backward pass with the mask numbered from element 0 (`firstIndex` 0).
    public func dropoutBackward(dOutput: Tensor, count: Int, keepProbability: Float, seed: UInt64,
                                stream: UInt32, step: UInt32, dInput: Tensor) throws {
        try dropoutBackward(dOutput: dOutput, count: count, keepProbability: keepProbability, seed: seed,
                            stream: stream, step: step, firstIndex: 0, dInput: dInput)
    }
}

/// A device that stores tensors and runs the ops a training step is made of.
///
/// The protocol is the single definition of every op: each method's doc comment gives its formula
/// and `OpContract` its argument checks, which every conforming backend calls first. The reference
/// backend implements the formulas as plain loops; the OpenCL backend as kernels checked against
/// it. Ops are enqueued in order and return without waiting, so that the host can queue a whole
/// training step while the device works; only `download*` and `synchronize` wait.
///
/// See docs/architecture.md for where each backend lives.
public protocol Backend: AnyObject {
    /// Human-readable device name, e.g. "NVIDIA H200" or "reference (Swift)".
    var deviceName: String { get }
    /// The kind of device, which decides the kernel variants and is recorded with each run.
    var deviceKind: DeviceKind { get }

    // MARK: Memory

    /// Allocates `count` elements, zero-filled.
    func allocate(_ type: ElementType, count: Int) throws -> any DeviceStorage
    /// Copies host values into a float32 view; `values.count` must equal the view's element count.
    func upload(_ values: [Float], to tensor: Tensor) throws
    /// Copies host values into an int32 view (labels, indices); counts must match.
    func upload(_ values: [Int32], to tensor: Tensor) throws
    /// Copies host values into a uint8 view (images as stored); counts must match.
    func upload(_ values: [UInt8], to tensor: Tensor) throws
    /// Copies back to the host; waits for every op enqueued before it.
    func download(_ tensor: Tensor) throws -> [Float]
    /// As `download`, for an int32 view.
    func downloadInt32(_ tensor: Tensor) throws -> [Int32]
    /// Waits for every enqueued op.
    func synchronize() throws
    /// Bytes currently allocated by this backend, and the most ever allocated at once.
    var allocatedBytes: Int { get }
    /// The largest `allocatedBytes` seen so far, in bytes (reported as a run's memory use).
    var peakAllocatedBytes: Int { get }

    // MARK: Elementwise helpers

    /// tensor[i] = value for every element of the view (float32 or int32 views).
    func fill(_ tensor: Tensor, value: Float) throws
    /// destination[i] = source[i]; same element count and type.
    func copy(_ source: Tensor, to destination: Tensor) throws
    /// destination[i] += scale · f(source[i]), f from `transform` (float32).
    func accumulate(_ source: Tensor, into destination: Tensor, scale: Float, transform: AccumulateTransform) throws
    /// accumulator[0] += Σ_i values[i] over the first `count` elements (float32). Keeps running
    /// losses on the device, read once per epoch.
    func accumulateSum(_ values: Tensor, count: Int, into accumulator: Tensor) throws

    // MARK: Data

    /// destination[b, d] = Float(source[indices[b], d]) · scale for b < rows, d < rowLength.
    /// `source` is uint8 (images as stored), `indices` int32, `destination` float32.
    func gatherRows(_ source: Tensor, indices: Tensor, rows: Int, rowLength: Int, scale: Float,
                    into destination: Tensor) throws
    /// destination[b] = source[indices[b]] for b < rows (int32 labels).
    func gatherLabels(_ source: Tensor, indices: Tensor, rows: Int, into destination: Tensor) throws

    // MARK: Linear algebra

    /// C = alpha · op(A) · op(B) + beta · C, row-major; op(A) is M×K (A stored K×M when
    /// `transposeA`), op(B) is K×N (stored N×K when `transposeB`), C is M×N. Leading dimensions
    /// are the stored row lengths. beta = 0 ignores the old C (NaNs in it included).
    func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
              alpha: Float, a: Tensor, b: Tensor, beta: Float, c: Tensor) throws

    // MARK: Dense layers (a GEMM with its elementwise neighbours fused; weight [inputs, units])

    /// output[n, u] = Σ_k input[n, k] · weight[k, u] + bias[u] for n < batch, u < units; then
    /// max(0, ·) when `relu`. The same value, bit for bit, as `gemm` (alpha 1, beta 0) followed by
    /// `addBias(outer: batch, channels: units, inner: 1)`.
    func denseForward(input: Tensor, weight: Tensor, bias: Tensor, batch: Int, inputs: Int, units: Int,
                      relu: Bool, output: Tensor) throws
    /// dWeight[k, u] = Σ_n input[n, k] · dOutput[n, u] and dBias[u] = Σ_n dOutput[n, u], both
    /// overwritten: `gemm` (xᵀ · dY) and `biasBackward(outer: batch, channels: units, inner: 1)`.
    func denseBackwardWeight(input: Tensor, dOutput: Tensor, batch: Int, inputs: Int, units: Int,
                             dWeight: Tensor, dBias: Tensor) throws
    /// dInput[n, k] = Σ_u dOutput[n, u] · weight[k, u] (overwritten); when `reluOutput` is given
    /// (the output of the ReLU below, [batch, inputs]), dInput[n, k] = 0 wherever
    /// reluOutput[n, k] > 0 is false: `gemm` (dY · Wᵀ) and `reluBackward` in one op. dInput must not
    /// alias dOutput or weight.
    func denseBackwardInput(dOutput: Tensor, weight: Tensor, batch: Int, inputs: Int, units: Int,
                            reluOutput: Tensor?, dInput: Tensor) throws

    // MARK: Convolution (stride 1, NCHW, weight [K, C, R, R], cross-correlation as in Keras)

    /// output[n,k,p,q] = bias[k] + Σ_{c,r,s} input[n,c,p+r−pad,q+s−pad] · weight[k,c,r,s]
    /// (out-of-range input reads are 0). When `relu`, output = max(0, that).
    func conv2dForward(_ shape: ConvShape, input: Tensor, weight: Tensor, bias: Tensor,
                       relu: Bool, output: Tensor) throws
    /// dInput[n,c,h,w] = Σ_{k,r,s} dOutput[n,k,h−r+pad,w−s+pad] · weight[k,c,r,s] (in-range terms),
    /// overwritten; when `reluOutput` is given (the output of the ReLU below, dInput's shape),
    /// dInput = 0 wherever reluOutput > 0 is false: the input gradient and `reluBackward` in one
    /// op. dInput must not alias dOutput, weight or reluOutput.
    func conv2dBackwardInput(_ shape: ConvShape, dOutput: Tensor, weight: Tensor, reluOutput: Tensor?,
                             dInput: Tensor) throws
    /// dWeight[k,c,r,s] = Σ_{n,p,q} dOutput[n,k,p,q] · input[n,c,p+r−pad,q+s−pad];
    /// dBias[k] = Σ_{n,p,q} dOutput[n,k,p,q]. Both overwritten.
    func conv2dBackwardWeight(_ shape: ConvShape, input: Tensor, dOutput: Tensor,
                              dWeight: Tensor, dBias: Tensor) throws

    // MARK: Bias, activations, pooling

    /// x[o, ch, i] += bias[ch] for o < outer, ch < channels, i < inner; then max(0, ·) when `relu`.
    /// Dense layers: outer = N, channels = features, inner = 1.
    func addBias(_ x: Tensor, bias: Tensor, outer: Int, channels: Int, inner: Int, relu: Bool) throws
    /// dBias[ch] = Σ_{o,i} dOutput[o, ch, i] (overwritten).
    func biasBackward(_ dOutput: Tensor, outer: Int, channels: Int, inner: Int, dBias: Tensor) throws
    /// dInput[i] = output[i] > 0 ? dOutput[i] : 0 for i < count (dInput may alias dOutput).
    func reluBackward(output: Tensor, dOutput: Tensor, count: Int, dInput: Tensor) throws
    /// 2×2 max-pool, stride 2, floor: [planes, H, W] → [planes, H/2, W/2]. Ties: the first
    /// maximum in row-major order within the window wins.
    func maxPool2x2Forward(input: Tensor, planes: Int, height: Int, width: Int, output: Tensor) throws
    /// Routes each dOutput value to the input element that won the forward max (same tie rule);
    /// every other dInput element, including rows/columns dropped by the floor, is 0.
    func maxPool2x2Backward(input: Tensor, dOutput: Tensor, planes: Int, height: Int, width: Int,
                            dInput: Tensor) throws
    /// `maxPool2x2Backward` followed by the ReLU backward of the layer below, whose output is
    /// `input`: the winner of each window receives dOutput when input[winner] > 0 and 0
    /// otherwise; every other element is 0. The same values, bit for bit, as `maxPool2x2Backward`
    /// then `reluBackward(output: input, …)` on dInput, in one pass.
    func maxPool2x2ReLUBackward(input: Tensor, dOutput: Tensor, planes: Int, height: Int, width: Int,
                                dInput: Tensor) throws

    // MARK: Dropout (inverted: kept values are scaled by 1/keep, as Keras)

    /// output[i] = keep(firstIndex + i) ? input[i] / keepProbability : 0, with keep(·) =
    /// `DropoutMask.keeps`. `firstIndex` (≥ 0, a multiple of 4) numbers element 0 in the mask, so
    /// that a process computing rows r… of a minibatch draws the masks those rows get in one process.
    func dropoutForward(input: Tensor, count: Int, keepProbability: Float, seed: UInt64,
                        stream: UInt32, step: UInt32, firstIndex: Int, output: Tensor) throws
    /// dInput[i] = keep(firstIndex + i) ? dOutput[i] / keepProbability : 0 (dInput may alias dOutput).
    func dropoutBackward(dOutput: Tensor, count: Int, keepProbability: Float, seed: UInt64,
                         stream: UInt32, step: UInt32, firstIndex: Int, dInput: Tensor) throws

    // MARK: Loss and accuracy (multi-head: only units [unitStart, unitStart + unitCount) are live)

    /// For each row n < batch of logits [batch, units]: softmax over the live units only,
    /// losses[n] = −log softmax[labels[n]], dLogits[n, u] = (softmax[u] − [u == label]) / batch
    /// for live u and 0 for the others. Labels are global unit indices inside the live range.
    func softmaxCrossEntropy(logits: Tensor, labels: Tensor, batch: Int, units: Int,
                             unitStart: Int, unitCount: Int, losses: Tensor, dLogits: Tensor) throws
    /// Distillation towards recorded outputs (Learning without Forgetting) over the live units
    /// only. For each row n < batch, with r = targets[indices[n]] (a row of targets
    /// [targetRows, units]), p = softmax(r/T) and q = softmax(logits[n]/T) over the live units:
    /// losses[n] = weight·T²·KL(p ‖ q) = weight·T²·Σ_u p_u (log p_u − log q_u), and
    /// dLogits[n, u] += weight·T·(q_u − p_u) / batch for live u (the gradient of the mean over the
    /// batch; other units untouched, so it adds to a cross-entropy's dLogits). T = `temperature` > 0.
    /// An index outside 0..<targetRows gives loss NaN (OpenCL cannot report it without a wait).
    func distillation(logits: Tensor, targets: Tensor, indices: Tensor, batch: Int, units: Int, targetRows: Int,
                      unitStart: Int, unitCount: Int, temperature: Float, weight: Float,
                      losses: Tensor, dLogits: Tensor) throws
    /// counter[0] += number of rows whose argmax over the live units equals its label (ties: the
    /// lowest unit wins). `counter` is float32 (exact up to 2^24 rows per count).
    func countCorrect(logits: Tensor, labels: Tensor, batch: Int, units: Int,
                      unitStart: Int, unitCount: Int, counter: Tensor) throws

    // MARK: Optimizer and Synaptic Intelligence

    /// The fused SI update, one pass over every parameter (docs/algorithm.md, "One training step", steps 2–5):
    /// g = gTask + 2·c·Ω⊙(θ − θ*); Adam moments from g (`step` = t ≥ 1, for bias correction);
    /// Δθ = −lr·m̂/(√v̂ + ε); ω ← ω − gTask⊙Δθ; θ ← θ + Δθ.
    /// c = 0 is plain Adam (ω still integrates, which costs nothing extra).
    func fusedSIUpdate(_ state: ParameterState, taskGradient: Tensor, strength c: Float,
                       hyper: AdamHyper, step: Int) throws
    /// The same fused SI update with plain gradient descent instead of Adam:
    /// g = gTask + 2·c·Ω⊙(θ − θ*); Δθ = −lr·g; ω ← ω − gTask⊙Δθ; θ ← θ + Δθ.
    /// Adam's m and v are neither read nor written. lr must be finite and > 0.
    func fusedSISGDUpdate(_ state: ParameterState, taskGradient: Tensor, strength c: Float,
                          learningRate: Float) throws
    /// End-of-task consolidation, in this order: Ω ← max(0, Ω + ω/((θ − θ*)² + ξ)); θ* ← θ; ω ← 0.
    func siConsolidate(_ state: ParameterState, xi: Float) throws

    // MARK: Health of the state

    /// ORs the `StateHealth` flags of `state` into the BIT PATTERN of result[0] (a float32 view
    /// whose element is used as 32 flag bits; fill it with 0 first): θ, θ*, ω, m with a NaN or
    /// ±∞ element, Ω and v with a NaN, ±∞ or negative one. One reduction over the six arrays;
    /// enqueued only (read the result with the next download). Read it back with
    /// `StateHealth(resultElement:)`.
    func stateHealth(_ state: ParameterState, result: Tensor) throws
}
