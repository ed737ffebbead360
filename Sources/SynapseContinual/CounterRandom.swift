// Counter-based random streams: every draw is a pure function of (seed, purpose, task, epoch, index),
// so a run resumed after task k replays the same shuffles, dropout masks and samples without saving
// any generator state.

import SynapseEngine

/// What a random stream is used for; keeps the streams of one (task, epoch) independent.
enum RandomPurpose: UInt32 {
    case epochShuffle = 1, jointOrder = 2, fisherSamples = 3, fisherLabels = 4, masSamples = 5,
         initialization = 6, dropout = 7
}

/// Random words from Philox4x32-10 keyed by the run's seed, counter = (index, task, epoch, purpose).
struct CounterRandom {
    let seed: UInt64
    let purpose: RandomPurpose
    let task: Int
    let epoch: Int
    /// A sub-stream (joint training: which of the tasks so far is being shuffled).
    var stream: Int = 0

    /// 64 random bits for draw number `index`.
    func bits(_ index: Int) -> UInt64 {
        let words = Philox4x32.generate(
            counter: (UInt32(truncatingIfNeeded: index), UInt32(truncatingIfNeeded: task),
                      UInt32(truncatingIfNeeded: epoch), purpose.rawValue | UInt32(truncatingIfNeeded: stream) << 8),
            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        return UInt64(words.0) << 32 | UInt64(words.1)
    }

    /// Uniform in [0, 1) with 53 bits.
    func uniform(_ index: Int) -> Double {
        Double(bits(index) >> 11) * 0x1p-53
    }

    /// A uniformly random permutation of 0..<count: the engine's `SeededGenerator`, seeded from this
    /// stream's (seed, purpose, task, epoch).
    func permutation(_ count: Int) -> [Int32] {
        var generator = SeededGenerator(seed: derivedSeed)
        return generator.permutation(count).map { Int32($0) }
    }

    /// A derived 64-bit seed (network initialisation, dropout).
    var derivedSeed: UInt64 { bits(0) }
}
