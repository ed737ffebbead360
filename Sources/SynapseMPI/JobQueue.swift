// The sweep's work queue over MPI. Rank 0 holds the list of jobs and answers requests from a
// server thread while its main thread runs jobs like every other rank; a worker asks for a job,
// runs it, sends back its outcome and asks again, so a rank with short jobs simply takes more.

// Compiled only with the MPI trait: a default build (`swift build`, which builds every target)
// must not need Open MPI's headers.
#if MPI
import CMPI
import Foundation
import SynapseContinual
import Synchronization

/// Rank 0's side: hands out jobs 0..<count to itself (directly) and to the other ranks (through
/// the server thread), and collects every outcome. Sendable: what the main thread and the
/// server thread share is behind one `Mutex`.
final class MPIJobServer: JobQueue, Sendable {
    private let world: MPIWorld
    private let count: Int
    private struct State {
        var handed = 0
        var outcomes: [Int: (rank: Int, outcome: JobOutcome)] = [:]
        /// Jobs handed to other ranks whose outcome has not arrived.
        var outstanding = 0
        var serverError: Error?
    }
    private let state = Mutex(State())
    private let done = DispatchSemaphore(value: 0)

    /// How long the server thread sleeps when no message is waiting, in microseconds. Open MPI's
    /// blocking receive spins a core; polling every 2 ms costs nothing measurable and answers a
    /// request far faster than any job runs.
    static let pollMicroseconds: UInt32 = 2_000

    init(world: MPIWorld, count: Int) {
        self.world = world
        self.count = count
        if world.size > 1 {
            let thread = Thread { [self] in serve() }
            thread.name = "synapse-job-server"
            thread.start()
        } else {
            done.signal()
        }
    }

    private func take() -> Int? {
        state.withLock { state in
            guard state.handed < count else { return nil }
            state.handed += 1
            return state.handed - 1
        }
    }

    func next() throws -> Int? { take() }

    func finish(_ job: Int, _ outcome: JobOutcome) throws {
        state.withLock { $0.outcomes[job] = (0, outcome) }
    }

    func close() throws -> [Int: (rank: Int, outcome: JobOutcome)] {
        done.wait()
        return try state.withLock { state in
            if let serverError = state.serverError { throw serverError }
            return state.outcomes
        }
    }

    /// Answers requests and stores outcomes until every other rank has been told "no more" and
    /// every job handed to one has come back.
    private func serve() {
        defer { done.signal() }
        var finishedWorkers = 0
        do {
            while finishedWorkers < world.size - 1 || outstandingCount() > 0 {
                guard let tag = try world.pending() else {
                    usleep(Self.pollMicroseconds)
                    continue
                }
                switch tag {
                case .request:
                    let (_, source) = try world.receive(from: nil, tag: .request)
                    let job = take()
                    if job == nil { finishedWorkers += 1 } else { adjustOutstanding(+1) }
                    try world.send(encode(Int64(job ?? -1)), to: source, tag: .assign)
                case .outcome:
                    let (bytes, source) = try world.receive(from: nil, tag: .outcome)
                    let job = Int(try decodeInt64(bytes[...]))
                    guard bytes.count >= 9, (0..<count).contains(job) else {
                        throw MPIError("job queue: rank \(source) sent a malformed outcome (\(bytes.count) bytes, job \(job))")
                    }
                    let payload = Array(bytes[9...])
                    let outcome: JobOutcome = bytes[8] == 1 ? .done(payload) : .failed(String(decoding: payload, as: UTF8.self))
                    state.withLock { state in
                        state.outcomes[job] = (source, outcome)
                        state.outstanding -= 1
                    }
                case .assign:
                    throw MPIError("job queue: rank 0 received a job assignment, which only rank 0 sends")
                }
            }
        } catch {
            state.withLock { $0.serverError = error }
        }
    }

    private func outstandingCount() -> Int {
        state.withLock { $0.outstanding }
    }

    private func adjustOutstanding(_ delta: Int) {
        state.withLock { $0.outstanding += delta }
    }
}

/// A worker's side: asks rank 0 for each job and sends back each outcome.
final class MPIJobClient: JobQueue {
    private let world: MPIWorld

    init(world: MPIWorld) { self.world = world }

    func next() throws -> Int? {
        try world.send(encode(0), to: 0, tag: .request)
        let (bytes, _) = try world.receive(from: 0, tag: .assign)
        let job = try decodeInt64(bytes[...])
        return job < 0 ? nil : Int(job)
    }

    func finish(_ job: Int, _ outcome: JobOutcome) throws {
        var message = encode(Int64(job))
        switch outcome {
        case .done(let payload): message += [1] + payload
        case .failed(let text): message += [0] + Array(text.utf8)
        }
        try world.send(message, to: 0, tag: .outcome)
    }

    func close() throws -> [Int: (rank: Int, outcome: JobOutcome)] { [:] }
}
#endif
