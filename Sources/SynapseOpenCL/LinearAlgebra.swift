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
