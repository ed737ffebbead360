// Convolution, stride 1, NCHW, weight [K, C, R, R], cross-correlation (as Keras).
// N batch, C input channels, K output channels, H×W input, P×Q output, R filter size.
//
// Each image is unfolded ("im2col") into a matrix col[(c, r, s), (p, q)] =
// input[c, p+r−pad, q+s−pad] (0 outside the image), of C·R·R rows and P·Q columns.
// Then per image:
//   forward:        out[K, P·Q]   = weight[K, C·R·R] · col
//   dInput:         dCol          = weightᵀ · dOut[K, P·Q], folded back onto the image ("col2im")
//   dWeight:        dWeight      += dOut · colᵀ;   dBias[k] = Σ dOut[k, ·]
// so the multiply-adds all run in the GEMM kernel, and the formulas of Backend.swift are the
// unfold/fold index maps below.

import SynapseEngine

extension ReferenceBackend {
    /// Unfolds one image [C, H, W] into col [C·R·R, P·Q].
    private static func im2col(_ shape: ConvShape, image: UnsafePointer<Float>, col: UnsafeMutablePointer<Float>) {
        let (C, H, W, R, pad) = (shape.inChannels, shape.height, shape.width, shape.kernelSize, shape.padding)
        let (P, Q) = (shape.outHeight, shape.outWidth)
        for c in 0..<C {
            for r in 0..<R {
                for s in 0..<R {
                    let row = col + ((c * R + r) * R + s) * P * Q
                    for p in 0..<P {
                        let h = p + r - pad
                        let out = row + p * Q
                        guard h >= 0 && h < H else {
                            out.update(repeating: 0, count: Q)
                            continue
                        }
                        let inRow = image + (c * H + h) * W
                        for q in 0..<Q {
                            let w = q + s - pad
                            out[q] = (w >= 0 && w < W) ? inRow[w] : 0
                        }
                    }
                }
            }
        }
    }

    /// Folds col [C·R·R, P·Q] back onto one image [C, H, W], adding every entry to the input
    /// element it was read from (the transpose of `im2col`). The image is overwritten.
    private static func col2im(_ shape: ConvShape, col: UnsafePointer<Float>, image: UnsafeMutablePointer<Float>) {
        let (C, H, W, R, pad) = (shape.inChannels, shape.height, shape.width, shape.kernelSize, shape.padding)
        let (P, Q) = (shape.outHeight, shape.outWidth)
        image.update(repeating: 0, count: C * H * W)
        for c in 0..<C {
            for r in 0..<R {
                for s in 0..<R {
                    let row = col + ((c * R + r) * R + s) * P * Q
                    for p in 0..<P {
                        let h = p + r - pad
                        guard h >= 0 && h < H else { continue }
                        let inRow = image + (c * H + h) * W
                        for q in 0..<Q {
                            let w = q + s - pad
                            if w >= 0 && w < W { inRow[w] += row[p * Q + q] }
                        }
                    }
                }
            }
        }
    }

    public func conv2dForward(_ shape: ConvShape, input: Tensor, weight: Tensor, bias: Tensor,
                              relu: Bool, output: Tensor) throws {
        try OpContract.conv2dForward(shape, input: input, weight: weight, bias: bias, output: output)
        let op = "conv2dForward"
        let x = try floats(input, "input", op)
        let w = try floats(weight, "weight", op)
        let b = try floats(bias, "bias", op)
        let y = try floats(output, "output", op)
        let (C, H, W, K, R) = (shape.inChannels, shape.height, shape.width, shape.outChannels, shape.kernelSize)
        let PQ = shape.outHeight * shape.outWidth
        let col = UnsafeMutablePointer<Float>.allocate(capacity: C * R * R * PQ)
        defer { col.deallocate() }
        for n in 0..<shape.batch {
            Self.im2col(shape, image: x + n * C * H * W, col: col)
            let out = y + n * K * PQ
            Self.gemmKernel(transposeA: false, transposeB: false, m: K, n: PQ, k: C * R * R,
                            alpha: 1, a: w, b: col, beta: 0, c: out)
            for k in 0..<K {
                let plane = out + k * PQ
                for i in 0..<PQ {
                    let value = plane[i] + b[k]
                    plane[i] = relu ? max(0, value) : value
                }
            }
        }
    }

    public func conv2dBackwardInput(_ shape: ConvShape, dOutput: Tensor, weight: Tensor, reluOutput: Tensor?,
                                    dInput: Tensor) throws {
        try OpContract.conv2dBackwardInput(shape, dOutput: dOutput, weight: weight, reluOutput: reluOutput, dInput: dInput)
        let op = "conv2dBackwardInput"
        let dy = try floats(dOutput, "dOutput", op)
        let w = try floats(weight, "weight", op)
        let dx = try floats(dInput, "dInput", op)
        let (C, H, W, K, R) = (shape.inChannels, shape.height, shape.width, shape.outChannels, shape.kernelSize)
        let PQ = shape.outHeight * shape.outWidth
        let dCol = UnsafeMutablePointer<Float>.allocate(capacity: C * R * R * PQ)
        defer { dCol.deallocate() }
        for n in 0..<shape.batch {
            // dCol [C·R·R, P·Q] = weightᵀ · dOut[n]; weight is stored K × C·R·R.
            Self.gemmKernel(transposeA: true, transposeB: false, m: C * R * R, n: PQ, k: K,
                            alpha: 1, a: w, b: dy + n * K * PQ, beta: 0, c: dCol)
            Self.col2im(shape, col: dCol, image: dx + n * C * H * W)
        }
        if let reluOutput {
            try reluBackward(output: reluOutput, dOutput: dInput, count: shape.inputCount, dInput: dInput)
        }
    }

    public func conv2dBackwardWeight(_ shape: ConvShape, input: Tensor, dOutput: Tensor,
                                     dWeight: Tensor, dBias: Tensor) throws {
        try OpContract.conv2dBackwardWeight(shape, input: input, dOutput: dOutput, dWeight: dWeight, dBias: dBias)
        let op = "conv2dBackwardWeight"
        let x = try floats(input, "input", op)
        let dy = try floats(dOutput, "dOutput", op)
        let dw = try floats(dWeight, "dWeight", op)
        let db = try floats(dBias, "dBias", op)
        let (C, H, W, K, R) = (shape.inChannels, shape.height, shape.width, shape.outChannels, shape.kernelSize)
        let PQ = shape.outHeight * shape.outWidth
        let col = UnsafeMutablePointer<Float>.allocate(capacity: C * R * R * PQ)
        defer { col.deallocate() }
        dw.update(repeating: 0, count: shape.weightCount)
        var biasSums = [Double](repeating: 0, count: K)
        for n in 0..<shape.batch {
            Self.im2col(shape, image: x + n * C * H * W, col: col)
            let dOut = dy + n * K * PQ
            // dWeight [K, C·R·R] += dOut[n] [K, P·Q] · colᵀ; col is stored C·R·R × P·Q.
            Self.gemmKernel(transposeA: false, transposeB: true, m: K, n: C * R * R, k: PQ,
                            alpha: 1, a: dOut, b: col, beta: 1, c: dw)
            for k in 0..<K {
                for i in 0..<PQ { biasSums[k] += Double(dOut[k * PQ + i]) }
            }
        }
        for k in 0..<K { db[k] = Float(biasSums[k]) }
    }
}
