// Open MPI for the tools: start/stop, ranks, the collectives the data-parallel trainer needs and
// the sweep's job queue. The only module that imports CMPI; everything above it sees the
// `Communicator` and `JobQueue` protocols of SynapseContinual.
//
// When one rank dies (a signal, an exit without MPI_Finalize), Open MPI's mpirun (and srun)
// ends every other rank of the job too: Open MPI 4 has no fault tolerance by default. So
// nothing here tries to carry on after a lost rank; instead every finished run's result and
// checkpoints are on disk the moment it finishes, and `--resume` reruns only what is missing.

// Compiled only with the MPI trait: a default build (`swift build`, which builds every target)
// must not need Open MPI's headers.
#if MPI
import CMPI
import Foundation
import SynapseContinual
import Synchronization

/// An MPI call that failed, with the call's name and MPI's own message.
public struct MPIError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Throws when an MPI call did not return MPI_SUCCESS.
func check(_ code: Int32, _ call: String) throws {
    guard code != synapse_mpi_success() else { return }
    var text = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
    var length: Int32 = 0
    MPI_Error_string(code, &text, &length)
    let message = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    throw MPIError("\(call) failed: \(message) (MPI error \(code))")
}

/// MPI_COMM_WORLD of this process, started by `start()`.
///
/// Sendable by hand (rank 0's job server thread uses it beside the main thread): every stored
/// property is immutable except `finalized`, which is atomic. The one non-Sendable property is
/// the `MPI_Comm` handle of MPI_COMM_WORLD, never changed or freed; calling MPI on it from two
/// threads is safe under MPI_THREAD_MULTIPLE, and under MPI_THREAD_SERIALIZED (the least `start()`
/// accepts) because the main thread makes no MPI call while the server thread runs.
public final class MPIWorld: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    /// This rank's index among the ranks on its own node, and how many ranks share the node
    /// (from MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)): GPUs and cores are shared out by these.
    public let localRank: Int
    public let localSize: Int
    private let world: MPI_Comm
    private let finalized = Atomic(false)

    /// True when a launcher (mpirun, mpiexec, srun with PMIx or PMI2) started this process as
    /// one rank of a job: then the tools start MPI; otherwise they run alone, as without MPI.
    public static func launched(environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"].contains { environment[$0] != nil }
    }

    /// MPI_Init_thread asking for MPI_THREAD_MULTIPLE; needs at least MPI_THREAD_SERIALIZED (rank
    /// 0's job server answers from its own thread while the main thread trains, which makes no
    /// MPI call until the server thread is done).
    public static func start() throws -> MPIWorld {
        var provided: Int32 = 0
        try check(MPI_Init_thread(nil, nil, synapse_mpi_thread_multiple(), &provided), "MPI_Init_thread")
        guard provided >= synapse_mpi_thread_serialized() else {
            MPI_Finalize()
            throw MPIError("this MPI library provides thread level \(provided); the job queue needs MPI_THREAD_SERIALIZED or better")
        }
        return try MPIWorld()
    }

    private init() throws {
        world = synapse_mpi_comm_world()
        var value: Int32 = 0
        try check(MPI_Comm_rank(world, &value), "MPI_Comm_rank")
        rank = Int(value)
        try check(MPI_Comm_size(world, &value), "MPI_Comm_size")
        size = Int(value)
        var node: MPI_Comm? = synapse_mpi_comm_null()
        try check(MPI_Comm_split_type(world, synapse_mpi_comm_type_shared(), Int32(rank), synapse_mpi_info_null(), &node),
                  "MPI_Comm_split_type")
        try check(MPI_Comm_rank(node, &value), "MPI_Comm_rank (node)")
        localRank = Int(value)
        try check(MPI_Comm_size(node, &value), "MPI_Comm_size (node)")
        localSize = Int(value)
        MPI_Comm_free(&node)
    }

    /// MPI_Finalize (once; later calls do nothing).
    public func finalize() {
        guard !finalized.exchange(true, ordering: .sequentiallyConsistent) else { return }
        MPI_Finalize()
    }

    /// Ends every rank of the job with `code` (what a rank does when it cannot continue a
    /// collective its peers are waiting in).
    public func abort(_ code: Int32) -> Never {
        MPI_Abort(world, code)
        exit(code)
    }

    /// MPI counts are 32-bit: longer buffers go in pieces of at most this many elements.
    static let maxCount = Int(Int32.max)

    public func allreduceSum(_ values: inout [Float]) throws {
        guard size > 1 else { return }
        try values.withUnsafeMutableBufferPointer { buffer in
            var start = 0
            repeat {
                let count = min(Self.maxCount, buffer.count - start)
                try check(MPI_Allreduce(synapse_mpi_in_place(), buffer.baseAddress.map { $0 + start }, Int32(count),
                                        synapse_mpi_float(), synapse_mpi_sum(), world), "MPI_Allreduce")
                start += count
            } while start < buffer.count
        }
    }

    public func broadcast(_ bytes: inout [UInt8], root: Int) throws {
        guard size > 1 else { return }
        try bytes.withUnsafeMutableBufferPointer { buffer in
            var start = 0
            repeat {
                let count = min(Self.maxCount, buffer.count - start)
                try check(MPI_Bcast(buffer.baseAddress.map { UnsafeMutableRawPointer($0 + start) }, Int32(count),
                                    synapse_mpi_byte(), Int32(root), world), "MPI_Bcast")
                start += count
            } while start < buffer.count
        }
    }

    /// Waits until every rank has called it.
    public func barrier() throws {
        try check(MPI_Barrier(world), "MPI_Barrier")
    }

    /// The sweep's job queue over this world: rank 0 serves jobs 0..<count (and runs some itself).
    public func jobQueue(count: Int) -> JobQueue {
        rank == 0 ? MPIJobServer(world: self, count: count) : MPIJobClient(world: self)
    }

    // MARK: Point to point (the job queue's messages)

    enum Tag: Int32 {
        /// worker → 0: "give me a job" (one Int64, unused).
        case request = 1
        /// 0 → worker: the job index, or −1 for "no more".
        case assign = 2
        /// worker → 0: [job: Int64 little-endian][ok: 1 byte][payload].
        case outcome = 3
    }

    func send(_ bytes: [UInt8], to rank: Int, tag: Tag) throws {
        guard bytes.count <= Self.maxCount else {
            throw MPIError("a \(bytes.count)-byte message is over MPI's 2^31 − 1 limit")
        }
        try bytes.withUnsafeBufferPointer { buffer in
            try check(MPI_Send(buffer.baseAddress, Int32(buffer.count), synapse_mpi_byte(), Int32(rank), tag.rawValue, world), "MPI_Send")
        }
    }

    /// Receives one message of `tag` from `rank` (any rank: nil), whatever its length.
    func receive(from rank: Int?, tag: Tag) throws -> (bytes: [UInt8], source: Int) {
        var status = MPI_Status()
        let source = rank.map(Int32.init) ?? synapse_mpi_any_source()
        try check(MPI_Probe(source, tag.rawValue, world, &status), "MPI_Probe")
        var count: Int32 = 0
        try check(MPI_Get_count(&status, synapse_mpi_byte(), &count), "MPI_Get_count")
        var bytes = [UInt8](repeating: 0, count: Int(count))
        let from = status.MPI_SOURCE
        try bytes.withUnsafeMutableBufferPointer { buffer in
            try check(MPI_Recv(buffer.baseAddress, count, synapse_mpi_byte(), from, tag.rawValue, world, nil), "MPI_Recv")
        }
        return (bytes, Int(from))
    }

    /// The tag of a message waiting from any rank, without receiving it (nil: none yet).
    func pending() throws -> Tag? {
        var flag: Int32 = 0
        var status = MPI_Status()
        try check(MPI_Iprobe(synapse_mpi_any_source(), synapse_mpi_any_tag(), world, &flag, &status), "MPI_Iprobe")
        return flag != 0 ? Tag(rawValue: status.MPI_TAG) : nil
    }
}

/// 8 bytes, little-endian.
func encode(_ value: Int64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

func decodeInt64(_ bytes: ArraySlice<UInt8>) throws -> Int64 {
    guard bytes.count >= 8 else { throw MPIError("job queue: a message of \(bytes.count) bytes is too short for a job index") }
    return bytes.prefix(8).enumerated().reduce(Int64(0)) { $0 | Int64($1.element) << (8 * $1.offset) }
}
#endif
