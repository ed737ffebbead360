// The distillation op (LwF) of the reference backend: its loss against a direct Double computation
// of T²·KL(softmax(r/T) ‖ softmax(z/T)), its gradient against finite differences of that loss.

import Foundation
import SynapseEngine
import SynapseReference
import Testing

@Suite("Distillation (reference)")
struct DistillationTests {
    let batch = 3, units = 8, rows = 5, start = 2, count = 4

    func run(_ fixture: ReferenceFixture, z: [Float], r: [Float], indices: [Int32], temperature: Float, weight: Float,
             dLogitsStart: [Float]) throws -> (losses: [Float], dLogits: [Float]) {
        let losses = try fixture.zeros(batch), dLogits = try fixture.tensor(dLogitsStart)
        try fixture.backend.distillation(logits: try fixture.tensor(z), targets: try fixture.tensor(r),
                                         indices: try fixture.tensor(indices), batch: batch, units: units, targetRows: rows,
                                         unitStart: start, unitCount: count, temperature: temperature, weight: weight,
                                         losses: losses, dLogits: dLogits)
        return (try fixture.backend.download(losses), try fixture.backend.download(dLogits))
    }

    @Test("the loss is weight·T²·KL(softmax(r/T) ‖ softmax(z/T)) over the live units", arguments: [Float(1), 2, 3.5])
    func lossMatchesDefinition(temperature: Float) throws {
        let fixture = ReferenceFixture(seed: 71)
        let z = fixture.uniform(batch * units, in: -3...3), r = fixture.uniform(rows * units, in: -3...3)
        let indices: [Int32] = [4, 0, 4]
        let (losses, _) = try run(fixture, z: z, r: r, indices: indices, temperature: temperature, weight: 0.6,
                                  dLogitsStart: [Float](repeating: 0, count: batch * units))
        let t = Double(temperature)
        for n in 0..<batch {
            let live = start..<(start + count)
            let zs = live.map { Double(z[n * units + $0]) / t }, rs = live.map { Double(r[Int(indices[n]) * units + $0]) / t }
            let q = zs.map { Foundation.exp($0) }.map { $0 / zs.map(Foundation.exp).reduce(0, +) }
            let p = rs.map { Foundation.exp($0) }.map { $0 / rs.map(Foundation.exp).reduce(0, +) }
            let kl = zip(p, q).reduce(0.0) { $0 + $1.0 * Foundation.log($1.0 / $1.1) }
            #expect(abs(Double(losses[n]) - 0.6 * t * t * kl) <= 1e-5 * max(1, abs(kl)), "row \(n)")
        }
    }

    /// L = mean over the batch of the losses; the op ADDS dL/dz to dLogits on the live units and
    /// leaves the others as they were.
    @Test("the gradient added to dLogits matches finite differences; other units are untouched")
    func gradientMatchesFiniteDifferences() throws {
        let fixture = ReferenceFixture(seed: 72)
        let z = fixture.uniform(batch * units, in: -3...3), r = fixture.uniform(rows * units, in: -3...3)
        let indices: [Int32] = [1, 3, 1]
        let before = fixture.uniform(batch * units, in: -1...1)
        let numeric = try FiniteDifference.gradient(of: z) { z in
            try run(fixture, z: z, r: r, indices: indices, temperature: 2, weight: 0.8,
                    dLogitsStart: before).losses.reduce(0.0) { $0 + Double($1) } / Double(batch)
        }
        let after = try run(fixture, z: z, r: r, indices: indices, temperature: 2, weight: 0.8, dLogitsStart: before).dLogits
        let analytic = zip(after, before).map { Double($0) - Double($1) }
        #expect(FiniteDifference.maxError(numeric, analytic) <= FiniteDifference.tolerance)
        let live = start..<(start + count)
        for i in after.indices where !live.contains(i % units) { #expect(after[i] == before[i], "dLogits[\(i)] changed") }
    }

    @Test("bad arguments are errors naming the op and the value")
    func badArguments() throws {
        let fixture = ReferenceFixture(seed: 73)
        let z = fixture.uniform(batch * units), r = fixture.uniform(rows * units)
        #expect(throws: BackendError.self) {
            try run(fixture, z: z, r: r, indices: [0, 5, 1], temperature: 2, weight: 1, dLogitsStart: z)   // row 5 of 5
        }
        #expect(throws: BackendError.self) {
            try run(fixture, z: z, r: r, indices: [0, 1, 2], temperature: 0, weight: 1, dLogitsStart: z)
        }
    }
}
