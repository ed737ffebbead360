// The distillation op (Learning without Forgetting) on OpenCL: Kernels/distillation.cl, one
// work-item per row. The contract is in SynapseEngine/Backend.swift.

import SynapseEngine

extension OpenCLBackend {
    public func distillation(logits: Tensor, targets: Tensor, indices: Tensor, batch: Int, units: Int, targetRows: Int,
                             unitStart: Int, unitCount: Int, temperature: Float, weight: Float,
                             losses: Tensor, dLogits: Tensor) throws {
        let op = "distillation"
        try requireNonNegative([("batch", batch), ("units", units), ("targetRows", targetRows),
                                ("unitStart", unitStart), ("unitCount", unitCount)], op: op)
        guard unitCount >= 1, unitStart + unitCount <= units else {
            throw BackendError("\(op): live units [\(unitStart), \(unitStart + unitCount)) not inside [0, \(units))")
        }
        guard temperature.isFinite, temperature > 0 else { throw BackendError("\(op): temperature must be > 0, found \(temperature)") }
        guard weight.isFinite, weight >= 0 else { throw BackendError("\(op): weight must be ≥ 0, found \(weight)") }
        try require(logits, "logits", count: batch * units, op: op)
        try require(targets, "targets", count: targetRows * units, op: op)
        try require(indices, "indices", count: batch, .int32, op: op)
        try require(losses, "losses", count: batch, op: op)
        try require(dLogits, "dLogits", count: batch * units, op: op)
        guard batch > 0 else { return }
        try launch(kernel(file: "distillation.cl", name: "distillation"),
                   [.tensor(logits), .tensor(targets), .tensor(indices), .int(checkedInt(batch, "batch")),
                    .int(checkedInt(units, "units")), .int(checkedInt(targetRows, "targetRows")),
                    .int(checkedInt(unitStart, "unitStart")), .int(checkedInt(unitCount, "unitCount")),
                    .float(temperature), .float(weight), .tensor(losses), .tensor(dLogits)],
                   global: [batch])
    }
}
