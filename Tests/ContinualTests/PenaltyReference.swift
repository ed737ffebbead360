// Independent, plain-loop computations (Double) of what EWC, online EWC and MAS compute, for a
// tiny MLP given its weights as arrays. Written without any backend op, so a test comparing the
// trainer's numbers against these is not comparing the code with itself.
//
// The MLP and its parameter layout mirror `Network` for [.dense(units: hidden, relu: true),
// .output(units: outputs)]: W1 [inputs, hidden] row-major, b1 [hidden], W2 [hidden, outputs], b2 [outputs],
// concatenated in that order. Inputs are the values the network sees (pixels / 255).

import Foundation

struct TinyMLP {
    let inputs: Int, hidden: Int, outputs: Int

    var parameterCount: Int { inputs * hidden + hidden + hidden * outputs + outputs }
    private var w1: Int { 0 }
    private var b1: Int { inputs * hidden }
    private var w2: Int { inputs * hidden + hidden }
    private var b2: Int { inputs * hidden + hidden + hidden * outputs }

    /// Hidden activations after ReLU, and the logits.
    func forward(_ theta: [Double], _ x: [Double]) -> (hidden: [Double], logits: [Double]) {
        var h = [Double](repeating: 0, count: hidden)
        for j in 0..<hidden {
            var z = theta[b1 + j]
            for i in 0..<inputs { z += x[i] * theta[w1 + i * hidden + j] }
            h[j] = max(0, z)
        }
        var f = [Double](repeating: 0, count: outputs)
        for k in 0..<outputs {
            var z = theta[b2 + k]
            for j in 0..<hidden { z += h[j] * theta[w2 + j * outputs + k] }
            f[k] = z
        }
        return (h, f)
    }

    /// ∂(Σ_k dLogits[k]·f_k)/∂θ for one example: back-propagation written out by hand.
    func backward(_ theta: [Double], _ x: [Double], dLogits: [Double]) -> [Double] {
        let (h, _) = forward(theta, x)
        var grad = [Double](repeating: 0, count: parameterCount)
        var dh = [Double](repeating: 0, count: hidden)
        for k in 0..<outputs {
            grad[b2 + k] = dLogits[k]
            for j in 0..<hidden {
                grad[w2 + j * outputs + k] = h[j] * dLogits[k]
                dh[j] += theta[w2 + j * outputs + k] * dLogits[k]
            }
        }
        for j in 0..<hidden where h[j] > 0 {
            grad[b1 + j] = dh[j]
            for i in 0..<inputs { grad[w1 + i * hidden + j] = x[i] * dh[j] }
        }
        return grad
    }

    /// −log softmax over the live units `live` of the logits, at `label` (a global unit index in `live`).
    func negativeLogLikelihood(_ theta: [Double], _ x: [Double], label: Int, live: Range<Int>) -> Double {
        let f = forward(theta, x).logits
        let top = live.map { f[$0] }.max()!
        let logSum = Foundation.log(live.reduce(0.0) { $0 + Foundation.exp(f[$1] - top) }) + top
        return logSum - f[label]
    }

    /// ∂(−log p(label|x))/∂θ: dLogits = softmax − onehot on the live units, 0 elsewhere.
    func negativeLogLikelihoodGradient(_ theta: [Double], _ x: [Double], label: Int, live: Range<Int>) -> [Double] {
        let f = forward(theta, x).logits
        let top = live.map { f[$0] }.max()!
        let total = live.reduce(0.0) { $0 + Foundation.exp(f[$1] - top) }
        var d = [Double](repeating: 0, count: outputs)
        for u in live { d[u] = Foundation.exp(f[u] - top) / total - (u == label ? 1 : 0) }
        return backward(theta, x, dLogits: d)
    }

    /// ‖f_live(x)‖²: MAS's squared norm of the live logits.
    func squaredOutputNorm(_ theta: [Double], _ x: [Double], live: Range<Int>) -> Double {
        let f = forward(theta, x).logits
        return live.reduce(0.0) { $0 + f[$1] * f[$1] }
    }

    /// ∂‖f_live(x)‖²/∂θ: dLogits = 2·f on the live units.
    func squaredOutputNormGradient(_ theta: [Double], _ x: [Double], live: Range<Int>) -> [Double] {
        let f = forward(theta, x).logits
        var d = [Double](repeating: 0, count: outputs)
        for u in live { d[u] = 2 * f[u] }
        return backward(theta, x, dLogits: d)
    }
}

/// The penalties and importances the baselines use, directly from their definitions.
enum PenaltyReference {
    /// EWC: Σ_t λ/2 · Σ_k F_t,k (θ_k − θ*_t,k)², one quadratic per finished task.
    static func ewcPenalty(theta: [Double], anchors: [[Double]], fishers: [[Double]], lambda: Double) -> Double {
        var total = 0.0
        for (anchor, fisher) in zip(anchors, fishers) {
            for k in theta.indices { total += lambda / 2 * fisher[k] * (theta[k] - anchor[k]) * (theta[k] - anchor[k]) }
        }
        return total
    }

    /// Its gradient: Σ_t λ · F_t,k (θ_k − θ*_t,k).
    static func ewcPenaltyGradient(theta: [Double], anchors: [[Double]], fishers: [[Double]], lambda: Double) -> [Double] {
        theta.indices.map { k in
            zip(anchors, fishers).reduce(0.0) { $0 + lambda * $1.1[k] * (theta[k] - $1.0[k]) }
        }
    }

    /// Online EWC's running Fisher after each task: F̃_1 = F_1, F̃_t = γ·F̃_{t−1} + F_t.
    static func onlineFishers(_ fishers: [[Double]], gamma: Double) -> [[Double]] {
        var running: [Double]?
        return fishers.map { fisher in
            let next = running.map { previous in zip(previous, fisher).map { gamma * $0 + $1 } } ?? fisher
            running = next
            return next
        }
    }

    /// Online EWC's penalty: λ/2 · Σ_k F̃_k (θ_k − θ*_k)², θ* = θ at the end of the latest task.
    static func onlineEWCPenalty(theta: [Double], anchor: [Double], runningFisher: [Double], lambda: Double) -> Double {
        ewcPenalty(theta: theta, anchors: [anchor], fishers: [runningFisher], lambda: lambda)
    }

    /// The diagonal Fisher as the trainer defines it: the mean over examples of the squared
    /// gradient of −log p(y|x), y the label given for each example (the trainer draws it from the model).
    static func fisher(_ mlp: TinyMLP, theta: [Double], inputs: [[Double]], labels: [Int], live: Range<Int>) -> [Double] {
        var total = [Double](repeating: 0, count: theta.count)
        for (x, y) in zip(inputs, labels) {
            let g = mlp.negativeLogLikelihoodGradient(theta, x, label: y, live: live)
            for k in total.indices { total[k] += g[k] * g[k] }
        }
        return total.map { $0 / Double(inputs.count) }
    }

    /// MAS: the mean over examples of |∂‖f_live(x)‖²/∂θ|.
    static func masImportance(_ mlp: TinyMLP, theta: [Double], inputs: [[Double]], live: Range<Int>) -> [Double] {
        var total = [Double](repeating: 0, count: theta.count)
        for x in inputs {
            let g = mlp.squaredOutputNormGradient(theta, x, live: live)
            for k in total.indices { total[k] += abs(g[k]) }
        }
        return total.map { $0 / Double(inputs.count) }
    }
}
