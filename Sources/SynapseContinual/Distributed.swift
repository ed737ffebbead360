// What the trainer and the sweeps need from a group of cooperating processes ("ranks"), written
// without MPI so that the default build has none: `SynapseMPI` implements these protocols with
// Open MPI when the package is built with the MPI trait; a lone process uses `SingleProcess` and
// `LocalJobQueue`, which do exactly what the code did before ranks existed.

import SynapseEngine

/// A fixed group of processes that take part in the same collective calls in the same order.
public protocol Communicator: AnyObject {
    /// This process's index, 0..<size; rank 0 writes the results.
    var rank: Int { get }
    /// How many processes take part.
    var size: Int { get }
    /// Element-wise sum over every rank, in place; every rank passes the same count and gets the
    /// same sums back (bit for bit).
    func allreduceSum(_ values: inout [Float]) throws
    /// Rank `root`'s bytes to every rank; the others' `bytes` must already have the same count.
    func broadcast(_ bytes: inout [UInt8], root: Int) throws
}

/// One process alone: the collectives are identities.
public final class SingleProcess: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func allreduceSum(_ values: inout [Float]) throws {}
    public func broadcast(_ bytes: inout [UInt8], root: Int) throws {}
}

/// The rows of a minibatch that this process computes: rows first..<first+count of `total`.
/// Every rank takes a contiguous slice, so a row's index in the whole minibatch (which keys its
/// dropout masks) is the same whichever rank computes it.
public struct BatchShare: Equatable, Sendable {
    public var first: Int
    public var count: Int
    public var total: Int

    public init(first: Int, count: Int, total: Int) {
        self.first = first; self.count = count; self.total = total
    }

    /// The whole batch, computed here.
    public static func whole(_ rows: Int) -> BatchShare { BatchShare(first: 0, count: rows, total: rows) }

    /// Rank `rank`'s slice of `total` rows split over `size` ranks as evenly as possible (the
    /// slices differ by at most one row; a rank gets none when total < size).
    public static func slice(of total: Int, rank: Int, size: Int) -> BatchShare {
        let first = total * rank / size
        return BatchShare(first: first, count: total * (rank + 1) / size - first, total: total)
    }
}

/// Turns each process's gradient of its own rows into the gradient of the whole minibatch. The
/// training step calls it between the backward pass and the update.
public protocol GradientReducer: AnyObject {
    /// On entry `gradients` is ∂(mean loss over this process's `share.count` rows)/∂θ (all zero
    /// when it has none); on return, on every process, ∂(mean loss over all `share.total` rows)/∂θ.
    func reduce(_ gradients: Tensor, on backend: any Backend, share: BatchShare) throws
}

/// Sums the shares' gradients over every rank of a `Communicator`: one download of the flat
/// gradient buffer, one allreduce, one upload per step (the host waits for the device here,
/// which a data-parallel step cannot avoid without device-to-device transport).
public final class AllreduceGradients: GradientReducer {
    public let communicator: any Communicator
    /// Time spent exchanging (download + allreduce + upload, after this rank's device has finished
    /// the step's backward pass), seconds, and how many calls. It includes waiting in the allreduce
    /// for a slower rank.
    public private(set) var seconds = 0.0
    public private(set) var calls = 0

    public init(communicator: any Communicator) { self.communicator = communicator }

    public func reduce(_ gradients: Tensor, on backend: any Backend, share: BatchShare) throws {
        let clock = ContinuousClock()
        try backend.synchronize()   // the step's own compute is not communication
        let start = clock.now
        var values = try backend.download(gradients)
        // Each share's mean becomes its part of the whole minibatch's mean.
        let weight = Float(share.count) / Float(share.total)
        if weight != 1 { for i in values.indices { values[i] *= weight } }
        try communicator.allreduceSum(&values)
        try backend.upload(values, to: gradients)
        let parts = (clock.now - start).components
        seconds += Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
        calls += 1
    }
}

/// How a job of a sweep ended, as sent to the rank that gathers results.
public enum JobOutcome: Equatable, Sendable {
    /// The job's result, encoded by the caller.
    case done([UInt8])
    /// The job failed; the error as one line.
    case failed(String)
}

/// The jobs 0..<count of a sweep, handed out one at a time to whichever rank asks next, so that
/// slow and fast jobs balance. Rank 0 gathers every outcome.
public protocol JobQueue: AnyObject {
    /// The next job for this rank, or nil when every job has been handed out.
    func next() throws -> Int?
    /// Sends this rank's outcome of `job` to rank 0.
    func finish(_ job: Int, _ outcome: JobOutcome) throws
    /// After this rank's last `next()` returned nil: on rank 0, waits for every rank's outcomes
    /// and returns them by job (with the rank that ran it); elsewhere returns [:] at once.
    func close() throws -> [Int: (rank: Int, outcome: JobOutcome)]
}

/// Every job in order, in this process.
public final class LocalJobQueue: JobQueue {
    private let count: Int
    private var handed = 0
    private var outcomes: [Int: (rank: Int, outcome: JobOutcome)] = [:]

    public init(count: Int) { self.count = count }

    public func next() throws -> Int? {
        guard handed < count else { return nil }
        handed += 1
        return handed - 1
    }

    public func finish(_ job: Int, _ outcome: JobOutcome) throws { outcomes[job] = (0, outcome) }

    public func close() throws -> [Int: (rank: Int, outcome: JobOutcome)] { outcomes }
}

/// FNV-1a (64 bit) over the bit patterns of float arrays: equal digests on two ranks mean their
/// arrays are (with overwhelming probability) bit-identical.
public func stateDigest(_ arrays: [[Float]]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for array in arrays {
        for value in array {
            var bits = value.bitPattern
            for _ in 0..<4 {
                hash = (hash ^ UInt64(bits & 0xff)) &* 0x0000_0100_0000_01b3
                bits >>= 8
            }
        }
    }
    return hash
}
