/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011):
/// a counter-based generator, so any element's random bits are a pure function of
/// (key, counter) and every backend draws identical numbers without sharing state.
public enum Philox4x32 {
    static let m0: UInt32 = 0xD251_1F53
    static let m1: UInt32 = 0xCD9E_8D57
    static let w0: UInt32 = 0x9E37_79B9
    static let w1: UInt32 = 0xBB67_AE85

    /// Ten rounds on `counter` with `key`; returns four 32-bit words.
    public static func generate(counter: (UInt32, UInt32, UInt32, UInt32),
                                key: (UInt32, UInt32)) -> (UInt32, UInt32, UInt32, UInt32) {
        var (c0, c1, c2, c3) = counter
        var (k0, k1) = key
        for round in 0..<10 {
            let p0 = UInt64(m0) * UInt64(c0)
            let p1 = UInt64(m1) * UInt64(c2)
            let hi0 = UInt32(truncatingIfNeeded: p0 >> 32), lo0 = UInt32(truncatingIfNeeded: p0)
            let hi1 = UInt32(truncatingIfNeeded: p1 >> 32), lo1 = UInt32(truncatingIfNeeded: p1)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            if round < 9 {
                k0 = k0 &+ w0
                k1 = k1 &+ w1
            }
        }
        return (c0, c1, c2, c3)
    }
}

/// The dropout mask, defined once for every backend (kernels implement the same formula).
///
/// Element i of a dropout call keyed by (seed, stream, step) uses Philox4x32-10 with
/// key = (low 32 bits of seed, high 32 bits of seed) and counter = (i / 4, step, stream, 0), and
/// takes output word i mod 4. Its top 24 bits give u = word >> 8 in [0, 2^24); the element is kept
/// when u < keepThreshold(p) = floor(p · 2^24) (computed exactly in integers, so no backend's
/// float rounding changes a mask). `stream` names the layer, `step` the training step.
public enum DropoutMask {
    /// Integer threshold on the 24-bit draw: the element is kept when draw < threshold.
    public static func threshold(keepProbability p: Float) -> UInt32 {
        UInt32((Double(p) * 16_777_216.0).rounded(.down))
    }

    /// Whether element `index` of layer `stream` survives dropout at training step `step`: the
    /// 24-bit draw of Philox4x32-10 for that (index, step, stream) under key `seed` is below
    /// `threshold(keepProbability:)`. A pure function of its arguments, so the OpenCL kernel
    /// computes the same mask with no state and no host traffic, and backward reuses it.
    public static func keeps(index: Int, keepProbability p: Float, seed: UInt64, stream: UInt32, step: UInt32) -> Bool {
        let words = Philox4x32.generate(
            counter: (UInt32(truncatingIfNeeded: index >> 2), step, stream, 0),
            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        let word: UInt32
        switch index & 3 {
        case 0: word = words.0
        case 1: word = words.1
        case 2: word = words.2
        default: word = words.3
        }
        return (word >> 8) < threshold(keepProbability: p)
    }
}
