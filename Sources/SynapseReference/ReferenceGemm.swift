// GEMM: C = alpha · op(A) · op(B) + beta · C, row-major. M×N×K as in BLAS.
//
// The loop order is i-p-j ("i-k-j"): for each row i of C and each p, add A(i,p) times row p of
// op(B) to row i of C. The innermost loop runs over contiguous columns of B and C, which the
// compiler vectorises. op(B) is packed row-major first when B is stored transposed, and p runs
// in blocks so the block of B rows being reused stays in the L2 cache.

import SynapseEngine

/// Rows of op(B) per block: 128 rows × 1024 columns × 4 bytes = 512 KiB, about half an L2.
private let depthBlock = 128

extension ReferenceBackend {
    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     alpha: Float, a: Tensor, b: Tensor, beta: Float, c: Tensor) throws {
        try OpContract.gemm(m: m, n: n, k: k, a: a, b: b, c: c)
        let op = "gemm"
        let pa = try floats(a, "a", op)
        let pb = try floats(b, "b", op)
        let pc = try floats(c, "c", op)
        Self.gemmKernel(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                        alpha: alpha, a: pa, b: pb, beta: beta, c: pc)
    }

    // MARK: Dense layers: the GEMM and the loops of the ops each one fuses, in the same order

    public func denseForward(input: Tensor, weight: Tensor, bias: Tensor, batch: Int, inputs: Int, units: Int,
                             relu: Bool, output: Tensor) throws {
        try OpContract.denseForward(input: input, weight: weight, bias: bias, batch: batch, inputs: inputs,
                                    units: units, output: output)
        try gemm(transposeA: false, transposeB: false, m: batch, n: units, k: inputs,
                 alpha: 1, a: input, b: weight, beta: 0, c: output)
        try addBias(output, bias: bias, outer: batch, channels: units, inner: 1, relu: relu)
    }

    public func denseBackwardWeight(input: Tensor, dOutput: Tensor, batch: Int, inputs: Int, units: Int,
                                    dWeight: Tensor, dBias: Tensor) throws {
        try OpContract.denseBackwardWeight(input: input, dOutput: dOutput, batch: batch, inputs: inputs, units: units,
                                           dWeight: dWeight, dBias: dBias)
        try gemm(transposeA: true, transposeB: false, m: inputs, n: units, k: batch,
                 alpha: 1, a: input, b: dOutput, beta: 0, c: dWeight)
        try biasBackward(dOutput, outer: batch, channels: units, inner: 1, dBias: dBias)
    }

    public func denseBackwardInput(dOutput: Tensor, weight: Tensor, batch: Int, inputs: Int, units: Int,
                                   reluOutput: Tensor?, dInput: Tensor) throws {
        try OpContract.denseBackwardInput(dOutput: dOutput, weight: weight, batch: batch, inputs: inputs, units: units,
                                          reluOutput: reluOutput, dInput: dInput)
        try gemm(transposeA: false, transposeB: true, m: batch, n: inputs, k: units,
                 alpha: 1, a: dOutput, b: weight, beta: 0, c: dInput)
        if let reluOutput {
            try reluBackward(output: reluOutput, dOutput: dInput, count: batch * inputs, dInput: dInput)
        }
    }

    /// GEMM on validated host pointers; leading dimensions are the stored row lengths
    /// (A: K, or M when transposed; B: N, or K when transposed; C: N). Also the engine of the
    /// convolutions.
    static func gemmKernel(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                           a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float,
                           c: UnsafeMutablePointer<Float>) {
        // beta · C first; beta = 0 overwrites, so NaNs in the old C do not survive.
        if beta == 0 {
            c.update(repeating: 0, count: m * n)
        } else if beta != 1 {
            for i in 0..<(m * n) { c[i] *= beta }
        }
        guard m > 0, n > 0, k > 0, alpha != 0 else { return }

        // op(B) as a row-major K×N matrix.
        var rowsOfB = b
        var packed: UnsafeMutablePointer<Float>? = nil
        defer { packed?.deallocate() }
        if transposeB {
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
            for j in 0..<n {
                for p in 0..<k { buffer[p * n + j] = b[j * k + p] }
            }
            packed = buffer
            rowsOfB = UnsafePointer(buffer)
        }
        var blockStart = 0
        while blockStart < k {
            let blockEnd = min(blockStart + depthBlock, k)
            for i in 0..<m {
                let rowC = c + i * n
                for p in blockStart..<blockEnd {
                    let aip = alpha * (transposeA ? a[p * m + i] : a[i * k + p])
                    let rowB = rowsOfB + p * n
                    for j in 0..<n { rowC[j] += aip * rowB[j] }
                }
            }
            blockStart = blockEnd
        }
    }
}
