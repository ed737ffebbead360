// The op checks of the training step's end: the loss and accuracy, the optimizer and Synaptic
// Intelligence updates, the health check of the state.

import SynapseEngine

extension OpChecks {
    // MARK: Loss and accuracy

    public static func softmaxCrossEntropy(batch: Int, units: Int, unitStart: Int, unitCount: Int) -> OpCheck {
        OpCheck(op: "softmaxCrossEntropy", shape: "batch\(batch) units\(units) live[\(unitStart),+\(unitCount))",
                prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let logits = try b.tensor(b.floats(batch * units, -4, 4))
            let labels = try b.tensor((0..<batch).map { _ in Int32(unitStart + b.random.nextInt(below: unitCount)) })
            let losses = try b.output(batch)
            let dLogits = try b.output(batch * units)
            return b.prepared {
                try backend.softmaxCrossEntropy(logits: logits, labels: labels, batch: batch, units: units,
                                                unitStart: unitStart, unitCount: unitCount, losses: losses, dLogits: dLogits)
            }
        }, compare: OpCheck.maxError(reductionLength: unitCount))
    }

    /// Distillation (LwF): gathered target rows, tempered softmaxes, gradient ADDED to a non-zero dLogits.
    public static func distillation(batch: Int, units: Int, targetRows: Int, unitStart: Int, unitCount: Int,
                                    temperature: Float) -> OpCheck {
        OpCheck(op: "distillation", shape: "batch\(batch) units\(units) rows\(targetRows) live[\(unitStart),+\(unitCount)) T\(temperature)",
                prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let logits = try b.tensor(b.floats(batch * units, -4, 4))
            let targets = try b.tensor(b.floats(targetRows * units, -4, 4))
            let indices = try b.tensor((0..<batch).map { _ in Int32(b.random.nextInt(below: targetRows)) })
            let losses = try b.output(batch)
            let dLogits = try b.output(batch * units)   // random start: the gradient must be added
            return b.prepared {
                try backend.distillation(logits: logits, targets: targets, indices: indices, batch: batch, units: units,
                                         targetRows: targetRows, unitStart: unitStart, unitCount: unitCount,
                                         temperature: temperature, weight: 0.7, losses: losses, dLogits: dLogits)
            }
        }, compare: OpCheck.maxError(reductionLength: unitCount))
    }

    /// `ties`: logits from {0, 1}, so rows often hold equal maxima (the lowest unit must win).
    public static func countCorrect(batch: Int, units: Int, unitStart: Int, unitCount: Int, ties: Bool) -> OpCheck {
        OpCheck(op: "countCorrect" + (ties ? " ties" : ""), shape: "batch\(batch) units\(units) live[\(unitStart),+\(unitCount))",
                prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let values = ties ? (0..<(batch * units)).map { _ in Float(b.random.nextInt(below: 2)) } : b.floats(batch * units)
            let logits = try b.tensor(values)
            let labels = try b.tensor((0..<batch).map { _ in Int32(unitStart + b.random.nextInt(below: unitCount)) })
            let counter = try b.output(1, initial: [5])
            return b.prepared {
                try backend.countCorrect(logits: logits, labels: labels, batch: batch, units: units,
                                         unitStart: unitStart, unitCount: unitCount, counter: counter)
            }
        }, compare: OpCheck.maxError(reductionLength: 1))
    }

    // MARK: Optimizer and Synaptic Intelligence

    /// `steps` consecutive fused SI updates (Adam t = 1...steps) on one parameter state with a
    /// fresh task gradient each step; every state view lives at its own offset of ONE buffer,
    /// as in a model. Tolerance: each step's rounding builds on the previous state, so the
    /// reduction length is the number of steps.
    public static func fusedSIUpdate(count: Int, steps: Int, strength: Float) -> OpCheck {
        OpCheck(op: "fusedSIUpdate ×\(steps)", shape: "n\(count) c\(strength)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let values = b.floats(count) + b.floats(count) + b.floats(count, 0, 2) + b.floats(count, -0.1, 0.1)
                + b.floats(count, -0.1, 0.1) + b.floats(count, 0, 0.1)
            let all = try b.output(6 * count, initial: values)
            let state = ParameterState(theta: all.view(at: 0, shape: [count]), anchor: all.view(at: count, shape: [count]),
                                       bigOmega: all.view(at: 2 * count, shape: [count]),
                                       smallOmega: all.view(at: 3 * count, shape: [count]),
                                       m: all.view(at: 4 * count, shape: [count]), v: all.view(at: 5 * count, shape: [count]))
            var gradients: [Tensor] = []
            for _ in 0..<steps { gradients.append(try b.tensor(b.floats(count))) }
            let hyper = AdamHyper(learningRate: 0.01)
            return b.prepared {
                for (t, gradient) in gradients.enumerated() {
                    try backend.fusedSIUpdate(state, taskGradient: gradient, strength: strength, hyper: hyper, step: t + 1)
                }
            }
        }, compare: OpCheck.maxError(reductionLength: steps))
    }

    /// `steps` consecutive fused SI updates with plain gradient descent, state laid out as in
    /// `fusedSIUpdate` (m and v included, so a kernel that wrote them would be caught).
    public static func fusedSISGDUpdate(count: Int, steps: Int, strength: Float) -> OpCheck {
        OpCheck(op: "fusedSISGDUpdate ×\(steps)", shape: "n\(count) c\(strength)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            let values = b.floats(count) + b.floats(count) + b.floats(count, 0, 2) + b.floats(count, -0.1, 0.1)
                + b.floats(count, -0.1, 0.1) + b.floats(count, 0, 0.1)
            let all = try b.output(6 * count, initial: values)
            let state = ParameterState(theta: all.view(at: 0, shape: [count]), anchor: all.view(at: count, shape: [count]),
                                       bigOmega: all.view(at: 2 * count, shape: [count]),
                                       smallOmega: all.view(at: 3 * count, shape: [count]),
                                       m: all.view(at: 4 * count, shape: [count]), v: all.view(at: 5 * count, shape: [count]))
            var gradients: [Tensor] = []
            for _ in 0..<steps { gradients.append(try b.tensor(b.floats(count))) }
            return b.prepared {
                for gradient in gradients {
                    try backend.fusedSISGDUpdate(state, taskGradient: gradient, strength: strength, learningRate: 0.05)
                }
            }
        }, compare: OpCheck.maxError(reductionLength: 2 * steps))
    }

    public static func siConsolidate(count: Int, xi: Float) -> OpCheck {
        OpCheck(op: "siConsolidate", shape: "n\(count) ξ\(xi)", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            // ω of both signs, so the clamp of the running total at 0 is exercised.
            let values = b.floats(count) + b.floats(count) + b.floats(count, 0, 0.5) + b.floats(count, -0.2, 0.1)
                + b.floats(count) + b.floats(count)
            let all = try b.output(6 * count, initial: values)
            let state = ParameterState(theta: all.view(at: 0, shape: [count]), anchor: all.view(at: count, shape: [count]),
                                       bigOmega: all.view(at: 2 * count, shape: [count]),
                                       smallOmega: all.view(at: 3 * count, shape: [count]),
                                       m: all.view(at: 4 * count, shape: [count]), v: all.view(at: 5 * count, shape: [count]))
            return b.prepared { try backend.siConsolidate(state, xi: xi) }
        }, compare: OpCheck.maxError(reductionLength: 4))
    }

    // MARK: Health of the state

    /// `stateHealth` on one state (six views of ONE buffer, as in a model) whose arrays listed in
    /// `bad` each hold one unhealthy element at a seeded position (NaN, ±∞, or for Ω and v also a
    /// negative value), and whose other arrays hold only healthy values, including negative θ,
    /// θ*, ω, m and −0 in Ω and v (which are healthy). result[0] starts with an unrelated bit set,
    /// which the op must keep (it ORs). Compared bit for bit: the flags are exact.
    public static func stateHealth(count: Int, bad: StateHealth) -> OpCheck {
        OpCheck(op: "stateHealth", shape: "n\(count) bad[\(bad)]", prepare: { backend, seed in
            var b = CaseBuilder(backend, seed: seed)
            var arrays = [b.floats(count), b.floats(count), b.floats(count, 0, 2), b.floats(count),
                          b.floats(count), b.floats(count, 0, 0.1)]
            arrays[2][b.random.nextInt(below: count)] = -0.0
            arrays[5][b.random.nextInt(below: count)] = -0.0
            for (index, part) in StateHealth.parts.enumerated() where bad.contains(part.flag) {
                let nonNegative = part.flag == .importance || part.flag == .v
                let faults: [Float] = [.nan, .infinity, -.infinity] + (nonNegative ? [-1e-30, -3] : [])
                arrays[index][b.random.nextInt(below: count)] = faults[b.random.nextInt(below: faults.count)]
            }
            let all = try b.output(6 * count, initial: arrays.flatMap { $0 })
            let state = ParameterState(theta: all.view(at: 0, shape: [count]), anchor: all.view(at: count, shape: [count]),
                                       bigOmega: all.view(at: 2 * count, shape: [count]),
                                       smallOmega: all.view(at: 3 * count, shape: [count]),
                                       m: all.view(at: 4 * count, shape: [count]), v: all.view(at: 5 * count, shape: [count]))
            let result = try b.output(2, initial: [Float(bitPattern: 1 << 20), 0.25])
            return b.prepared { try backend.stateHealth(state, result: result) }
        }, compare: { device, reference in
            // The number of elements whose bits differ (NaN payloads included); none may.
            guard device.count == reference.count else { return (.infinity, 0) }
            var differing = 0
            for (d, r) in zip(device, reference) {
                guard d.count == r.count else { return (.infinity, 0) }
                differing += zip(d, r).filter { $0.bitPattern != $1.bitPattern }.count
            }
            return (Double(differing), 0)
        })
    }
}
