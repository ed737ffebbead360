// GEMM for the OpenCL backend, in two kernel styles chosen per device (`KernelStyle`): CPU style
// (PoCL) = register micro-tiles, float16 vectors, no barriers, no local memory, B packed into
// panels; GPU style = local-memory tiles with register blocking. Kernel: Kernels/gemm.cl (its
// header explains the algorithm). Tiles arrive as -D defines chosen by the tuner (`TileTables`);
// the kernels handle sizes that are not multiples of their tiles. Convolutions: Convolution.swift.
import SynapseEngine

extension OpenCLBackend {
    func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

    /// The integer value of define `name` (1 when absent or not a number).
    func tileSize(_ defines: [String: String], _ name: String) -> Int {
        Int(defines[name] ?? "") ?? 1
    }

    // MARK: GEMM

    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     alpha: Float, a: Tensor, b: Tensor, beta: Float, c: Tensor) throws {
        try OpContract.gemm(m: m, n: n, k: k, a: a, b: b, c: c)
        if m == 0 || n == 0 { return }
        // op(A)[i][kk] = A[i*sam + kk*sak]; op(B)[kk][j] = B[kk*sbk + j*sbn] (leading dimension =
        // the stored row length: k or m for A, n or k for B).
        let (sam, sak) = transposeA ? (1, m) : (k, 1)
        let (sbk, sbn) = transposeB ? (1, k) : (n, 1)
        let sizes: [KernelArg] = [.int(try checkedInt(m, "M")), .int(try checkedInt(n, "N")),
                                  .int(try checkedInt(k, "K")), .float(alpha), .float(beta)]
        switch style {
        case .cpu:
            let defines = try tiles(TileTables.gemmCPU)
            let mr = tileSize(defines, "MR"), nr = tileSize(defines, "NR")
            let panels = ceilDiv(n, nr)
            let packed = try workspace("gemm.packedB", count: max(1, panels * k * nr))
            _ = try checkedInt(panels * k * nr, "packed B size")
            try launch(kernel(file: "gemm.cl", name: "gemm_pack_b", defines: defines),
                       [.int(try checkedInt(k, "K")), .int(try checkedInt(n, "N")), .tensor(b),
                        .int(try checkedInt(sbk, "ldb")), .int(try checkedInt(sbn, "ldb")), .tensor(packed)],
                       global: [panels, k])
            // One work-group = up to 64 row blocks of one B panel (the panel stays in cache, and
            // there are panels × ⌈rows/64⌉ groups to share between the cores). Letting PoCL choose
            // measured 1.5× slower on M256 N2304 K512 (dY·Wᵀ of the dense layer).
            try launch(kernel(file: "gemm.cl", name: "gemm_cpu", defines: defines),
                       sizes + [.tensor(a), .int(try checkedInt(sam, "lda")), .int(try checkedInt(sak, "lda")),
                                .tensor(packed), .tensor(c), .int(try checkedInt(n, "ldc"))],
                       global: [ceilDiv(m, mr), panels], local: [min(ceilDiv(m, mr), 64), 1])
        case .gpu:
            let defines = try tiles(TileTables.gemmGPU)
            let tm = tileSize(defines, "TM"), tn = tileSize(defines, "TN")
            let local = [tn / tileSize(defines, "WN"), tm / tileSize(defines, "WM")]
            try launch(kernel(file: "gemm.cl", name: "gemm_gpu", defines: defines),
                       sizes + [.tensor(a), .int(try checkedInt(sam, "lda")), .int(try checkedInt(sak, "lda")),
                                .tensor(b), .int(try checkedInt(sbk, "ldb")), .int(try checkedInt(sbn, "ldb")),
                                .tensor(c), .int(try checkedInt(n, "ldc"))],
                       global: [ceilDiv(n, tn) * local[0], ceilDiv(m, tm) * local[1]], local: local)
        }
    }
}

// MARK: Dense layers (fused GEMMs)

extension OpenCLBackend {
    public func denseForward(input: Tensor, weight: Tensor, bias: Tensor, batch: Int, inputs: Int, units: Int,
                             relu: Bool, output: Tensor) throws {
        try OpContract.denseForward(input: input, weight: weight, bias: bias, batch: batch, inputs: inputs,
                                    units: units, output: output)
        if batch == 0 || units == 0 { return }
        guard style == .cpu else {
            // GPU style: the two ops it fuses.
            try gemm(transposeA: false, transposeB: false, m: batch, n: units, k: inputs,
                     alpha: 1, a: input, b: weight, beta: 0, c: output)
            try addBias(output, bias: bias, outer: batch, channels: units, inner: 1, relu: relu)
            return
        }
        // y[N, out] = x[N, in] · W[in, out] + b, ReLU on store.
        try fusedGemmCPU(m: batch, n: units, k: inputs, a: input, transposeA: false, b: weight, transposeB: false,
                         c: output, bias: bias, relu: relu, mask: nil, columnSums: nil)
    }

    public func denseBackwardWeight(input: Tensor, dOutput: Tensor, batch: Int, inputs: Int, units: Int,
                                    dWeight: Tensor, dBias: Tensor) throws {
        try OpContract.denseBackwardWeight(input: input, dOutput: dOutput, batch: batch, inputs: inputs, units: units,
                                           dWeight: dWeight, dBias: dBias)
        guard style == .cpu, inputs > 0 else {
            try gemm(transposeA: true, transposeB: false, m: inputs, n: units, k: batch,
                     alpha: 1, a: input, b: dOutput, beta: 0, c: dWeight)
            try biasBackward(dOutput, outer: batch, channels: units, inner: 1, dBias: dBias)
            return
        }
        if units == 0 { return }
        // dW[in, out] = xᵀ · dY (x stored [N, in]); dBias = the column sums of dY, from the same panels.
        try fusedGemmCPU(m: inputs, n: units, k: batch, a: input, transposeA: true, b: dOutput, transposeB: false,
                         c: dWeight, bias: nil, relu: false, mask: nil, columnSums: dBias)
    }

    public func denseBackwardInput(dOutput: Tensor, weight: Tensor, batch: Int, inputs: Int, units: Int,
                                   reluOutput: Tensor?, dInput: Tensor) throws {
        try OpContract.denseBackwardInput(dOutput: dOutput, weight: weight, batch: batch, inputs: inputs, units: units,
                                          reluOutput: reluOutput, dInput: dInput)
        if batch == 0 || inputs == 0 { return }
        guard style == .cpu else {
            try gemm(transposeA: false, transposeB: true, m: batch, n: inputs, k: units,
                     alpha: 1, a: dOutput, b: weight, beta: 0, c: dInput)
            if let reluOutput {
                try reluBackward(output: reluOutput, dOutput: dInput, count: batch * inputs, dInput: dInput)
            }
            return
        }
        // dX[N, in] = dY · Wᵀ (W stored [in, out]), zero where the ReLU output below was not positive.
        try fusedGemmCPU(m: batch, n: inputs, k: units, a: dOutput, transposeA: false, b: weight, transposeB: true,
                         c: dInput, bias: nil, relu: false, mask: reluOutput, columnSums: nil)
    }

    /// Whether gemm_cpu_fused reads op(B) in place instead of packing it: B not transposed and N a
    /// multiple of the panel width NR, so every panel row is NR floats of one stored row.
    func readsBInPlace(n: Int, transposeB: Bool, nr: Int) -> Bool {
        !transposeB && n % nr == 0
    }

    /// gemm_cpu_fused (Kernels/gemm.cl): C[M, N] = op(A) · op(B) (C overwritten, row length N),
    /// then + bias[j], ReLU, the mask (0 where mask[i, j] ≤ 0); `columnSums`[j] = Σ_k op(B)[k, j].
    /// M, N ≥ 1 (K may be 0).
    private func fusedGemmCPU(m: Int, n: Int, k: Int, a: Tensor, transposeA: Bool, b: Tensor, transposeB: Bool,
                              c: Tensor, bias: Tensor?, relu: Bool, mask: Tensor?, columnSums: Tensor?) throws {
        let (sam, sak) = transposeA ? (1, m) : (k, 1)
        let (sbk, sbn) = transposeB ? (1, k) : (n, 1)
        let defines = try tiles(TileTables.gemmFusedCPU)
        let mr = tileSize(defines, "MR"), nr = tileSize(defines, "NR")
        let panels = ceilDiv(n, nr)
        let panelSource: Tensor, panelStep: Int, ldp: Int
        if readsBInPlace(n: n, transposeB: transposeB, nr: nr) {
            (panelSource, panelStep, ldp) = (b, nr, sbk)
        } else {
            _ = try checkedInt(panels * k * nr, "packed B size")
            let packed = try workspace("gemm.packedB", count: max(1, panels * k * nr))
            try launch(kernel(file: "gemm.cl", name: "gemm_pack_b", defines: defines),
                       [.int(try checkedInt(k, "K")), .int(try checkedInt(n, "N")), .tensor(b),
                        .int(try checkedInt(sbk, "ldb")), .int(try checkedInt(sbn, "ldb")), .tensor(packed)],
                       global: [panels, max(k, 1)])
            (panelSource, panelStep, ldp) = (packed, k * nr, nr)
        }
        try launch(kernel(file: "gemm.cl", name: "gemm_cpu_fused", defines: defines),
                   [.int(try checkedInt(m, "M")), .int(try checkedInt(n, "N")), .int(try checkedInt(k, "K")),
                    .tensor(a), .int(try checkedInt(sam, "lda")), .int(try checkedInt(sak, "lda")),
                    .tensor(panelSource), .int(try checkedInt(panelStep, "panel step")), .int(try checkedInt(ldp, "ldb")),
                    .tensor(c), .int(try checkedInt(n, "ldc")),
                    .tensor(bias ?? c), .int(bias == nil ? 0 : 1), .int(relu ? 1 : 0),
                    .tensor(mask ?? c), .int(mask == nil ? 0 : 1),
                    .tensor(columnSums ?? c), .int(columnSums == nil ? 0 : 1)],
                   global: [ceilDiv(m, mr), panels], local: [min(ceilDiv(m, mr), 64), 1])
    }
}
