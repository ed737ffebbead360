// GEMM and convolution for the OpenCL backend, simple version: one work-item per element of C
// (Kernels/gemm.cl) and im2col / col2im (Kernels/conv.cl). Correct for any sizes; the fast
// per-style kernels replace these behind the same functions.
import SynapseEngine

extension OpenCLBackend {
    /// Largest im2col workspace, in floats (64 MiB): convolutions run in chunks of images that fit.
    static let im2colBudget = 16 << 20

    /// Batched GEMM on views: for b < batch, C_b = alpha·op(A_b)·op(B_b) + beta·C_b, where X_b
    /// starts `strideX·b` elements after the view's offset (stride 0 shares one matrix).
    func enqueueGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: Tensor, lda: Int, b: Tensor, ldb: Int, beta: Float, c: Tensor, ldc: Int,
                     batch: Int = 1, strideA: Int = 0, strideB: Int = 0, strideC: Int = 0) throws {
        if m == 0 || n == 0 || batch == 0 { return }
        try launch(kernel(file: "gemm.cl", name: "gemm_simple"),
                   [.int(checkedInt(m, "M")), .int(checkedInt(n, "N")), .int(checkedInt(k, "K")), .float(alpha),
                    .tensor(a), .int(checkedInt(lda, "lda")), .int(checkedInt(strideA, "strideA")),
                    .tensor(b), .int(checkedInt(ldb, "ldb")), .int(checkedInt(strideB, "strideB")),
                    .float(beta), .tensor(c), .int(checkedInt(ldc, "ldc")), .int(checkedInt(strideC, "strideC")),
                    .int(transposeA ? 1 : 0), .int(transposeB ? 1 : 0)],
                   global: [n, m, batch])
    }

    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                     alpha: Float, a: Tensor, b: Tensor, beta: Float, c: Tensor) throws {
        let op = "gemm"
        try requireNonNegative([("m", m), ("n", n), ("k", k)], op: op)
        try require(a, "a", count: m * k, op: op)
        try require(b, "b", count: k * n, op: op)
        try require(c, "c", count: m * n, op: op)
        try enqueueGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                        a: a, lda: transposeA ? m : k, b: b, ldb: transposeB ? k : n,
                        beta: beta, c: c, ldc: n)
    }

    private func checkConv(_ s: ConvShape, op: String) throws {
        try requireNonNegative([("batch", s.batch), ("inChannels", s.inChannels), ("height", s.height),
                                ("width", s.width), ("outChannels", s.outChannels), ("padding", s.padding)], op: op)
        guard s.kernelSize >= 1, s.outHeight >= 1, s.outWidth >= 1 else {
            throw BackendError("\(op): shape \(s) has no output (P = \(s.outHeight), Q = \(s.outWidth))")
        }
    }

    /// Images per im2col chunk, and the workspace holding that many column matrices.
    private func columnChunk(_ s: ConvShape) throws -> (images: Int, columns: Tensor, perImage: Int) {
        let perImage = s.inChannels * s.kernelSize * s.kernelSize * s.outHeight * s.outWidth
        let images = max(1, min(s.batch, Self.im2colBudget / max(1, perImage)))
        return (images, try workspace("im2col", count: images * perImage), perImage)
    }

    private func convArgs(_ s: ConvShape, images: Int) throws -> [KernelArg] {
        try [.int(checkedInt(s.inChannels, "C")), .int(checkedInt(s.height, "H")), .int(checkedInt(s.width, "W")),
         .int(checkedInt(s.kernelSize, "R")), .int(checkedInt(s.padding, "pad")),
         .int(checkedInt(s.outHeight, "P")), .int(checkedInt(s.outWidth, "Q")), .int(checkedInt(images, "images"))]
    }

    public func conv2dForward(_ s: ConvShape, input: Tensor, weight: Tensor, bias: Tensor,
                              relu: Bool, output: Tensor) throws {
        let op = "conv2dForward"
        try checkConv(s, op: op)
        try require(input, "input", count: s.inputCount, op: op)
        try require(weight, "weight", count: s.weightCount, op: op)
        try require(bias, "bias", count: s.outChannels, op: op)
        try require(output, "output", count: s.outputCount, op: op)
        let crs = s.inChannels * s.kernelSize * s.kernelSize, pq = s.outHeight * s.outWidth
        let chunk = try columnChunk(s)
        for first in stride(from: 0, to: s.batch, by: chunk.images) {
            let images = min(chunk.images, s.batch - first)
            try launch(kernel(file: "conv.cl", name: "im2col"),
                       [.tensor(input.view(at: first * s.inChannels * s.height * s.width, shape: [images * s.inChannels * s.height * s.width]))]
                        + convArgs(s, images: images) + [.tensor(chunk.columns)],
                       global: [pq, crs, images])
            try enqueueGemm(transposeA: false, transposeB: false, m: s.outChannels, n: pq, k: crs, alpha: 1,
                            a: weight, lda: crs, b: chunk.columns, ldb: pq, beta: 0,
                            c: output.view(at: first * s.outChannels * pq, shape: [images * s.outChannels * pq]), ldc: pq,
                            batch: images, strideA: 0, strideB: chunk.perImage, strideC: s.outChannels * pq)
        }
        try addBias(output, bias: bias, outer: s.batch, channels: s.outChannels, inner: pq, relu: relu)
    }

    public func conv2dBackwardInput(_ s: ConvShape, dOutput: Tensor, weight: Tensor, dInput: Tensor) throws {
        let op = "conv2dBackwardInput"
        try checkConv(s, op: op)
        try require(dOutput, "dOutput", count: s.outputCount, op: op)
        try require(weight, "weight", count: s.weightCount, op: op)
        try require(dInput, "dInput", count: s.inputCount, op: op)
        let crs = s.inChannels * s.kernelSize * s.kernelSize, pq = s.outHeight * s.outWidth
        let chunk = try columnChunk(s)
        for first in stride(from: 0, to: s.batch, by: chunk.images) {
            let images = min(chunk.images, s.batch - first)
            try enqueueGemm(transposeA: true, transposeB: false, m: crs, n: pq, k: s.outChannels, alpha: 1,
                            a: weight, lda: crs,
                            b: dOutput.view(at: first * s.outChannels * pq, shape: [images * s.outChannels * pq]), ldb: pq,
                            beta: 0, c: chunk.columns, ldc: pq,
                            batch: images, strideA: 0, strideB: s.outChannels * pq, strideC: chunk.perImage)
            try launch(kernel(file: "conv.cl", name: "col2im"),
                       [.tensor(chunk.columns)] + convArgs(s, images: images)
                        + [.tensor(dInput.view(at: first * s.inChannels * s.height * s.width,
                                               shape: [images * s.inChannels * s.height * s.width]))],
                       global: [s.height * s.width, s.inChannels, images])
        }
    }

    public func conv2dBackwardWeight(_ s: ConvShape, input: Tensor, dOutput: Tensor,
                                     dWeight: Tensor, dBias: Tensor) throws {
        let op = "conv2dBackwardWeight"
        try checkConv(s, op: op)
        try require(input, "input", count: s.inputCount, op: op)
        try require(dOutput, "dOutput", count: s.outputCount, op: op)
        try require(dWeight, "dWeight", count: s.weightCount, op: op)
        try require(dBias, "dBias", count: s.outChannels, op: op)
        let crs = s.inChannels * s.kernelSize * s.kernelSize, pq = s.outHeight * s.outWidth
        if s.batch == 0 { try fill(dWeight.view(at: 0, shape: [s.weightCount]), value: 0) }
        let chunk = try columnChunk(s)
        for first in stride(from: 0, to: s.batch, by: chunk.images) {
            let images = min(chunk.images, s.batch - first)
            try launch(kernel(file: "conv.cl", name: "im2col"),
                       [.tensor(input.view(at: first * s.inChannels * s.height * s.width, shape: [images * s.inChannels * s.height * s.width]))]
                        + convArgs(s, images: images) + [.tensor(chunk.columns)],
                       global: [pq, crs, images])
            // dW[K, CRS] (+)= dOut_img[K, PQ] · col_img[CRS, PQ]ᵀ, one image at a time (a sum over images).
            for image in 0..<images {
                try enqueueGemm(transposeA: false, transposeB: true, m: s.outChannels, n: crs, k: pq, alpha: 1,
                                a: dOutput.view(at: (first + image) * s.outChannels * pq, shape: [s.outChannels * pq]), lda: pq,
                                b: chunk.columns.view(at: image * chunk.perImage, shape: [chunk.perImage]), ldb: pq,
                                beta: first + image == 0 ? 0 : 1, c: dWeight, ldc: crs)
            }
        }
        try biasBackward(dOutput, outer: s.batch, channels: s.outChannels, inner: pq, dBias: dBias)
    }
}
