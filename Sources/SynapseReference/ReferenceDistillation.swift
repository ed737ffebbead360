// The definition of the distillation op (Learning without Forgetting): KL divergence from the
// recorded outputs' tempered softmax to the live outputs' tempered softmax, in Double.

import Foundation
import SynapseEngine

extension ReferenceBackend {
    public func distillation(logits: Tensor, targets: Tensor, indices: Tensor, batch: Int, units: Int, targetRows: Int,
                             unitStart: Int, unitCount: Int, temperature: Float, weight: Float,
                             losses: Tensor, dLogits: Tensor) throws {
        try OpContract.distillation(logits: logits, targets: targets, indices: indices, batch: batch, units: units,
                                    targetRows: targetRows, unitStart: unitStart, unitCount: unitCount,
                                    temperature: temperature, weight: weight, losses: losses, dLogits: dLogits)
        let op = "distillation"
        let z = try floats(logits, "logits", op)
        let r = try floats(targets, "targets", op)
        let index = try ints(indices, "indices", op)
        let loss = try floats(losses, "losses", op)
        let dz = try floats(dLogits, "dLogits", op)
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
