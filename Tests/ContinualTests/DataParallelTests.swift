// Data-parallel training without MPI: the ranks are threads of this process, each with its own
// backend and trainer, meeting in collectives written here (sums in rank order). The MPI build
// runs the same trainer code under mpirun (ExperimentTests' MPI tests).

import Foundation
import SynapseContinual
import SynapseEngine
import SynapseReference
import Testing

/// `size` ranks as threads: each collective waits until every rank has contributed.
final class ThreadGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var contributions: [[Float]?]
    private var bytes: [UInt8]?
    private var result: [Float] = []
    private var arrived = 0, departed = 0
    private var draining = false

    init(size: Int) {
        self.size = size
        contributions = Array(repeating: nil, count: size)
    }

    /// One collective: `contribute` runs under the lock on arrival, `finish` (on the last rank to
    /// arrive) combines, `read` gives each rank its answer.
    private func collective(_ contribute: () -> Void, finish: () -> Void, read: () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        while draining { condition.wait() }
        contribute()
        arrived += 1
        if arrived == size {
            finish()
            draining = true
            condition.broadcast()
        } else {
            while !draining { condition.wait() }
        }
        read()
        departed += 1
        if departed == size {
            arrived = 0; departed = 0; draining = false
            contributions = Array(repeating: nil, count: size)
            bytes = nil
            condition.broadcast()
        }
    }

    func allreduceSum(_ values: inout [Float], rank: Int) {
        let mine = values
        var out: [Float] = []
        collective({ contributions[rank] = mine }, finish: {
            result = [Float](repeating: 0, count: mine.count)
            for part in contributions { for i in result.indices { result[i] += part![i] } }
        }, read: { out = result })
        values = out
    }

    func broadcast(_ values: inout [UInt8], root: Int, rank: Int) {
        let mine = values
        var out: [UInt8] = []
        collective({ if rank == root { bytes = mine } }, finish: {}, read: { out = bytes! })
        values = out
    }
}

final class ThreadRank: Communicator {
    let group: ThreadGroup
    let rank: Int
    var size: Int { group.size }
    /// The length of every array this rank summed, in call order.
    private(set) var reduced: [Int] = []
    init(group: ThreadGroup, rank: Int) { self.group = group; self.rank = rank }
    func allreduceSum(_ values: inout [Float]) throws {
        reduced.append(values.count)
        group.allreduceSum(&values, rank: rank)
    }
    func broadcast(_ bytes: inout [UInt8], root: Int) throws { group.broadcast(&bytes, root: root, rank: rank) }
}

/// Three two-class tasks whose training sets (42 examples) end in a partial minibatch of 2 rows,
/// so with 3 ranks one rank has no rows in that step; a 16-unit hidden layer with dropout.
func dataParallelTrainer(backend: any Backend, sequence: TaskSequence) throws -> ContinualTrainer {
    var options = ContinualOptions(method: .si, epochsPerTask: 3, batchSize: 10, evaluationBatchSize: 7, seed: 5,
                                   settings: ["c": 0.5, "xi": 1e-3])
    options.learningRate = 1e-2
    return try ContinualTrainer(backend: backend, sequence: sequence, inputShape: [7],
                                layers: mlp(hidden: 16, outputUnits: sequence.outputUnits, dropout: 0.4), options: options)
}

@Suite("Data-parallel training")
struct DataParallelTests {
    @Test("BatchShare.slice covers every row once, in order, with slices differing by at most one row")
    func slicesCoverTheBatch() {
        for total in [1, 2, 7, 10, 64, 257] {
            for size in 1...5 {
                let slices = (0..<size).map { BatchShare.slice(of: total, rank: $0, size: size) }
                #expect(slices.first!.first == 0 && slices.map(\.count).reduce(0, +) == total)
                for (a, b) in zip(slices, slices.dropFirst()) { #expect(a.first + a.count == b.first) }
                #expect(slices.map(\.count).max()! - slices.map(\.count).min()! <= 1)
                #expect(slices.allSatisfy { $0.total == total })
            }
        }
    }

    @Test("3 ranks as threads give one process's accuracy matrix and losses, and identical state on every rank")
    func threadRanksMatchOneProcess() throws {
        let sequence = try threeTaskProblem()
        let alone = try dataParallelTrainer(backend: ReferenceBackend(), sequence: sequence).run()
        let ranks = onThreadRanks(3) { communicator in
            let trainer = try dataParallelTrainer(backend: ReferenceBackend(), sequence: sequence)
            trainer.dataParallel = communicator
            let result = try trainer.run()
            // Every training step exchanged the whole gradient once.
            let exchanges = communicator.reduced.filter { $0 == trainer.network.parameterCount }.count
            return (result, try trainer.captureState(), exchanges, trainer.globalStep)
        }
        let outcomes = try ranks.map { try $0.get() }
        let first = outcomes[0].0
        for (rank, outcome) in outcomes.enumerated() {
            #expect(outcome.2 == outcome.3 && outcome.3 == 3 * 3 * 5, "rank \(rank): \(outcome.2) gradient exchanges in \(outcome.3) steps")
        }
        for rank in 1..<3 {
            #expect(outcomes[rank].1.arrays == outcomes[0].1.arrays, "rank \(rank)'s θ, θ*, Ω, ω and Adam state equal rank 0's")
            #expect(outcomes[rank].0.taskIncrementalAccuracy == first.taskIncrementalAccuracy)
        }
        #expect(first.completedTasks == alone.completedTasks)
        for (i, row) in alone.taskIncrementalAccuracy.enumerated() {
            for (j, value) in row.enumerated() {
                #expect(abs(value - first.taskIncrementalAccuracy[i][j]) <= 0.01, "R[\(i)][\(j)]: alone \(value), 3 ranks \(first.taskIncrementalAccuracy[i][j])")
            }
        }
        for (t, losses) in alone.trainingLoss.enumerated() {
            for (e, loss) in losses.enumerated() {
                let other = first.trainingLoss[t][e]
                #expect(abs(loss - other) <= 1e-4 * abs(loss), "task \(t) epoch \(e) loss: alone \(loss), 3 ranks \(other)")
            }
        }
    }

    @Test("a rank whose state differs stops every rank with an error naming it")
    func disagreementIsAnError() throws {
        let sequence = try threeTaskProblem()
        let ranks = onThreadRanks(2) { communicator in
            let trainer = try dataParallelTrainer(backend: ReferenceBackend(), sequence: sequence)
            trainer.dataParallel = communicator
            _ = try trainer.train(task: 0)
            if communicator.rank == 1 {   // one parameter nudged on rank 1 only
                var theta = try trainer.backend.download(trainer.state.theta)
                theta[3] += 1e-3
                try trainer.backend.upload(theta, to: trainer.state.theta)
            }
            try trainer.checkRanksAgree(afterTask: 0)
        }
        for (rank, outcome) in ranks.enumerated() {
            guard case .failure(let error) = outcome else {
                Issue.record("rank \(rank) did not fail")
                continue
            }
            #expect("\(error)".contains("ranks disagree after task 1: rank(s) 1 "), "rank \(rank): \(error)")
        }
    }
}

/// Each rank's outcome, filled in by its thread.
final class OutcomeBox<T>: @unchecked Sendable {
    let lock = NSLock()
    var outcomes: [Int: Result<T, Error>] = [:]
}

/// Runs `body` on `size` threads, one per rank of a `ThreadGroup`, and returns each rank's outcome.
func onThreadRanks<T>(_ size: Int, _ body: @escaping @Sendable (ThreadRank) throws -> T) -> [Result<T, Error>] {
    let group = ThreadGroup(size: size)
    let box = OutcomeBox<T>()
    let done = DispatchGroup()
    for rank in 0..<size {
        done.enter()
        let thread = Thread {
            let outcome = Result { try body(ThreadRank(group: group, rank: rank)) }
            box.lock.lock(); box.outcomes[rank] = outcome; box.lock.unlock()
            done.leave()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
    done.wait()
    return (0..<size).map { box.outcomes[$0]! }
}
