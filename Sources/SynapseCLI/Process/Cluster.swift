// The processes a tool runs in: this process alone, or (in a build with the MPI trait, launched by
// mpirun or srun) the ranks of an MPI job. Everything else in the tools asks this type, so the
// code without MPI is the same code with a cluster of one.

import Foundation
import SynapseContinual
#if MPI
import SynapseMPI
#endif

public final class Cluster {
    /// Collectives over the ranks (identities for one process).
    public let communicator: any Communicator
    /// This rank's index among the ranks on its node, and how many share the node.
    public let localRank: Int
    public let localSize: Int
    private let makeQueue: (Int) -> JobQueue
    private let stop: () -> Void
    private let kill: (Int32) -> Never

    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    init(communicator: any Communicator, localRank: Int, localSize: Int, makeQueue: @escaping (Int) -> JobQueue,
         stop: @escaping () -> Void, kill: @escaping (Int32) -> Never) {
        self.communicator = communicator; self.localRank = localRank; self.localSize = localSize
        self.makeQueue = makeQueue; self.stop = stop; self.kill = kill
    }

    /// This process alone.
    public static func alone() -> Cluster {
        Cluster(communicator: SingleProcess(), localRank: 0, localSize: 1, makeQueue: { LocalJobQueue(count: $0) },
                stop: {}, kill: { exit($0) })
    }

    /// The MPI job this process belongs to when the package was built with the MPI trait and a
    /// launcher started it; otherwise this process alone (exactly as a build without MPI).
    /// - Throws: when MPI was launched but could not start.
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Cluster {
        #if MPI
        guard MPIWorld.launched(environment: environment) else { return alone() }
        let world = try MPIWorld.start()
        let cluster = Cluster(communicator: world, localRank: world.localRank, localSize: world.localSize,
                              makeQueue: { world.jobQueue(count: $0) }, stop: { world.finalize() },
                              kill: { world.abort($0) })
        cluster.shareCores(environment: environment)
        return cluster
        #else
        return alone()
        #endif
    }

    /// PoCL's CPU device starts one thread per core in every process, so K ranks on one node would
    /// run K× as many threads as cores. Each rank gets its share instead (PoCL 3 reads
    /// POCL_MAX_PTHREAD_COUNT when the platform is first opened, which is after this). A value the
    /// user set is kept.
    func shareCores(environment: [String: String]) {
        guard localSize > 1, environment["POCL_MAX_PTHREAD_COUNT"] == nil else { return }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let share = max(1, cores / localSize + (localRank < cores % localSize ? 1 : 0))
        setenv("POCL_MAX_PTHREAD_COUNT", String(share), 1)
    }

    /// The sweep's queue of `count` jobs: served by rank 0 over MPI, or every job in order here.
    public func jobQueue(count: Int) -> JobQueue { makeQueue(count) }

    /// True on every rank when `ok` is true on every rank (a collective: every rank must call it).
    public func allAgree(_ ok: Bool) throws -> Bool {
        guard size > 1 else { return ok }
        var failures: [Float] = [ok ? 0 : 1]
        try communicator.allreduceSum(&failures)
        return failures[0] == 0
    }

    /// Leaves MPI (when in a job); call once, when the tool is done.
    public func finish() { stop() }

    /// Ends every rank of the job with `code`: for an error that leaves the other ranks waiting.
    public func abort(_ code: Int32) -> Never { kill(code) }
}
