/// The one tolerance policy for comparing a backend's float32 results with the reference.
///
/// Why errors exist at all: backends sum the same terms in different orders (tiles, vector
/// lanes, fused multiply-add), and each reordered float32 sum of n terms of unit scale can
/// differ by about n·ε·max|term| (ε = 2^-23 ≈ 1.19e-7) in the worst case; exp/log differ by a
/// few ulp between libraries. Inputs in the checks are drawn from unit-scale ranges.
///
/// The error measure is mixed absolute/relative: |actual − expected| / (1 + |expected|), so
/// large values are compared relatively and values near zero absolutely. The tolerance for a
/// result that is a reduction over n terms is 8·n·ε + 1e-5 (the 8 covers fma and the
/// accumulated rounding of inputs that are themselves results; the 1e-5 covers transcendental
/// functions). Anything a wrong index or a missed term would cause is O(1) and far above it.
public enum Tolerance {
    /// ε of float32: 2^-23, the gap between 1 and the next float32.
    public static let floatEpsilon: Double = 1.1920929e-7

    /// Tolerance for results that reduce over `reductionLength` terms (1 for elementwise ops).
    public static func forReduction(length reductionLength: Int) -> Double {
        8.0 * Double(max(1, reductionLength)) * floatEpsilon + 1e-5
    }

    /// Tolerance for a convolution over `channels` input channels with `kernelSize`² filters
    /// (plus the bias when `bias`): the reduction's over n = channels·R² (+1) terms, doubled for
    /// 3×3 filters, which a backend may compute with Winograd F(2×2, 3×3) (the OpenCL CPU style
    /// does when the tuner measures it faster). Its rounding is not that of a sum of n products:
    /// each output is a ±1 combination of 9 of 16 dot products of length C in the transformed
    /// domain, whose terms grow (|Bᵀ d B| ≤ 4·max|d|, |G g Gᵀ| ≤ 2.25·max|g|), so its worst case
    /// is about 9·9·C·ε·max|x|·max|w| = 81·C·ε against the direct sum's 9·C·ε. forReduction's
    /// 8·n·ε = 72·C·ε does not cover that; twice it (144·C·ε) does, with room for the rounding
    /// of the transforms themselves. Measured (random unit-scale inputs, C ≤ 64): Winograd's
    /// worst error is 2.5 % of forReduction's tolerance, so this bound is far from binding.
    public static func forConvolution(channels: Int, kernelSize: Int, bias: Bool = false) -> Double {
        let direct = forReduction(length: channels * kernelSize * kernelSize + (bias ? 1 : 0))
        return kernelSize == 3 ? 2 * direct : direct
    }

    /// Tolerance for a convolution's weight (and bias) gradient, a sum over `batch` images of
    /// `outHeight` × `outWidth` positions: the reduction's over n = batch·P·Q terms, doubled for
    /// 3×3 filters, which a backend may compute with Winograd F(3×3, 2×2) in the transform
    /// domain of F(2×2, 3×3) (the OpenCL CPU style does when the tuner measures it faster). Its
    /// 16 transformed sums run over the n/4 tiles (2×2 dOutput positions each), their terms grown
    /// by the transforms (|A e Aᵀ| ≤ 4·max|e|, |Bᵀ d B| ≤ 4·max|d|), and each gradient is a
    /// combination of 9 of them with weights summing to at most 4 (the rows of Gᵀ sum to 2 in
    /// absolute value): 4·16·(n/4)·ε = 16·n·ε against the direct sum's n·ε; forReduction's
    /// 8·n·ε doubled covers it. Measured (random unit-scale inputs, the CNN's layers at a small
    /// batch): Winograd's worst error is below 3 % of forReduction's tolerance.
    public static func forConvolutionWeight(batch: Int, outHeight: Int, outWidth: Int, kernelSize: Int) -> Double {
        let direct = forReduction(length: batch * outHeight * outWidth)
        return kernelSize == 3 ? 2 * direct : direct
    }

    /// max_i |actual_i − expected_i| / (1 + |expected_i|); infinite if the counts differ or a
    /// value is NaN where the other is not.
    public static func maxError(_ actual: [Float], _ expected: [Float]) -> Double {
        guard actual.count == expected.count else { return .infinity }
        var worst = 0.0
        for (a, e) in zip(actual, expected) {
            if a.isNaN != e.isNaN { return .infinity }
            if a.isNaN { continue }
            let err = abs(Double(a) - Double(e)) / (1 + abs(Double(e)))
            if !(err <= worst) { worst = err }
        }
        return worst
    }
}
