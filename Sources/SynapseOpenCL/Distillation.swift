// The distillation op (Learning without Forgetting) on OpenCL: Kernels/distillation.cl, one
// work-item per row. The contract is in SynapseEngine/Backend.swift.

import SynapseEngine

extension OpenCLBackend {
    public func distillation(logits: Tensor, targets: Tensor, indices: Tensor, batch: Int, units: Int, targetRows: Int,
                             unitStart: Int, unitCount: Int, temperature: Float, weight: Float,
                             losses: Tensor, dLogits: Tensor) throws {
        try OpContract.distillation(logits: logits, targets: targets, indices: indices, batch: batch, units: units,
                                    targetRows: targetRows, unitStart: unitStart, unitCount: unitCount,
                                    temperature: temperature, weight: weight, losses: losses, dLogits: dLogits)
        guard batch > 0 else { return }
        try launch(kernel(file: "distillation.cl", name: "distillation"),
                   [.tensor(logits), .tensor(targets), .tensor(indices), .int(checkedInt(batch, "batch")),
                    .int(checkedInt(units, "units")), .int(checkedInt(targetRows, "targetRows")),
                    .int(checkedInt(unitStart, "unitStart")), .int(checkedInt(unitCount, "unitCount")),
                    .float(temperature), .float(weight), .tensor(losses), .tensor(dLogits)],
                   global: [batch])
    }
}
