// Philox4x32-10 against the Random123 known-answer vectors, and the dropout mask built on it.

import Foundation
import SynapseEngine
import SynapseReference
import Testing

@Suite struct PhiloxDropoutTests {
    typealias Words = (UInt32, UInt32, UInt32, UInt32)

    static func same(_ a: Words, _ b: Words) -> Bool {
        a.0 == b.0 && a.1 == b.1 && a.2 == b.2 && a.3 == b.3
    }

    /// The three philox4x32 (10 rounds) vectors of Random123's kat_vectors file.
    @Test func philoxMatchesRandom123KnownAnswers() {
        let cases: [(counter: Words, key: (UInt32, UInt32), expected: Words)] = [
            ((0, 0, 0, 0), (0, 0), (0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8)),
            ((0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff), (0xffff_ffff, 0xffff_ffff),
             (0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd)),
            ((0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), (0xa409_3822, 0x299f_31d0),
             (0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1)),
        ]
        for item in cases {
            let got = Philox4x32.generate(counter: item.counter, key: item.key)
            #expect(Self.same(got, item.expected), "counter \(item.counter) key \(item.key): got \(got)")
        }
    }

    /// Runs dropoutForward on an all-ones input and returns which elements were kept.
    static func keptMask(_ fixture: ReferenceFixture, count: Int, p: Float, seed: UInt64,
                         stream: UInt32, step: UInt32) throws -> [Bool] {
        let input = try fixture.tensor([Float](repeating: 1, count: count))
        let output = try fixture.zeros(count)
        try fixture.backend.dropoutForward(input: input, count: count, keepProbability: p, seed: seed,
                                           stream: stream, step: step, output: output)
        return try fixture.backend.download(output).map { $0 != 0 }
    }

    /// The number kept is Binomial(n, q) with q = threshold / 2^24 (the exact keep probability);
    /// it must lie within 5 standard deviations of n·q (false alarm probability ≈ 6e-7).
    @Test(arguments: [Float(0.1), 0.5, 0.75, 0.9, 0.999])
    func keepRateIsWithinFiveSigmaOfBinomial(p: Float) throws {
        let fixture = ReferenceFixture(seed: 11)
        let n = 100_003
        let kept = try Self.keptMask(fixture, count: n, p: p, seed: 0x1234_5678_9abc, stream: 3, step: 17)
        let q = Double(DropoutMask.threshold(keepProbability: p)) / 16_777_216.0
        let mean = Double(n) * q
        let sigma = (Double(n) * q * (1 - q)).squareRoot()
        let count = Double(kept.filter { $0 }.count)
        #expect(abs(count - mean) <= 5 * sigma, "p \(p): kept \(count), expected \(mean) ± 5·\(sigma)")
    }

    @Test func keepProbabilityOneKeepsEverything() throws {
        let fixture = ReferenceFixture(seed: 12)
        let kept = try Self.keptMask(fixture, count: 1001, p: 1, seed: 9, stream: 0, step: 0)
        #expect(kept.allSatisfy { $0 })
    }

    /// Changing seed (either half), stream or step gives a different mask: two independent masks
    /// agree at a fraction q² + (1 − q)² of positions; check within 5 binomial sigmas of that.
    @Test func masksDifferAcrossSeedStreamAndStep() throws {
        let fixture = ReferenceFixture(seed: 13)
        let (n, p): (Int, Float) = (20_011, 0.5)
        let base = try Self.keptMask(fixture, count: n, p: p, seed: 42, stream: 1, step: 1)
        let variants: [(String, UInt64, UInt32, UInt32)] = [
            ("seed low", 43, 1, 1), ("seed high", 42 | (1 << 40), 1, 1), ("stream", 42, 2, 1), ("step", 42, 1, 2),
        ]
        let agreeRate = 0.5
        let sigma = (Double(n) * agreeRate * (1 - agreeRate)).squareRoot()
        for (name, seed, stream, step) in variants {
            let other = try Self.keptMask(fixture, count: n, p: p, seed: seed, stream: stream, step: step)
            let agree = Double(zip(base, other).filter { $0 == $1 }.count)
            #expect(abs(agree - Double(n) * agreeRate) <= 5 * sigma, "\(name): \(agree) of \(n) agree")
        }
        let again = try Self.keptMask(fixture, count: n, p: p, seed: 42, stream: 1, step: 1)
        #expect(again == base, "the same key must give the same mask")
    }

    /// Forward keeps exactly the elements `DropoutMask.keeps` names (scaled by 1/p), and the
    /// backward pass uses the same mask and scale.
    @Test func forwardAndBackwardUseTheDefinedMask() throws {
        let fixture = ReferenceFixture(seed: 14)
        let (n, p): (Int, Float) = (1027, 0.7)
        let (seed, stream, step): (UInt64, UInt32, UInt32) = (0xdead_beef_0000_0001, 5, 123)
        let x = fixture.uniform(n, in: 0.5...1.5)
        let dy = fixture.uniform(n, in: 0.5...1.5)
        let input = try fixture.tensor(x), output = try fixture.zeros(n)
        let dOutput = try fixture.tensor(dy), dInput = try fixture.zeros(n)
        try fixture.backend.dropoutForward(input: input, count: n, keepProbability: p, seed: seed,
                                           stream: stream, step: step, output: output)
        try fixture.backend.dropoutBackward(dOutput: dOutput, count: n, keepProbability: p, seed: seed,
                                            stream: stream, step: step, dInput: dInput)
        let y = try fixture.backend.download(output), dx = try fixture.backend.download(dInput)
        for i in 0..<n {
            let keep = DropoutMask.keeps(index: i, keepProbability: p, seed: seed, stream: stream, step: step)
            #expect(y[i] == (keep ? x[i] / p : 0), "forward element \(i)")
            #expect(dx[i] == (keep ? dy[i] / p : 0), "backward element \(i)")
        }
    }

    @Test func invalidKeepProbabilityThrows() throws {
        let fixture = ReferenceFixture(seed: 15)
        let t = try fixture.zeros(4)
        for p: Float in [0, -0.5, 1.5, .nan] {
            #expect(throws: BackendError.self) {
                try fixture.backend.dropoutForward(input: t, count: 4, keepProbability: p, seed: 1,
                                                   stream: 0, step: 0, output: t)
            }
        }
    }
}
