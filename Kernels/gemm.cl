// GEMM, simple version: C = alpha * op(A) * op(B) + beta * C, row-major, one work-item per
// element of C, batched over get_global_id(2) with element strides between the batch's
// matrices (stride 0 reuses one matrix, e.g. the weights of a convolution).
// op(A) is M x K (stored K x M, leading dimension lda, when transA); op(B) is K x N (stored
// N x K when transB). beta == 0 ignores the old C, NaNs included.
__kernel void gemm_simple(int M, int N, int K, float alpha,
                          __global const float* A, int aOffset, int lda, int strideA,
                          __global const float* B, int bOffset, int ldb, int strideB,
                          float beta, __global float* C, int cOffset, int ldc, int strideC,
                          int transA, int transB) {
    const int col = (int)get_global_id(0);
    const int row = (int)get_global_id(1);
    const int batch = (int)get_global_id(2);
    if (col >= N || row >= M) return;
    __global const float* a = A + aOffset + batch * strideA;
    __global const float* b = B + bOffset + batch * strideB;
    float sum = 0.0f;
    for (int k = 0; k < K; k++) {
        const float x = transA ? a[k * lda + row] : a[row * lda + k];
        const float y = transB ? b[col * ldb + k] : b[k * ldb + col];
        sum = fma(x, y, sum);
    }
    const int at = cOffset + batch * strideC + row * ldc + col;
    C[at] = beta == 0.0f ? alpha * sum : alpha * sum + beta * C[at];
}
