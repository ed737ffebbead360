// The definition of the distillation op (Learning without Forgetting): KL divergence from the
// recorded outputs' tempered softmax to the live outputs' tempered softmax, in Double.

import Foundation
import SynapseEngine

extension ReferenceBackend {
    public func distillation(logits: Tensor, targets: Tensor, indices: Tensor, batch: Int, units: Int, targetRows: Int,
                             unitStart: Int, unitCount: Int, temperature: Float, weight: Float,
                             losses: Tensor, dLogits: Tensor) throws {
        let op = "distillation"
        try checkSizes(op, ["batch": batch, "units": units, "targetRows": targetRows])
        guard unitStart >= 0, unitCount >= 1, unitStart + unitCount <= units else {
            throw BackendError("\(op): live units [\(unitStart), \(unitStart + unitCount)) must be a non-empty range inside [0, \(units))")
        }
        guard temperature.isFinite, temperature > 0 else { throw BackendError("\(op): temperature must be > 0, found \(temperature)") }
        guard weight.isFinite, weight >= 0 else { throw BackendError("\(op): weight must be ≥ 0, found \(weight)") }
        let z = try floats(logits, "logits", op, needs: batch * units)
        let r = try floats(targets, "targets", op, needs: targetRows * units)
        let index = try ints(indices, "indices", op, needs: batch)
        let loss = try floats(losses, "losses", op, needs: batch)
        let dz = try floats(dLogits, "dLogits", op, needs: batch * units)
        for n in 0..<batch where index[n] < 0 || Int(index[n]) >= targetRows {
            throw BackendError("\(op): indices[\(n)] = \(index[n]) is outside the \(targetRows) target rows")
        }
        let t = Double(temperature), w = Double(weight)
        let live = unitStart..<(unitStart + unitCount)
        /// log softmax(x/T) over the live units of a row.
        func logSoftmax(_ row: UnsafeMutablePointer<Float>) -> [Double] {
            let scaled = live.map { Double(row[$0]) / t }
            let top = scaled.max()!
            let logSum = Foundation.log(scaled.reduce(0.0) { $0 + Foundation.exp($1 - top) }) + top
            return scaled.map { $0 - logSum }
        }
        for n in 0..<batch {
            let logP = logSoftmax(r + Int(index[n]) * units)
            let logQ = logSoftmax(z + n * units)
            var kl = 0.0
            for i in 0..<unitCount { kl += Foundation.exp(logP[i]) * (logP[i] - logQ[i]) }
            loss[n] = Float(w * t * t * kl)
            for (i, u) in live.enumerated() {
                let g = w * t * (Foundation.exp(logQ[i]) - Foundation.exp(logP[i])) / Double(batch)
                dz[n * units + u] = Float(Double(dz[n * units + u]) + g)
            }
        }
    }
}
