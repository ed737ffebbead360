// The whole training step of the split-CIFAR CNN (or, with --arch mlp, the split-MNIST MLP): the trainer's own `TrainingStep` (gatherRows →
// gatherLabels → forward → softmaxCrossEntropy → accumulateSum → backward → fusedSIUpdate), so the
// benchmark times exactly the step `ContinualTrainer` runs. Images live on the device as uint8, as in training.
import SynapseContinual
import SynapseEngine

/// The network whose training step is timed.
enum BenchArchitecture: String, CaseIterable {
    /// The split-CIFAR CNN (`Architecture.splitCIFAR`), input [3, 32, 32].
    case cnn
    /// The split-MNIST MLP 784-256-256 (`Architecture.splitMNIST`), input [784].
    case mlp

    func network(outputUnits: Int) -> (inputShape: [Int], layers: [LayerSpec]) {
        switch self {
        case .cnn: return Architecture.splitCIFAR(outputUnits: outputUnits)
        case .mlp: return Architecture.splitMNIST(outputUnits: outputUnits)
        }
    }
}

/// A network, its SI/Adam state and a pool of device-resident images, ready to run steps.
final class TrainingStepBench {
    let backend: any Backend
    let network: Network
    let batch: Int
    let units: Int
    /// Task 0's live units (multi-head): the first ten.
    let liveUnits = 0..<10
    private let step: TrainingStep
    private let images: Tensor       // uint8 [poolBatches·batch, network.inputSize]
    private let poolLabels: Tensor   // int32 [poolBatches·batch]
    private let indices: Tensor      // int32 [poolBatches·batch], a permutation of the pool
    private let labels: Tensor       // int32 [batch], inference only (the training step has its own)
    private let lossSum: Tensor      // float32 [1]
    private let correct: Tensor      // float32 [1]
    private let poolBatches = 4
    private var globalStep = 0
    private var adamStep = 0

    /// `converged`: every label is class 0, the output bias of unit 0 sits `convergedMargin`
    /// above the others and the output weights are small and random (a trained layer; they
    /// start at zero, which would stop every gradient at the output). The softmax is then
    /// certain: the other units' loss gradients (probability / batch) are near the bottom of the
    /// normal range, and every gradient behind the output layer is a denormal float or zero, as
    /// in a task trained to a loss near 1e-5. Forward values stay normal.
    init(backend: any Backend, architecture: BenchArchitecture = .cnn, batch: Int, units: Int, seed: UInt64,
         converged: Bool = false) throws {
        self.backend = backend
        self.batch = batch
        self.units = units
        let (inputShape, layers) = architecture.network(outputUnits: units)
        network = try Network(backend: backend, inputShape: inputShape, layers: layers, maxBatch: batch, seed: seed)
        let count = network.parameterCount
        func floats(_ n: Int) throws -> Tensor { Tensor(storage: try backend.allocate(.float32, count: n), shape: [n]) }
        func ints(_ n: Int) throws -> Tensor { Tensor(storage: try backend.allocate(.int32, count: n), shape: [n]) }
        var random = SeededGenerator(seed: seed ^ 0x5157_E9)
        // Ω > 0 and θ* ≠ θ, so the SI penalty term does real work when c > 0.
        let anchor = try floats(count), importance = try floats(count)
        try backend.upload((0..<count).map { _ in 0.01 * (random.nextFloat() - 0.5) }, to: anchor)
        try backend.upload((0..<count).map { _ in random.nextFloat() }, to: importance)
        let state = ParameterState(theta: network.parameters, anchor: anchor, bigOmega: importance,
                                   smallOmega: try floats(count), m: try floats(count), v: try floats(count))
        step = try TrainingStep(network: network, state: state)
        let pool = poolBatches * batch
        let imageSize = network.inputSize
        images = Tensor(storage: try backend.allocate(.uint8, count: pool * imageSize), shape: [pool, imageSize])
        try backend.upload((0..<(pool * imageSize)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, to: images)
        poolLabels = try ints(pool)
        try backend.upload((0..<pool).map { _ in converged ? 0 : Int32(random.nextInt(below: 10)) }, to: poolLabels)
        if converged {
            guard let bias = network.parameterRegions.first(where: { $0.name == "output.bias" }),
                  let weight = network.parameterRegions.first(where: { $0.name == "output.weight" }) else {
                throw BackendError("the benchmark network has no output.weight or output.bias region")
            }
            var values = [Float](repeating: 0, count: bias.count)
            values[0] = Self.convergedMargin
            try backend.upload(values, to: network.parameters.view(at: bias.offset, shape: [bias.count]))
            try backend.upload((0..<weight.count).map { _ in 0.1 * (random.nextFloat() - 0.5) },
                               to: network.parameters.view(at: weight.offset, shape: [weight.count]))
        }
        indices = try ints(pool)
        var order = (0..<pool).map { Int32($0) }
        for i in stride(from: pool - 1, to: 0, by: -1) { order.swapAt(i, random.nextInt(below: i + 1)) }
        try backend.upload(order, to: indices)
        labels = try ints(batch)
        lossSum = try floats(1)
        correct = try floats(1)
    }

    /// Logit margin of the converged state: the other units' loss gradients are about
    /// e^−80 / 256 ≈ 7e-38, just above the denormal range [1.4e-45, 1.18e-38); times output
    /// weights of ±0.05 they fall into it, and so does everything computed from them.
    static let convergedMargin: Float = 80

    /// The parameter gradients of the last step (waits): how many are nonzero, and how many of
    /// those are denormal (0 < |g| < Float.leastNormalMagnitude).
    func gradientCensus() throws -> (nonzero: Int, denormal: Int, count: Int) {
        let values = try backend.download(network.gradients)
        let nonzero = values.filter { $0 != 0 }.count
        let denormal = values.filter { $0 != 0 && abs($0) < Float.leastNormalMagnitude }.count
        return (nonzero, denormal, values.count)
    }

    /// This step's minibatch: `batch` rows of the shuffled pool, cycling through it.
    private var minibatch: Tensor { indices.view(at: (globalStep % poolBatches) * batch, shape: [batch]) }

    /// Enqueues one training step with SI strength `c` (never waits).
    func trainStep(strength c: Float) throws {
        adamStep += 1
        let pool = RowSource(images: images, labels: poolLabels, count: poolBatches * batch, task: 0, liveUnits: liveUnits,
                             origin: .kept("pool"))
        let part = BatchPart(source: pool, offset: (globalStep % poolBatches) * batch, rows: batch)
        try step.enqueue(batch: TrainingBatch(parts: [part]), indices: indices,
                         strength: c, hyper: AdamHyper(), adamStep: adamStep,
                         dropoutStep: UInt32(truncatingIfNeeded: globalStep), lossSlot: lossSum)
        globalStep += 1
    }

    /// Enqueues one inference pass over a minibatch, as the evaluation does (gather, forward, countCorrect).
    func inferStep() throws {
        let view = minibatch
        try backend.gatherRows(images, indices: view, rows: batch, rowLength: network.inputSize, scale: 1.0 / 255.0,
                               into: network.input)
        try backend.gatherLabels(poolLabels, indices: view, rows: batch, into: labels)
        let logits = try network.forward(batch: batch, training: false, step: 0)
        try backend.countCorrect(logits: logits, labels: labels, batch: batch, units: units,
                                 unitStart: liveUnits.lowerBound, unitCount: liveUnits.count, counter: correct)
        globalStep += 1
    }

    /// The running loss sum (waits): a finite value shows the steps computed something sane.
    func lossTotal() throws -> Float { try backend.download(lossSum)[0] }
}

/// Whole-step figures.
struct StepFigures {
    var trainSI: [Double] = []   // seconds per step, one per timed run
    var trainC0: [Double] = []
    var infer: [Double] = []
    var loss: Float = .nan
}

/// Times training steps with SI on (c = `strength`) and with c = 0, alternating run by run so both
/// see the same machine, then inference. Wall time from idle queue to idle queue over `steps` steps.
func runStepBenchmark(on backend: any Backend, architecture: BenchArchitecture, batch: Int, units: Int, strength: Float, warmup: Int, repeats: Int,
                      steps: Int) throws -> StepFigures {
    let bench = try TrainingStepBench(backend: backend, architecture: architecture, batch: batch, units: units, seed: 42)
    let stopwatch = Stopwatch(backend: backend)
    var figures = StepFigures()
    for _ in 0..<max(warmup, 1) {
        _ = try stopwatch.run { try bench.trainStep(strength: strength); try bench.trainStep(strength: 0) }
    }
    for r in 0..<repeats {
        // Alternate which goes first, so neither always follows the other.
        for c in r % 2 == 0 ? [strength, 0] : [0, strength] {
            let run = try stopwatch.run { for _ in 0..<steps { try bench.trainStep(strength: c) } }
            if c == 0 { figures.trainC0.append(run.wall / Double(steps)) } else { figures.trainSI.append(run.wall / Double(steps)) }
        }
    }
    figures.loss = try bench.lossTotal()
    for _ in 0..<max(warmup, 1) { _ = try stopwatch.run { try bench.inferStep() } }
    for _ in 0..<repeats {
        let run = try stopwatch.run { for _ in 0..<steps { try bench.inferStep() } }
        figures.infer.append(run.wall / Double(steps))
    }
    return figures
}

/// One kernel's share of a training step.
struct ProfileRow: Encodable {
    var kernel: String
    var launchesPerStep: Double
    var millisecondsPerStep: Double
    var shareOfKernelTime: Double
}

/// The per-kernel profile of training steps on a backend opened with profiling: device time of
/// each kernel (grouped by name, averaged over `steps` steps), the wall time per step, and the
/// kernels' total (wall minus kernels = launch overhead and gaps).
struct StepProfile: Encodable {
    var steps: Int
    var wallMillisecondsPerStep: Double
    var kernelMillisecondsPerStep: Double
    var rows: [ProfileRow]
}

func runStepProfile(on backend: any Backend, architecture: BenchArchitecture, batch: Int, units: Int, strength: Float, warmup: Int,
                    steps: Int) throws -> StepProfile {
    let bench = try TrainingStepBench(backend: backend, architecture: architecture, batch: batch, units: units, seed: 42)
    let stopwatch = Stopwatch(backend: backend)
    for _ in 0..<max(warmup, 1) { _ = try stopwatch.run { try bench.trainStep(strength: strength) } }
    let run = try stopwatch.run { for _ in 0..<steps { try bench.trainStep(strength: strength) } }
    var totals: [String: (count: Int, seconds: Double)] = [:]
    var order: [String] = []
    for event in run.events {
        if totals[event.kernel] == nil { order.append(event.kernel) }
        totals[event.kernel, default: (0, 0)].count += 1
        totals[event.kernel, default: (0, 0)].seconds += event.seconds
    }
    let kernelSeconds = run.kernels ?? 0
    let n = Double(steps)
    let rows = order.map { name -> ProfileRow in
        let t = totals[name] ?? (0, 0)
        return ProfileRow(kernel: name, launchesPerStep: Double(t.count) / n, millisecondsPerStep: 1e3 * t.seconds / n,
                          shareOfKernelTime: kernelSeconds > 0 ? t.seconds / kernelSeconds : 0)
    }.sorted { $0.millisecondsPerStep > $1.millisecondsPerStep }
    return StepProfile(steps: steps, wallMillisecondsPerStep: 1e3 * run.wall / n,
                       kernelMillisecondsPerStep: 1e3 * kernelSeconds / n, rows: rows)
}

/// Training steps on ordinary data against steps in the converged (denormal-gradient) state,
/// alternating run by run, on one backend.
struct DenormalFigures: Encodable {
    /// Whether the backend flushed denormals (`-cl-denorms-are-zero`).
    var flushed: Bool
    var normalMsRuns: [Double] = []
    var convergedMsRuns: [Double] = []
    /// Median converged step time / median normal step time.
    var ratio: Double?
    /// Of the converged step's parameter gradients: nonzero ones, and denormal ones among them.
    var gradientsNonzero = 0
    var gradientsDenormal = 0
    var gradientCount = 0
}

func runDenormalBenchmark(on backend: any Backend, architecture: BenchArchitecture, flushed: Bool, batch: Int, units: Int, strength: Float,
                          warmup: Int, repeats: Int, steps: Int) throws -> DenormalFigures {
    let normal = try TrainingStepBench(backend: backend, architecture: architecture, batch: batch, units: units, seed: 42)
    let converged = try TrainingStepBench(backend: backend, architecture: architecture, batch: batch, units: units, seed: 42, converged: true)
    let stopwatch = Stopwatch(backend: backend)
    var figures = DenormalFigures(flushed: flushed)
    for _ in 0..<max(warmup, 1) {
        _ = try stopwatch.run { try normal.trainStep(strength: strength); try converged.trainStep(strength: strength) }
    }
    let census = try converged.gradientCensus()
    (figures.gradientsNonzero, figures.gradientsDenormal, figures.gradientCount) = census
    for r in 0..<repeats {
        for bench in r % 2 == 0 ? [normal, converged] : [converged, normal] {
            let run = try stopwatch.run { for _ in 0..<steps { try bench.trainStep(strength: strength) } }
            let ms = 1e3 * run.wall / Double(steps)
            if bench === converged { figures.convergedMsRuns.append(ms) } else { figures.normalMsRuns.append(ms) }
        }
    }
    if let n = median(figures.normalMsRuns), let c = median(figures.convergedMsRuns) { figures.ratio = c / n }
    return figures
}
