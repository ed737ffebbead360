// The fused SI update and the end-of-task consolidation (docs/algorithm.md), one pass per parameter.
// Every quantity is per parameter: θ, θ* (anchor), Ω (importance), ω, Adam m and v.

import Foundation
import SynapseEngine

extension ReferenceBackend {
    /// Pointers to the six views of a parameter state (their sizes checked by `OpContract`).
    func statePointers(_ state: ParameterState, _ op: String) throws
        -> (theta: UnsafeMutablePointer<Float>, anchor: UnsafeMutablePointer<Float>,
            bigOmega: UnsafeMutablePointer<Float>, smallOmega: UnsafeMutablePointer<Float>,
            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>) {
        return (try floats(state.theta, "theta", op),
                try floats(state.anchor, "anchor", op),
                try floats(state.bigOmega, "importance", op),
                try floats(state.smallOmega, "omega", op),
                try floats(state.m, "m", op),
                try floats(state.v, "v", op))
    }

    /// Arithmetic in float32 per parameter, as the kernels do; the bias corrections 1 − β^t are
    /// computed once in Double (β^t for large t underflows gracefully there) and rounded.
    public func fusedSIUpdate(_ state: ParameterState, taskGradient: Tensor, strength c: Float,
                              hyper: AdamHyper, step: Int) throws {
        try OpContract.fusedSIUpdate(state, taskGradient: taskGradient, step: step)
        let op = "fusedSIUpdate"
        let s = try statePointers(state, op)
        let gTask = try floats(taskGradient, "taskGradient", op)
        let (lr, beta1, beta2, epsilon) = (hyper.learningRate, hyper.beta1, hyper.beta2, hyper.epsilon)
        let correction1 = Float(1 - pow(Double(beta1), Double(step)))
        let correction2 = Float(1 - pow(Double(beta2), Double(step)))
        for i in 0..<state.count {
            // Step 2: gradient of L_task + c·Σ Ω(θ − θ*)².
            let g = gTask[i] + 2 * c * s.bigOmega[i] * (s.theta[i] - s.anchor[i])
            // Step 3: Adam with bias correction.
            s.m[i] = beta1 * s.m[i] + (1 - beta1) * g
            s.v[i] = beta2 * s.v[i] + (1 - beta2) * (g * g)
            let mHat = s.m[i] / correction1
            let vHat = s.v[i] / correction2
            let delta = -lr * mHat / (vHat.squareRoot() + epsilon)
            // Step 4: the path integral uses the task gradient and the actual update.
            s.smallOmega[i] -= gTask[i] * delta
            // Step 5.
            s.theta[i] += delta
        }
    }

    /// Plain gradient descent with SI's penalty and path integral, float32 per parameter as the
    /// kernel does; m and v are not touched.
    public func fusedSISGDUpdate(_ state: ParameterState, taskGradient: Tensor, strength c: Float,
                                 learningRate lr: Float) throws {
        try OpContract.fusedSISGDUpdate(state, taskGradient: taskGradient, learningRate: lr)
        let op = "fusedSISGDUpdate"
        let s = try statePointers(state, op)
        let gTask = try floats(taskGradient, "taskGradient", op)
        for i in 0..<state.count {
            let g = gTask[i] + 2 * c * s.bigOmega[i] * (s.theta[i] - s.anchor[i])
            let delta = -lr * g
            s.smallOmega[i] -= gTask[i] * delta
            s.theta[i] += delta
        }
    }

    public func siConsolidate(_ state: ParameterState, xi: Float) throws {
        try OpContract.siConsolidate(state, xi: xi)
        let op = "siConsolidate"
        let s = try statePointers(state, op)
        for i in 0..<state.count {
            let moved = s.theta[i] - s.anchor[i]
            // The clamp is on the running total, not on this task's contribution.
            s.bigOmega[i] = max(0, s.bigOmega[i] + s.smallOmega[i] / (moved * moved + xi))
            s.anchor[i] = s.theta[i]
            s.smallOmega[i] = 0
        }
    }
}

extension ReferenceBackend {
    public func stateHealth(_ state: ParameterState, result: Tensor) throws {
        let op = "stateHealth"
        try OpContract.stateHealth(state, result: result)
        let s = try statePointers(state, op)
        let out = try floats(result, "result", op)
        let n = state.count
        func buffer(_ p: UnsafeMutablePointer<Float>) -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: p, count: n) }
        let flags = StateHealth.of(theta: buffer(s.theta), anchor: buffer(s.anchor), importance: buffer(s.bigOmega),
                                   omega: buffer(s.smallOmega), m: buffer(s.m), v: buffer(s.v))
        out[0] = Float(bitPattern: out[0].bitPattern | flags.rawValue)
    }
}
