// The backend contract. Everything above it (layers, models, SI, the trainer, the tools) is
// written once against this protocol. A backend allocates, copies and runs the ops below.
//
// Conventions shared by every op:
// - Tensors are dense row-major views; sizes are passed explicitly, so a view may be larger than
//   the region an op touches (e.g. activations sized for the largest minibatch).
// - Ops are enqueued in order. Nothing but `download*` and `synchronize` waits for the device, so a
//   training step made of ops never blocks the host.
// - Outputs are overwritten unless the op says it accumulates.
// - Shape letters: N batch, C input channels, K output channels (filters), H×W input spatial,
//   P×Q output spatial, M×N×K for GEMM as in BLAS.

/// Which kind of device runs the ops.
public enum DeviceKind: String, Sendable {
    case reference, cpu, gpu, accelerator, other
}

/// Geometry of a 3×3-or-other square convolution, stride 1, NCHW, weights `[K, C, R, R]`.
public struct ConvShape: Equatable, Sendable, CustomStringConvertible {
    public var batch: Int          // N
    public var inChannels: Int     // C
    public var height: Int         // H
    public var width: Int          // W
    public var outChannels: Int    // K
    public var kernelSize: Int     // R (filter is R×R)
    public var padding: Int        // 'same' = R/2, 'valid' = 0

    public init(batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int,
                kernelSize: Int = 3, padding: Int) {
        self.batch = batch; self.inChannels = inChannels; self.height = height; self.width = width
        self.outChannels = outChannels; self.kernelSize = kernelSize; self.padding = padding
    }

    /// P = H + 2·pad − R + 1
    public var outHeight: Int { height + 2 * padding - kernelSize + 1 }
    /// Q = W + 2·pad − R + 1
    public var outWidth: Int { width + 2 * padding - kernelSize + 1 }
    public var inputCount: Int { batch * inChannels * height * width }
    public var outputCount: Int { batch * outChannels * outHeight * outWidth }
    public var weightCount: Int { outChannels * inChannels * kernelSize * kernelSize }
    /// Multiply-adds of the forward pass ×2.
    public var forwardFlops: Double {
        2.0 * Double(batch * outChannels * outHeight * outWidth) * Double(inChannels * kernelSize * kernelSize)
    }

    public var description: String {
        "N\(batch) C\(inChannels) \(height)x\(width) K\(outChannels) R\(kernelSize) pad\(padding)"
    }
}

/// Adam hyper-parameters, with bias correction:
/// m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; Δθ = −lr · m̂ / (√v̂ + ε),
/// m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t), t = 1 for the first step after a reset.
public struct AdamHyper: Equatable, Sendable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
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
    /// Ω: consolidated importance (SI), or the Fisher (EWC), or the MAS importance.
    public var importance: Tensor
    /// ω: SI's running path integral for the current task.
    public var omega: Tensor
    /// Adam first moment.
    public var m: Tensor
    /// Adam second moment.
    public var v: Tensor

    public init(theta: Tensor, anchor: Tensor, importance: Tensor, omega: Tensor, m: Tensor, v: Tensor) {
        self.theta = theta; self.anchor = anchor; self.importance = importance
        self.omega = omega; self.m = m; self.v = v
    }

    public var count: Int { theta.count }
}

/// What `accumulate` applies to each source element before adding it.
public enum AccumulateTransform: Sendable {
    case identity, square, absolute
}

/// Errors raised by a backend, with enough context to act on.
public struct BackendError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public protocol Backend: AnyObject {
    /// Human-readable device name, e.g. "NVIDIA H200" or "reference (Swift)".
    var deviceName: String { get }
    var deviceKind: DeviceKind { get }

    // MARK: Memory

    /// Allocates `count` elements, zero-filled.
    func allocate(_ type: ElementType, count: Int) throws -> any DeviceStorage
    func upload(_ values: [Float], to tensor: Tensor) throws
    func upload(_ values: [Int32], to tensor: Tensor) throws
    func upload(_ values: [UInt8], to tensor: Tensor) throws
    /// Copies back to the host; waits for every op enqueued before it.
    func download(_ tensor: Tensor) throws -> [Float]
    func downloadInt32(_ tensor: Tensor) throws -> [Int32]
    /// Waits for every enqueued op.
    func synchronize() throws
    /// Bytes currently allocated by this backend, and the most ever allocated at once.
    var allocatedBytes: Int { get }
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

    // MARK: Convolution (stride 1, NCHW, weight [K, C, R, R], cross-correlation as in Keras)

    /// output[n,k,p,q] = bias[k] + Σ_{c,r,s} input[n,c,p+r−pad,q+s−pad] · weight[k,c,r,s]
    /// (out-of-range input reads are 0). When `relu`, output = max(0, that).
    func conv2dForward(_ shape: ConvShape, input: Tensor, weight: Tensor, bias: Tensor,
                       relu: Bool, output: Tensor) throws
    /// dInput[n,c,h,w] = Σ_{k,r,s} dOutput[n,k,h−r+pad,w−s+pad] · weight[k,c,r,s] (in-range terms).
    func conv2dBackwardInput(_ shape: ConvShape, dOutput: Tensor, weight: Tensor, dInput: Tensor) throws
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

    // MARK: Dropout (inverted: kept values are scaled by 1/keep, as Keras)

    /// output[i] = keep(i) ? input[i] / keepProbability : 0, with keep(i) = `DropoutMask.keeps`.
    func dropoutForward(input: Tensor, count: Int, keepProbability: Float, seed: UInt64,
                        stream: UInt32, step: UInt32, output: Tensor) throws
    /// dInput[i] = keep(i) ? dOutput[i] / keepProbability : 0 (dInput may alias dOutput).
    func dropoutBackward(dOutput: Tensor, count: Int, keepProbability: Float, seed: UInt64,
                         stream: UInt32, step: UInt32, dInput: Tensor) throws

    // MARK: Loss and accuracy (multi-head: only units [unitStart, unitStart + unitCount) are live)

    /// For each row n < batch of logits [batch, units]: softmax over the live units only,
    /// losses[n] = −log softmax[labels[n]], dLogits[n, u] = (softmax[u] − [u == label]) / batch
    /// for live u and 0 for the others. Labels are global unit indices inside the live range.
    func softmaxCrossEntropy(logits: Tensor, labels: Tensor, batch: Int, units: Int,
                             unitStart: Int, unitCount: Int, losses: Tensor, dLogits: Tensor) throws
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
    /// End-of-task consolidation, in this order: Ω ← max(0, Ω + ω/((θ − θ*)² + ξ)); θ* ← θ; ω ← 0.
    func siConsolidate(_ state: ParameterState, xi: Float) throws
}
