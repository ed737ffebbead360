// Kernel-vs-reference checks: one description per op and shape, shared by the OpenCL tests,
// `synapse-check` (any device, from the release binary) and `synapse-bench` (same case, own shape).
//
// A check prepares the same seeded inputs on two backends, runs the op once on each, downloads
// the outputs and measures the difference with the `Tolerance` policy. Every tensor is placed at
// a random offset inside a larger storage whose padding holds a sentinel, and the WHOLE storage
// is compared, so an op that ignores its view offset or writes outside its view fails.
import SynapseEngine
import SynapseReference

/// One op at one shape, checked against the reference backend.
public struct OpCheck {
    /// The op, e.g. "gemm NT" or "conv2dForward".
    public let op: String
    /// The shape, human-readable, e.g. "M7 N33 K257 α1.5 β-0.5".
    public let shape: String
    /// Floating-point operations of one run (0 when the op is memory-bound), for benchmarks.
    public let flops: Double
    /// Fills seeded inputs on `backend` (the same seed gives the same inputs and layout on every
    /// backend) and returns the op ready to run.
    public let prepare: (_ backend: any Backend, _ seed: UInt64) throws -> PreparedOp
    /// Compares the outputs of the device (first) and the reference (second); returns the
    /// measured error and the tolerance it must not exceed.
    public let compare: (_ device: [[Float]], _ reference: [[Float]]) -> (error: Double, tolerance: Double)

    public init(op: String, shape: String, flops: Double = 0,
                prepare: @escaping (_ backend: any Backend, _ seed: UInt64) throws -> PreparedOp,
                compare: @escaping (_ device: [[Float]], _ reference: [[Float]]) -> (error: Double, tolerance: Double)) {
        self.op = op; self.shape = shape; self.flops = flops; self.prepare = prepare; self.compare = compare
    }

    /// The usual comparison: the worst `Tolerance.maxError` over the outputs, against
    /// `Tolerance.forReduction(length: reductionLength)`.
    public static func maxError(reductionLength: Int) -> ([[Float]], [[Float]]) -> (error: Double, tolerance: Double) {
        maxError(tolerance: Tolerance.forReduction(length: reductionLength))
    }

    /// The worst `Tolerance.maxError` over the outputs, against `tolerance`.
    public static func maxError(tolerance: Double) -> ([[Float]], [[Float]]) -> (error: Double, tolerance: Double) {
        { device, reference in
            guard device.count == reference.count else { return (.infinity, 0) }
            var worst = 0.0
            for (d, r) in zip(device, reference) { worst = max(worst, Tolerance.maxError(d, r)) }
            return (worst, tolerance)
        }
    }
}

/// An op with its inputs in place on one backend.
public struct PreparedOp {
    /// Enqueues the op once (no wait). Running it again repeats the op on the current buffers
    /// (ops that accumulate keep accumulating), which is what a benchmark times.
    public let run: () throws -> Void
    /// The storages the op writes, each seen whole (padding included).
    public let outputs: [Tensor]

    public init(run: @escaping () throws -> Void, outputs: [Tensor]) {
        self.run = run; self.outputs = outputs
    }

    /// Downloads every output (waits for the device); int32 outputs are converted to Float.
    public func download(from backend: any Backend) throws -> [[Float]] {
        try outputs.map { output in
            output.elementType == .int32 ? try backend.downloadInt32(output).map { Float($0) } : try backend.download(output)
        }
    }
}

/// The outcome of one check.
public struct CheckResult: CustomStringConvertible {
    public let op: String
    public let shape: String
    public let error: Double
    public let tolerance: Double
    /// Set when preparing or running the op threw; the check then fails.
    public let failure: String?

    public var passed: Bool { failure == nil && error <= tolerance }

    public var description: String {
        let verdict = passed ? "ok" : "FAIL"
        return "\(op) [\(shape)]: error \(error) tolerance \(tolerance) \(verdict)" + (failure.map { ": " + $0 } ?? "")
    }
}

extension OpCheck {
    /// Runs the check on `device` against `reference` with inputs from `seed`. Errors thrown by
    /// either backend become a failed result naming the error (never a crash).
    public func run(on device: any Backend, reference: any Backend = ReferenceBackend(), seed: UInt64 = 0x5EED) -> CheckResult {
        do {
            let onDevice = try prepare(device, seed)
            let onReference = try prepare(reference, seed)
            try onDevice.run()
            try onReference.run()
            let (error, tolerance) = compare(try onDevice.download(from: device), try onReference.download(from: reference))
            return CheckResult(op: op, shape: shape, error: error, tolerance: tolerance, failure: nil)
        } catch {
            return CheckResult(op: op, shape: shape, error: .infinity, tolerance: 0, failure: "\(error)")
        }
    }
}

/// Builds the inputs of one prepared op on one backend, from one seeded generator.
struct CaseBuilder {
    let backend: any Backend
    var random: SeededGenerator
    private(set) var outputs: [Tensor] = []

    /// The value stored around every view; an op writing outside its view changes it.
    static let sentinel: Float = 1234.5

    init(_ backend: any Backend, seed: UInt64) {
        self.backend = backend
        self.random = SeededGenerator(seed: seed)
    }

    /// `count` uniform floats in [low, high).
    mutating func floats(_ count: Int, _ low: Float = -1, _ high: Float = 1) -> [Float] {
        (0..<count).map { _ in low + (high - low) * random.nextFloat() }
    }

    /// `count` floats with magnitude in [0.5, 1.5) and a random sign: never zero.
    mutating func nonZeroFloats(_ count: Int) -> [Float] {
        (0..<count).map { _ in (0.5 + random.nextFloat()) * (random.next() & 1 == 0 ? 1 : -1) }
    }

    /// A storage with 0-4 padding elements before and after the view, padding = sentinel.
    private mutating func place(_ type: ElementType, count: Int, shape: [Int]?) throws -> (storage: any DeviceStorage, view: Tensor) {
        let before = random.nextInt(below: 5), after = random.nextInt(below: 5)
        let storage = try backend.allocate(type, count: before + count + after)
        let whole = Tensor(storage: storage, shape: [before + count + after])
        if type == .float32 { try backend.fill(whole, value: Self.sentinel) }
        return (storage, Tensor(storage: storage, offset: before, shape: shape ?? [count]))
    }

    /// A float32 view holding `values`.
    mutating func tensor(_ values: [Float], shape: [Int]? = nil) throws -> Tensor {
        let (_, view) = try place(.float32, count: values.count, shape: shape)
        try backend.upload(values, to: view)
        return view
    }

    mutating func tensor(_ values: [Int32]) throws -> Tensor {
        let (_, view) = try place(.int32, count: values.count, shape: nil)
        try backend.upload(values, to: view)
        return view
    }

    mutating func tensor(_ values: [UInt8]) throws -> Tensor {
        let (_, view) = try place(.uint8, count: values.count, shape: nil)
        try backend.upload(values, to: view)
        return view
    }

    /// A float32 view of `count` elements whose whole storage is an output of the op; it starts
    /// out holding `initial` (defaults to random values, so "overwritten" is checked too).
    mutating func output(_ count: Int, initial: [Float]? = nil) throws -> Tensor {
        let view = try tensor(initial ?? floats(count))
        markOutput(view)
        return view
    }

    /// Marks an existing view's whole storage as an output.
    mutating func markOutput(_ view: Tensor) {
        outputs.append(Tensor(storage: view.storage, shape: [view.storage.capacity]))
    }

    func prepared(_ run: @escaping () throws -> Void) -> PreparedOp {
        PreparedOp(run: run, outputs: outputs)
    }
}
