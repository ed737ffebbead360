// The paper's theory check of the path integral (Zenke, Poole & Ganguli 2017, section on the
// quadratic case): on L(θ) = ½·Σ_k H_k·(θ_k − θ*_k)² trained by gradient descent with a small
// step from θ0, the path integral ω_k = Σ_t −g_k·Δθ_k equals the drop of L_k along the path, which
// for a converged run is ½·H_k·Δ_k² with Δ_k = θ_end,k − θ0,k. So Ω_k = ω_k/(Δ_k² + ξ) → H_k/2.
//
// Exactly, with r = 1 − lr·H_k and e0 = θ0 − θ* after T steps: ω = H·e0²·(1 − r^(2T))/(2 − lr·H)
// and Δ² = e0²·(1 − r^T)², so the relative bias of Ω against H/2 is about lr·H/2 + 2·r^T.
import SynapseEngine

public enum QuadraticPathIntegral {
    /// Trains θ from `start` towards `optimum` on the diagonal quadratic with curvatures
    /// `curvature` (all > 0), `steps` fused SI updates with plain gradient descent (c = 0: no
    /// penalty, so only the task gradient moves θ), then consolidates with `xi`, and returns Ω.
    /// The task gradient H⊙(θ − θ*) is computed on the host from the downloaded θ each step: this
    /// is a test driver, not a training loop.
    public static func importance(on backend: any Backend, curvature: [Float], start: [Float], optimum: [Float],
                                  learningRate: Float, steps: Int, xi: Float) throws -> [Float] {
        let n = curvature.count
        precondition(start.count == n && optimum.count == n && steps >= 1)
        func tensor(_ values: [Float]) throws -> Tensor {
            let t = Tensor(storage: try backend.allocate(.float32, count: n), shape: [n])
            try backend.upload(values, to: t)
            return t
        }
        let zeros = [Float](repeating: 0, count: n)
        let state = ParameterState(theta: try tensor(start), anchor: try tensor(start), bigOmega: try tensor(zeros),
                                   smallOmega: try tensor(zeros), m: try tensor(zeros), v: try tensor(zeros))
        let gradient = try tensor(zeros)
        for _ in 0..<steps {
            let theta = try backend.download(state.theta)
            try backend.upload((0..<n).map { curvature[$0] * (theta[$0] - optimum[$0]) }, to: gradient)
            try backend.fusedSISGDUpdate(state, taskGradient: gradient, strength: 0, learningRate: learningRate)
        }
        try backend.siConsolidate(state, xi: xi)
        return try backend.download(state.bigOmega)
    }
}
