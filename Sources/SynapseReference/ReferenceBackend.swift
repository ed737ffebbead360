// The pure-Swift reference backend: the living definition of every op in `Backend`.
// Plain loops over host memory; only GEMM and the convolutions are arranged for speed, because
// this backend can also run small training runs.
//
// Shape letters (as in Backend.swift): N batch, C input channels, K output channels (filters),
// H×W input spatial, P×Q output spatial, R filter size; M×N×K for GEMM as in BLAS.

import SynapseEngine

/// Bytes allocated by one backend, shared with its storages so a storage can give its bytes
/// back when it is freed.
final class MemoryLedger {
    var currentBytes = 0
    var peakBytes = 0

    func add(_ bytes: Int) {
        currentBytes += bytes
        peakBytes = max(peakBytes, currentBytes)
    }

    func remove(_ bytes: Int) { currentBytes -= bytes }
}

/// Host memory of the reference backend: one raw allocation, typed by `elementType`.
///
/// A raw pointer rather than a Swift array so that ops may read and write the same storage
/// through two views (e.g. `dInput` aliasing `dOutput`) without exclusivity conflicts.
public final class HostStorage: DeviceStorage {
    public let elementType: ElementType
    public let capacity: Int
    let base: UnsafeMutableRawPointer
    private let ledger: MemoryLedger
    private let byteCount: Int

    init(_ type: ElementType, count: Int, ledger: MemoryLedger) {
        elementType = type
        capacity = count
        byteCount = count * type.byteSize
        // 64-byte alignment: a cache line, and the widest vector load.
        base = UnsafeMutableRawPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: max(byteCount, 1))
        self.ledger = ledger
        ledger.add(byteCount)
    }

    deinit {
        base.deallocate()
        ledger.remove(byteCount)
    }
}

/// The reference backend. Every op runs synchronously on the calling thread, so `synchronize`
/// has nothing to wait for.
public final class ReferenceBackend: Backend {
    public let deviceName = "reference (Swift)"
    public let deviceKind = DeviceKind.reference
    private let ledger = MemoryLedger()

    public init() {}

    public var allocatedBytes: Int { ledger.currentBytes }
    public var peakAllocatedBytes: Int { ledger.peakBytes }

    // MARK: Views to pointers (all validation of tensors happens here)

    /// The host storage behind `tensor`, or an error if another backend owns it.
    private func hostStorage(_ tensor: Tensor, _ role: String, _ op: String) throws -> HostStorage {
        guard let storage = tensor.storage as? HostStorage else {
            throw BackendError("\(op): \(role) lives in \(type(of: tensor.storage)), not in reference-backend memory")
        }
        return storage
    }

    private func checkView(_ tensor: Tensor, _ role: String, _ op: String, type: ElementType,
                           needs count: Int) throws -> HostStorage {
        let storage = try hostStorage(tensor, role, op)
        guard storage.elementType == type else {
            throw BackendError("\(op): \(role) must be \(type) but is \(storage.elementType)")
        }
        guard count >= 0 else {
            throw BackendError("\(op): \(role) size must be ≥ 0, got \(count)")
        }
        guard tensor.count >= count else {
            throw BackendError("\(op): \(role) view \(tensor.shape) holds \(tensor.count) elements, the sizes given need \(count)")
        }
        return storage
    }

    /// Pointer to the first element of a float32 view holding at least `count` elements.
    func floats(_ tensor: Tensor, _ role: String, _ op: String, needs count: Int) throws -> UnsafeMutablePointer<Float> {
        let storage = try checkView(tensor, role, op, type: .float32, needs: count)
        return storage.base.assumingMemoryBound(to: Float.self) + tensor.offset
    }

    /// Pointer to the first element of an int32 view holding at least `count` elements.
    func ints(_ tensor: Tensor, _ role: String, _ op: String, needs count: Int) throws -> UnsafeMutablePointer<Int32> {
        let storage = try checkView(tensor, role, op, type: .int32, needs: count)
        return storage.base.assumingMemoryBound(to: Int32.self) + tensor.offset
    }

    /// Pointer to the first element of a uint8 view holding at least `count` elements.
    func bytes(_ tensor: Tensor, _ role: String, _ op: String, needs count: Int) throws -> UnsafeMutablePointer<UInt8> {
        let storage = try checkView(tensor, role, op, type: .uint8, needs: count)
        return storage.base.assumingMemoryBound(to: UInt8.self) + tensor.offset
    }

    /// Throws unless every size is ≥ 0 (sizes are user input: a negative one must not crash).
    func checkSizes(_ op: String, _ sizes: KeyValuePairs<String, Int>) throws {
        for (name, value) in sizes where value < 0 {
            throw BackendError("\(op): \(name) must be ≥ 0, got \(value)")
        }
    }

    // MARK: Memory

    public func allocate(_ type: ElementType, count: Int) throws -> any DeviceStorage {
        guard count >= 0 else { throw BackendError("allocate: count must be ≥ 0, got \(count)") }
        return HostStorage(type, count: count, ledger: ledger)
    }

    /// Writes `values` into the first `values.count` elements of the view; the view must be
    /// float32 and hold at least that many elements. Elements after them are untouched.
    public func upload(_ values: [Float], to tensor: Tensor) throws {
        let destination = try floats(tensor, "destination", "upload([Float])", needs: values.count)
        values.withUnsafeBufferPointer { source in
            if let start = source.baseAddress { destination.update(from: start, count: source.count) }
        }
    }

    /// As `upload([Float])`, for int32 views.
    public func upload(_ values: [Int32], to tensor: Tensor) throws {
        let destination = try ints(tensor, "destination", "upload([Int32])", needs: values.count)
        values.withUnsafeBufferPointer { source in
            if let start = source.baseAddress { destination.update(from: start, count: source.count) }
        }
    }

    /// As `upload([Float])`, for uint8 views.
    public func upload(_ values: [UInt8], to tensor: Tensor) throws {
        let destination = try bytes(tensor, "destination", "upload([UInt8])", needs: values.count)
        values.withUnsafeBufferPointer { source in
            if let start = source.baseAddress { destination.update(from: start, count: source.count) }
        }
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        let source = try floats(tensor, "source", "download", needs: tensor.count)
        return Array(UnsafeBufferPointer(start: source, count: tensor.count))
    }

    public func downloadInt32(_ tensor: Tensor) throws -> [Int32] {
        let source = try ints(tensor, "source", "downloadInt32", needs: tensor.count)
        return Array(UnsafeBufferPointer(start: source, count: tensor.count))
    }

    public func synchronize() throws {}

    // MARK: Elementwise helpers

    /// For int32 views `value` must be an integer representable as Int32.
    public func fill(_ tensor: Tensor, value: Float) throws {
        switch tensor.elementType {
        case .float32:
            let x = try floats(tensor, "tensor", "fill", needs: tensor.count)
            x.update(repeating: value, count: tensor.count)
        case .int32:
            guard let integer = Int32(exactly: value) else {
                throw BackendError("fill: an int32 view needs an integral value in Int32 range, got \(value)")
            }
            let x = try ints(tensor, "tensor", "fill", needs: tensor.count)
            x.update(repeating: integer, count: tensor.count)
        case .uint8:
            throw BackendError("fill: tensor must be float32 or int32, got uint8")
        }
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        let from = try hostStorage(source, "source", "copy")
        let to = try hostStorage(destination, "destination", "copy")
        guard from.elementType == to.elementType else {
            throw BackendError("copy: source is \(from.elementType) but destination is \(to.elementType)")
        }
        guard source.count == destination.count else {
            throw BackendError("copy: source has \(source.count) elements, destination \(destination.count)")
        }
        let size = from.elementType.byteSize
        // memmove semantics: overlapping views of one storage are copied correctly.
        (to.base + destination.offset * size).copyMemory(from: from.base + source.offset * size,
                                                         byteCount: source.count * size)
    }

    public func accumulate(_ source: Tensor, into destination: Tensor, scale: Float,
                           transform: AccumulateTransform) throws {
        guard source.count == destination.count else {
            throw BackendError("accumulate: source has \(source.count) elements, destination \(destination.count)")
        }
        let count = source.count
        let x = try floats(source, "source", "accumulate", needs: count)
        let y = try floats(destination, "destination", "accumulate", needs: count)
        switch transform {
        case .identity: for i in 0..<count { y[i] += scale * x[i] }
        case .square: for i in 0..<count { y[i] += scale * (x[i] * x[i]) }
        case .absolute: for i in 0..<count { y[i] += scale * abs(x[i]) }
        }
    }

    /// The sum is taken in Double and rounded once, so the reference is the exact sum to
    /// float32 precision (backends summing in float32 differ by the reduction tolerance).
    public func accumulateSum(_ values: Tensor, count: Int, into accumulator: Tensor) throws {
        let x = try floats(values, "values", "accumulateSum", needs: count)
        let total = try floats(accumulator, "accumulator", "accumulateSum", needs: 1)
        var sum = 0.0
        for i in 0..<count { sum += Double(x[i]) }
        total[0] = Float(Double(total[0]) + sum)
    }

    // MARK: Data

    /// Throws if an index is outside the source (rows of `rowLength` elements).
    public func gatherRows(_ source: Tensor, indices: Tensor, rows: Int, rowLength: Int, scale: Float,
                           into destination: Tensor) throws {
        let op = "gatherRows"
        try checkSizes(op, ["rows": rows, "rowLength": rowLength])
        let pixels = try bytes(source, "source", op, needs: 0)
        let index = try ints(indices, "indices", op, needs: rows)
        let out = try floats(destination, "destination", op, needs: rows * rowLength)
        let sourceRows = rowLength == 0 ? Int.max : source.count / rowLength
        for b in 0..<rows {
            let row = Int(index[b])
            guard row >= 0 && row < sourceRows else {
                throw BackendError("\(op): indices[\(b)] = \(row) is outside the \(sourceRows) source rows")
            }
            for d in 0..<rowLength {
                out[b * rowLength + d] = Float(pixels[row * rowLength + d]) * scale
            }
        }
    }

    /// Throws if an index is outside the source.
    public func gatherLabels(_ source: Tensor, indices: Tensor, rows: Int, into destination: Tensor) throws {
        let op = "gatherLabels"
        try checkSizes(op, ["rows": rows])
        let labels = try ints(source, "source", op, needs: 0)
        let index = try ints(indices, "indices", op, needs: rows)
        let out = try ints(destination, "destination", op, needs: rows)
        for b in 0..<rows {
            let row = Int(index[b])
            guard row >= 0 && row < source.count else {
                throw BackendError("\(op): indices[\(b)] = \(row) is outside the \(source.count) source labels")
            }
            out[b] = labels[row]
        }
    }
}
