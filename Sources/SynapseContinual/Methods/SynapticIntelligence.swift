// Synaptic Intelligence (Zenke, Poole & Ganguli 2017), exactly as the authors' code does it
// (docs/algorithm.md): during training ω ← ω − g_task⊙Δθ (inside the fused update), the penalty
// c·ΣΩ(θ−θ*)²; at task end Ω ← max(0, Ω + ω/((θ−θ*)² + ξ)), θ* ← θ, ω ← 0.

import SynapseEngine

extension Method {
    /// Synaptic Intelligence (`SynapticIntelligence`).
    public static let si = Method(declared: "si")
}

/// SI's hyper-parameters.
public struct SIOptions: MethodOptions {
    /// Strength c of the penalty c·ΣΩ(θ−θ*)² (no ½).
    public var c: Float
    /// Damping ξ in Ω += ω/((θ−θ*)² + ξ); it keeps Ω finite for parameters that did not move.
    public var xi: Float

    public init(c: Float, xi: Float) { self.c = c; self.xi = xi }

    public static let parameters: [HyperParameter<SIOptions>] = [
        .real("c", \.c, symbol: "c", help: "SI strength c", accepted: "a number ≥ 0", valid: { $0 >= 0 }),
        .real("xi", \.xi, symbol: "ξ", help: "SI damping ξ", accepted: "a number > 0", partOfProtocol: true,
              valid: { $0 > 0 }),
    ]

    /// docs/protocols.md: split MNIST c 1, ξ 1e-3; permuted MNIST c 0.1, ξ 0.1; split CIFAR c 0.1, ξ 1e-3.
    public static func defaults(for p: ContinualProtocol) -> SIOptions {
        switch p {
        case .splitMNIST: return SIOptions(c: 1.0, xi: 1e-3)
        case .permutedMNIST: return SIOptions(c: 0.1, xi: 0.1)
        case .splitCIFAR: return SIOptions(c: 0.1, xi: 1e-3)
        }
    }
}

/// Synaptic Intelligence: the path integral ω of each parameter's contribution to the loss
/// decrease becomes, at task end, the importance Ω that anchors the parameter.
public final class SynapticIntelligence: ContinualMethod {
    public static let method = Method.si
    public static let summary = "Synaptic Intelligence: penalty c·ΣΩ(θ−θ*)², Ω from the path integral ω"
    let options: SIOptions

    public init(options: SIOptions, trainer: ContinualTrainer) { self.options = options }

    public var penaltyStrength: Float { options.c }

    /// ω at each task's end, before consolidation (`--record-omega`), over the whole parameter
    /// buffer: the synapse-dynamics figure of the paper, the correlation of ω between tasks per layer.
    public static let omega = TaskRecording(
        name: "omega", flag: "record-omega",
        help: "Record SI's ω at each task's end, before consolidation (DIR/<run>.omega.safetensors), and draw the synapse-dynamics figure (DIR/synapse-dynamics.svg: the correlation of ω between tasks per layer, one panel per c; e.g. --method si --c 0,0.1).",
        figure: .init(file: "synapse-dynamics", title: "correlation of ω between tasks, per layer"))

    public static var recordings: [TaskRecording] { [omega] }

    public func consolidate(afterTask t: Int, trainer: ContinualTrainer) throws {
        try trainer.record(Self.omega.name, task: t) { try trainer.backend.download(trainer.state.smallOmega) }
        try trainer.backend.siConsolidate(trainer.state, xi: options.xi)
    }

    public static func label(_ options: SIOptions) -> String { "si (c=\(HyperValues.format(SIOptions.parameters[0].value(in: options))))" }

    /// A run with c > 0 consolidates; c = 0 is the same path integral without consolidation.
    public static func figurePanelTitle(_ options: SIOptions) -> String {
        let c = SIOptions.parameters[0].value(in: options)
        return c > 0 ? "with consolidation (c = \(HyperValues.format(c)))" : "without consolidation (c = 0)"
    }
}
