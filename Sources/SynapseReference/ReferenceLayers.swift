// Bias, activations, pooling, dropout, loss and accuracy: plain loops.
// N batch; a bias is indexed [outer, channels, inner]; pooling works on [planes, H, W];
// logits are [N, units] with the live units [unitStart, unitStart + unitCount).

import Foundation
import SynapseEngine

extension ReferenceBackend {
    // MARK: Bias and ReLU

    public func addBias(_ x: Tensor, bias: Tensor, outer: Int, channels: Int, inner: Int, relu: Bool) throws {
        try OpContract.addBias(x, bias: bias, outer: outer, channels: channels, inner: inner)
        let op = "addBias"
        let values = try floats(x, "x", op)
        let b = try floats(bias, "bias", op)
        for o in 0..<outer {
            for ch in 0..<channels {
                let row = values + (o * channels + ch) * inner
                for i in 0..<inner {
                    let value = row[i] + b[ch]
                    row[i] = relu ? max(0, value) : value
                }
            }
        }
    }

    /// Sums in Double, rounded once (the exact sum to float32 precision).
    public func biasBackward(_ dOutput: Tensor, outer: Int, channels: Int, inner: Int, dBias: Tensor) throws {
        try OpContract.biasBackward(dOutput, outer: outer, channels: channels, inner: inner, dBias: dBias)
        let op = "biasBackward"
        let dy = try floats(dOutput, "dOutput", op)
        let db = try floats(dBias, "dBias", op)
        var sums = [Double](repeating: 0, count: channels)
        for o in 0..<outer {
            for ch in 0..<channels {
                let row = dy + (o * channels + ch) * inner
                for i in 0..<inner { sums[ch] += Double(row[i]) }
            }
        }
        for ch in 0..<channels { db[ch] = Float(sums[ch]) }
    }

    public func reluBackward(output: Tensor, dOutput: Tensor, count: Int, dInput: Tensor) throws {
        try OpContract.reluBackward(output: output, dOutput: dOutput, count: count, dInput: dInput)
        let op = "reluBackward"
        let y = try floats(output, "output", op)
        let dy = try floats(dOutput, "dOutput", op)
        let dx = try floats(dInput, "dInput", op)
        for i in 0..<count { dx[i] = y[i] > 0 ? dy[i] : 0 }
    }

    // MARK: 2×2 max-pool, stride 2

    /// Index (within one [H, W] plane) of the window maximum for output (p, q); the window is
    /// scanned in row-major order and only a strictly larger value replaces the current best,
    /// so the first maximum wins ties.
    private static func windowArgmax(_ plane: UnsafePointer<Float>, width W: Int, p: Int, q: Int) -> Int {
        let topLeft = (2 * p) * W + 2 * q
        var best = topLeft
        for index in [topLeft + 1, topLeft + W, topLeft + W + 1] where plane[index] > plane[best] {
            best = index
        }
        return best
    }

    public func maxPool2x2Forward(input: Tensor, planes: Int, height: Int, width: Int, output: Tensor) throws {
        try OpContract.maxPool2x2Forward(input: input, planes: planes, height: height, width: width, output: output)
        let op = "maxPool2x2Forward"
        let (H, W, P, Q) = (height, width, height / 2, width / 2)
        let x = try floats(input, "input", op)
        let y = try floats(output, "output", op)
        for plane in 0..<planes {
            let inPlane = x + plane * H * W
            for p in 0..<P {
                for q in 0..<Q {
                    y[(plane * P + p) * Q + q] = inPlane[Self.windowArgmax(inPlane, width: W, p: p, q: q)]
                }
            }
        }
    }

    public func maxPool2x2Backward(input: Tensor, dOutput: Tensor, planes: Int, height: Int, width: Int,
                                   dInput: Tensor) throws {
        try OpContract.maxPool2x2Backward(input: input, dOutput: dOutput, planes: planes, height: height, width: width,
                                          dInput: dInput)
        try poolBackward("maxPool2x2Backward", input: input, dOutput: dOutput, planes: planes, height: height,
                         width: width, dInput: dInput, relu: false)
    }

    public func maxPool2x2ReLUBackward(input: Tensor, dOutput: Tensor, planes: Int, height: Int, width: Int,
                                       dInput: Tensor) throws {
        try OpContract.maxPool2x2ReLUBackward(input: input, dOutput: dOutput, planes: planes, height: height,
                                              width: width, dInput: dInput)
        try poolBackward("maxPool2x2ReLUBackward", input: input, dOutput: dOutput, planes: planes, height: height,
                         width: width, dInput: dInput, relu: true)
    }

    /// The winner of each window gets its dOutput (0 when `relu` and the winner is not > 0).
    private func poolBackward(_ op: String, input: Tensor, dOutput: Tensor, planes: Int, height: Int, width: Int,
                              dInput: Tensor, relu: Bool) throws {
        let (H, W, P, Q) = (height, width, height / 2, width / 2)
        let x = try floats(input, "input", op)
        let dy = try floats(dOutput, "dOutput", op)
        let dx = try floats(dInput, "dInput", op)
        dx.update(repeating: 0, count: planes * H * W)
        for plane in 0..<planes {
            let inPlane = x + plane * H * W
            for p in 0..<P {
                for q in 0..<Q {
                    let winner = Self.windowArgmax(inPlane, width: W, p: p, q: q)
                    let g = dy[(plane * P + p) * Q + q]
                    dx[plane * H * W + winner] = relu && !(inPlane[winner] > 0) ? 0 : g
                }
            }
        }
    }

    // MARK: Dropout

    public func dropoutForward(input: Tensor, count: Int, keepProbability: Float, seed: UInt64,
                               stream: UInt32, step: UInt32, firstIndex: Int, output: Tensor) throws {
        try OpContract.dropoutForward(input: input, count: count, keepProbability: keepProbability,
                                      firstIndex: firstIndex, output: output)
        try applyDropoutMask("dropoutForward", from: input, "input", to: output, "output", count: count,
                             keepProbability: keepProbability, seed: seed, stream: stream, step: step,
                             firstIndex: firstIndex)
    }

    /// The gradient goes through the same mask with the same scale as the forward pass.
    public func dropoutBackward(dOutput: Tensor, count: Int, keepProbability: Float, seed: UInt64,
                                stream: UInt32, step: UInt32, firstIndex: Int, dInput: Tensor) throws {
        try OpContract.dropoutBackward(dOutput: dOutput, count: count, keepProbability: keepProbability,
                                       firstIndex: firstIndex, dInput: dInput)
        try applyDropoutMask("dropoutBackward", from: dOutput, "dOutput", to: dInput, "dInput", count: count,
                             keepProbability: keepProbability, seed: seed, stream: stream, step: step,
                             firstIndex: firstIndex)
    }

    /// target[i] = source[i] / keepProbability where `DropoutMask` keeps element firstIndex + i, else 0.
    private func applyDropoutMask(_ op: String, from source: Tensor, _ sourceName: String, to target: Tensor,
                                  _ targetName: String, count: Int, keepProbability: Float, seed: UInt64,
                                  stream: UInt32, step: UInt32, firstIndex: Int) throws {
        let x = try floats(source, sourceName, op)
        let y = try floats(target, targetName, op)
        for i in 0..<count {
            let kept = DropoutMask.keeps(index: firstIndex + i, keepProbability: keepProbability,
                                         seed: seed, stream: stream, step: step)
            y[i] = kept ? x[i] / keepProbability : 0
        }
    }

    // MARK: Loss and accuracy

    /// The row max is taken over the live units only, and the log-sum-exp is computed in Double:
    /// the reference is the definition, so it carries no float32 rounding of its own beyond the
    /// final conversion (kernels in float32 are compared with it under `Tolerance`).
    /// Also throws if a label is outside the live range (a check on the data, reference only).
    public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, batch: Int, units: Int,
                                    unitStart: Int, unitCount: Int, losses: Tensor, dLogits: Tensor) throws {
        try OpContract.softmaxCrossEntropy(logits: logits, labels: labels, batch: batch, units: units,
                                           unitStart: unitStart, unitCount: unitCount, losses: losses, dLogits: dLogits)
        let op = "softmaxCrossEntropy"
        let z = try floats(logits, "logits", op)
        let label = try ints(labels, "labels", op)
        let loss = try floats(losses, "losses", op)
        let dz = try floats(dLogits, "dLogits", op)
        let live = unitStart..<(unitStart + unitCount)
        for n in 0..<batch {
            guard live.contains(Int(label[n])) else {
                throw BackendError("\(op): labels[\(n)] = \(label[n]) is outside the live units \(live)")
            }
        }
        for n in 0..<batch {
            let row = z + n * units
            let target = Int(label[n])
            var rowMax = -Double.infinity
            for u in live { rowMax = max(rowMax, Double(row[u])) }
            var sumExp = 0.0
            for u in live { sumExp += exp(Double(row[u]) - rowMax) }
            let logSumExp = log(sumExp)
            loss[n] = Float(logSumExp - (Double(row[target]) - rowMax))
            // Read each logit before writing its gradient, so dLogits may alias logits.
            let dRow = dz + n * units
            for u in 0..<units {
                if live.contains(u) {
                    let softmax = exp(Double(row[u]) - rowMax - logSumExp)
                    let oneHot = u == target ? 1.0 : 0.0
                    dRow[u] = Float((softmax - oneHot) / Double(batch))
                } else {
                    dRow[u] = 0
                }
            }
        }
    }

    public func countCorrect(logits: Tensor, labels: Tensor, batch: Int, units: Int,
                             unitStart: Int, unitCount: Int, counter: Tensor) throws {
        try OpContract.countCorrect(logits: logits, labels: labels, batch: batch, units: units,
                                    unitStart: unitStart, unitCount: unitCount, counter: counter)
        let op = "countCorrect"
        let z = try floats(logits, "logits", op)
        let label = try ints(labels, "labels", op)
        let total = try floats(counter, "counter", op)
        var correct = 0
        for n in 0..<batch {
            let row = z + n * units
            var best = unitStart
            // Strictly greater: the lowest unit wins ties.
            for u in (unitStart + 1)..<(unitStart + unitCount) where row[u] > row[best] { best = u }
            if best == Int(label[n]) { correct += 1 }
        }
        total[0] += Float(correct)
    }
}
