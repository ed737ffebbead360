/// A small, seeded, platform-independent random number generator: xoshiro256** (Blackman and
/// Vigna, "Scrambled linear pseudorandom number generators", 2018), its 256-bit state filled
/// from the 64-bit seed by SplitMix64 as the authors recommend.
///
/// Use it wherever a run must be reproducible from a seed: parameter initialisation, shuffling,
/// task permutations. The same seed gives the same sequence on every machine and Swift version,
/// because the helpers below (`nextFloat`, `nextInt(below:)`, `shuffle`, `permutation`) are
/// defined here rather than taken from the standard library, whose algorithms may change.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose whole sequence is determined by `seed` (any value, 0 included).
    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        // SplitMix64 never yields four zero words in a row, so the state is never all zero
        // (the one state xoshiro cannot leave).
        s0 = nextSplitMix(); s1 = nextSplitMix(); s2 = nextSplitMix(); s3 = nextSplitMix()
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotateLeft(s1 &* 5, by: 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotateLeft(s3, by: 45)
        return result
    }

    /// A uniform float in [0, 1) with 24 random bits (every value is a multiple of 2^-24).
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A uniform integer in [0, bound), without modulo bias (rejection sampling). `bound` must be
    /// positive; a bound of 0 or less returns 0.
    public mutating func nextInt(below bound: Int) -> Int {
        guard bound > 1 else { return 0 }
        let range = UInt64(bound)
        // Reject the top partial copy of [0, range) so every residue is equally likely.
        let limit = UInt64.max - (UInt64.max % range)
        while true {
            let draw = next()
            if draw < limit { return Int(draw % range) }
        }
    }

    /// Shuffles `values` in place (Fisher–Yates, from the last element down).
    public mutating func shuffle<T>(_ values: inout [T]) {
        var i = values.count - 1
        while i > 0 {
            let j = nextInt(below: i + 1)
            values.swapAt(i, j)
            i -= 1
        }
    }

    /// A uniformly random permutation of 0..<count.
    public mutating func permutation(_ count: Int) -> [Int] {
        var values = Array(0..<max(0, count))
        shuffle(&values)
        return values
    }

    private func rotateLeft(_ x: UInt64, by k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
