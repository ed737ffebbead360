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

    // MARK: Views to pointers

    /// The host storage behind `tensor`, or an error if another backend owns it.
    private func hostStorage(_ tensor: Tensor, _ role: String, _ op: String) throws -> HostStorage {
        guard let storage = tensor.storage as? HostStorage else {
            throw BackendError("\(op): \(role) lives in \(type(of: tensor.storage)), not in reference-backend memory")
        }
        return storage
    }

    // The pointer accessors below check only that this backend owns the memory: every public op
    // first calls its `OpContract` check, which has verified the element type and that the view
    // holds the elements the sizes need.

    /// Pointer to the first element of a float32 view.
    func floats(_ tensor: Tensor, _ role: String, _ op: String) throws -> UnsafeMutablePointer<Float> {
        try hostStorage(tensor, role, op).base.assumingMemoryBound(to: Float.self) + tensor.offset
    }

    /// Pointer to the first element of an int32 view.
    func ints(_ tensor: Tensor, _ role: String, _ op: String) throws -> UnsafeMutablePointer<Int32> {
        try hostStorage(tensor, role, op).base.assumingMemoryBound(to: Int32.self) + tensor.offset
    }

    /// Pointer to the first element of a uint8 view.
    func bytes(_ tensor: Tensor, _ role: String, _ op: String) throws -> UnsafeMutablePointer<UInt8> {
        try hostStorage(tensor, role, op).base.assumingMemoryBound(to: UInt8.self) + tensor.offset
    }

    // MARK: Memory

    public func allocate(_ type: ElementType, count: Int) throws -> any DeviceStorage {
        try OpContract.allocate(type, count: count)
        return HostStorage(type, count: count, ledger: ledger)
    }

    public func upload(_ values: [Float], to tensor: Tensor) throws {
        try OpContract.upload(values.count, of: .float32, to: tensor)
        let destination = try floats(tensor, "destination", "upload([Float])")
        values.withUnsafeBufferPointer { source in
            if let start = source.baseAddress { destination.update(from: start, count: source.count) }
        }
    }

    public func upload(_ values: [Int32], to tensor: Tensor) throws {
        try OpContract.upload(values.count, of: .int32, to: tensor)
        let destination = try ints(tensor, "destination", "upload([Int32])")
        values.withUnsafeBufferPointer { source in
            if let start = source.baseAddress { destination.update(from: start, count: source.count) }
        }
    }

    public func upload(_ values: [UInt8], to tensor: Tensor) throws {
        try OpContract.upload(values.count, of: .uint8, to: tensor)
        let destination = try bytes(tensor, "destination", "upload([UInt8])")
        values.withUnsafeBufferPointer { source in
            if let start = source.baseAddress { destination.update(from: start, count: source.count) }
        }
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        try OpContract.download(tensor, as: .float32)
        let source = try floats(tensor, "source", "download")
        return Array(UnsafeBufferPointer(start: source, count: tensor.count))
    }

    public func downloadInt32(_ tensor: Tensor) throws -> [Int32] {
        try OpContract.download(tensor, as: .int32)
        let source = try ints(tensor, "source", "downloadInt32")
        return Array(UnsafeBufferPointer(start: source, count: tensor.count))
    }

    public func synchronize() throws {}

    // MARK: Elementwise helpers

    public func fill(_ tensor: Tensor, value: Float) throws {
        try OpContract.fill(tensor, value: value)
        let op = "fill"
        switch tensor.elementType {
        case .float32:
            try floats(tensor, "tensor", op).update(repeating: value, count: tensor.count)
        case .int32:
            // The contract has checked that the value is an integer in range.
            try ints(tensor, "tensor", op).update(repeating: Int32(value), count: tensor.count)
        case .uint8:
            try bytes(tensor, "tensor", op).update(repeating: UInt8(value), count: tensor.count)
        }
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try OpContract.copy(source, to: destination)
        let from = try hostStorage(source, "source", "copy")
        let to = try hostStorage(destination, "destination", "copy")
        let size = from.elementType.byteSize
        // memmove semantics: overlapping views of one storage are copied correctly.
        (to.base + destination.offset * size).copyMemory(from: from.base + source.offset * size,
                                                         byteCount: source.count * size)
    }

    public func accumulate(_ source: Tensor, into destination: Tensor, scale: Float,
                           transform: AccumulateTransform) throws {
        try OpContract.accumulate(source, into: destination)
        let count = source.count
        let x = try floats(source, "source", "accumulate")
        let y = try floats(destination, "destination", "accumulate")
        switch transform {
        case .identity: for i in 0..<count { y[i] += scale * x[i] }
        case .square: for i in 0..<count { y[i] += scale * (x[i] * x[i]) }
        case .absolute: for i in 0..<count { y[i] += scale * abs(x[i]) }
        }
    }

    /// The sum is taken in Double and rounded once, so the reference is the exact sum to
    /// float32 precision (backends summing in float32 differ by the reduction tolerance).
    public func accumulateSum(_ values: Tensor, count: Int, into accumulator: Tensor) throws {
        try OpContract.accumulateSum(values, count: count, into: accumulator)
        let x = try floats(values, "values", "accumulateSum")
        let total = try floats(accumulator, "accumulator", "accumulateSum")
        var sum = 0.0
        for i in 0..<count { sum += Double(x[i]) }
        total[0] = Float(Double(total[0]) + sum)
    }

    // MARK: Data

    /// Also throws if an index is outside the source (rows of `rowLength` elements): a check on
    /// the data, which only the reference makes.
    public func gatherRows(_ source: Tensor, indices: Tensor, rows: Int, rowLength: Int, scale: Float,
                           into destination: Tensor) throws {
        try OpContract.gatherRows(source, indices: indices, rows: rows, rowLength: rowLength, into: destination)
        let op = "gatherRows"
        let pixels = try bytes(source, "source", op)
        let index = try ints(indices, "indices", op)
        let out = try floats(destination, "destination", op)
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

    /// Also throws if an index is outside the source (a check on the data, reference only).
    public func gatherLabels(_ source: Tensor, indices: Tensor, rows: Int, into destination: Tensor) throws {
        try OpContract.gatherLabels(source, indices: indices, rows: rows, into: destination)
        let op = "gatherLabels"
        let labels = try ints(source, "source", op)
        let index = try ints(indices, "indices", op)
        let out = try ints(destination, "destination", op)
        for b in 0..<rows {
            let row = Int(index[b])
            guard row >= 0 && row < source.count else {
                throw BackendError("\(op): indices[\(b)] = \(row) is outside the \(source.count) source labels")
            }
            out[b] = labels[row]
        }
    }
}
