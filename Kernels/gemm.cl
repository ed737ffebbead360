// GEMM: C = alpha * op(A) * op(B) + beta * C, row-major (see Backend.gemm). beta == 0 ignores
// the old C, NaNs included. The host passes op(A) as element strides: op(A)[i][k] =
// A[aOffset + i*sam + k*sak] (sam = lda, sak = 1 plain; sam = 1, sak = lda transposed), and the
// same for B (sbk, sbn). Two variants, chosen by the host per device type:
//
// CPU style (PoCL): B is first packed into contiguous NR-wide panels (zero-padded past N), then
// each work-item computes an MR x NR block of C in registers: for every k, MR values of A are
// broadcast and NR values of the panel are read as float16 vectors, MR*NR/16 vector fmas.
// No local memory, no barriers (PoCL emulates both slowly); packing removes the cache conflicts
// of power-of-two leading dimensions and the edge cases in N. Rows past M read row M-1 (clamped)
// and are not stored. MR and NR (NR a multiple of 16) come from the tuner's table (TileTables in
// Sources/SynapseOpenCL/Tuner.swift); on PoCL 6-8 rows by 32 columns measured best.
// gemm_cpu_fused is the same block with the dense layers' neighbours fused into it (the bias add
// and ReLU on store, the ReLU backward mask on store, the bias gradient as column sums of B),
// and B read in place when no packing is needed.
//
// GPU style: a work-group computes a TM x TN tile of C; each work-item a WM x WN register block;
// A and B tiles of depth TK are loaded cooperatively into __local memory (bounds-checked, zero
// outside) with consecutive work-items reading consecutive addresses.

#ifndef MR
#define MR 6
#endif
#ifndef NR
#define NR 32
#endif
#define NV (NR / 16)

// P[jp][k][jj] = op(B)[k][jp*NR + jj], 0 past N. One work-item per (k, panel).
__kernel void gemm_pack_b(int K, int N, __global const float* B, int bOffset, int sbk, int sbn,
                          __global float* P, int pOffset) {
    const int jp = (int)get_global_id(0);
    const int k = (int)get_global_id(1);
    if (k >= K || jp * NR >= N) return;
    __global float* dst = P + pOffset + ((size_t)jp * K + k) * NR;
    __global const float* src = B + bOffset + (size_t)k * sbk;
    const int j0 = jp * NR;
    if (sbn == 1 && j0 + NR <= N) {
        for (int v = 0; v < NV; v++) vstore16(vload16(0, src + j0 + 16 * v), 0, dst + 16 * v);
    } else {
        for (int jj = 0; jj < NR; jj++) dst[jj] = j0 + jj < N ? src[(size_t)(j0 + jj) * sbn] : 0.0f;
    }
}

#define GEMM_STEP(KK)                                                                   \
    {                                                                                   \
        float16 b[NV];                                                                  \
        _Pragma("unroll") for (int v = 0; v < NV; v++) b[v] = vload16(0, bp + (size_t)(KK) * ldp + 16 * v); \
        _Pragma("unroll") for (int m = 0; m < MR; m++) {                                \
            const float16 a = (float16)(ar[m][(size_t)(KK) * sak]);                     \
            _Pragma("unroll") for (int v = 0; v < NV; v++) acc[m][v] = fma(a, b[v], acc[m][v]); \
        }                                                                               \
    }

// One MR x NR block of C at (i0, j0). bp is the block's B panel: K rows of NR floats, ldp apart
// (a packed panel: ldp = NR; B read in place: ldp = its row length). The epilogue, in this
// order: r = alpha * acc (+ beta * C); + bias[j] when bias != 0; max(r, 0) when relu; 0 where
// mask[i*ldc + j] <= 0 when mask != 0 (ReLU backward of the layer below); the same arithmetic,
// element by element, as gemm_cpu followed by add_bias or relu_backward. When colSum != 0 (only
// the block of rows 0), colSum[j] = sum over k of op(B)[k][j], summed in k order as
// bias_backward does. The flags are constants in gemm_cpu, so the compiler drops their code.
inline void gemm_cpu_block(int M, int N, int K, float alpha, float beta,
                           __global const float* A, int sam, int sak,
                           __global const float* bp, int ldp,
                           __global float* C, int ldc, int i0, int j0,
                           __global const float* bias, int relu, __global const float* mask,
                           __global float* colSum) {
    __global const float* ar[MR];
    #pragma unroll
    for (int m = 0; m < MR; m++) ar[m] = A + (size_t)min(i0 + m, M - 1) * sam;
    float16 acc[MR][NV];
    #pragma unroll
    for (int m = 0; m < MR; m++)
        #pragma unroll
        for (int v = 0; v < NV; v++) acc[m][v] = (float16)(0.0f);
    int k = 0;
    for (; k + 4 <= K; k += 4) {
        GEMM_STEP(k) GEMM_STEP(k + 1) GEMM_STEP(k + 2) GEMM_STEP(k + 3)
    }
    for (; k < K; k++) GEMM_STEP(k)

    const int rows = min(MR, M - i0);
    #pragma unroll
    for (int m = 0; m < MR; m++) {
        if (m >= rows) continue;   // (continue, not break: keeps the loop unrollable)
        __global float* c = C + (size_t)(i0 + m) * ldc + j0;
        __global const float* mk = mask ? mask + (size_t)(i0 + m) * ldc + j0 : 0;
        #pragma unroll
        for (int v = 0; v < NV; v++) {
            float16 r = alpha * acc[m][v];
            const int left = N - j0 - 16 * v;
            if (left >= 16) {
                if (beta != 0.0f) r = fma((float16)(beta), vload16(0, c + 16 * v), r);
                if (bias) r = r + vload16(0, bias + j0 + 16 * v);
                if (relu) r = fmax(r, 0.0f);
                if (mask) r = select((float16)(0.0f), r, isgreater(vload16(0, mk + 16 * v), (float16)(0.0f)));
                vstore16(r, 0, c + 16 * v);
            } else if (left > 0) {
                float t[16];
                vstore16(r, 0, t);
                for (int l = 0; l < left; l++) {
                    float o = t[l];
                    if (beta != 0.0f) o = fma(beta, c[16 * v + l], o);
                    if (bias) o = o + bias[j0 + 16 * v + l];
                    if (relu) o = fmax(o, 0.0f);
                    if (mask) o = mk[16 * v + l] > 0.0f ? o : 0.0f;
                    c[16 * v + l] = o;
                }
            }
        }
    }
    if (colSum && i0 == 0) {
        #pragma unroll
        for (int v = 0; v < NV; v++) {
            float16 sum = (float16)(0.0f);
            for (int kk = 0; kk < K; kk++) sum += vload16(0, bp + (size_t)kk * ldp + 16 * v);
            const int left = N - j0 - 16 * v;
            if (left >= 16) {
                vstore16(sum, 0, colSum + j0 + 16 * v);
            } else if (left > 0) {
                float t[16];
                vstore16(sum, 0, t);
                for (int l = 0; l < left; l++) colSum[j0 + 16 * v + l] = t[l];
            }
        }
    }
}

// grid (ceil(M/MR), ceil(N/NR)): dim 0 walks down the rows so consecutive work-items reuse the
// same B panel from cache.
__kernel void gemm_cpu(int M, int N, int K, float alpha, float beta,
                       __global const float* A, int aOffset, int sam, int sak,
                       __global const float* P, int pOffset,
                       __global float* C, int cOffset, int ldc) {
    const int i0 = (int)get_global_id(0) * MR;
    const int jp = (int)get_global_id(1);
    const int j0 = jp * NR;
    if (i0 >= M || j0 >= N) return;
    gemm_cpu_block(M, N, K, alpha, beta, A + aOffset, sam, sak, P + pOffset + (size_t)jp * K * NR, NR,
                   C + cOffset, ldc, i0, j0, 0, 0, 0, 0);
}

// The dense layers' GEMMs with their elementwise neighbours fused (alpha = 1, beta = 0), same
// grid as gemm_cpu. B is a packed panel set (panelStep = K * NR, ldp = NR) or read in place when
// N is a multiple of NR and op(B) is not transposed (panelStep = NR, ldp = its row length).
// hasBias, relu, hasMask, hasColSum switch the epilogue parts of gemm_cpu_block on; a buffer
// whose flag is 0 is not read (any buffer may be passed).
__kernel void gemm_cpu_fused(int M, int N, int K,
                             __global const float* A, int aOffset, int sam, int sak,
                             __global const float* P, int pOffset, int panelStep, int ldp,
                             __global float* C, int cOffset, int ldc,
                             __global const float* bias, int biasOffset, int hasBias, int relu,
                             __global const float* mask, int maskOffset, int hasMask,
                             __global float* colSum, int colSumOffset, int hasColSum) {
    const int i0 = (int)get_global_id(0) * MR;
    const int jp = (int)get_global_id(1);
    const int j0 = jp * NR;
    if (i0 >= M || j0 >= N) return;
    gemm_cpu_block(M, N, K, 1.0f, 0.0f, A + aOffset, sam, sak, P + pOffset + (size_t)jp * panelStep, ldp,
                   C + cOffset, ldc, i0, j0, hasBias ? bias + biasOffset : 0, relu,
                   hasMask ? mask + maskOffset : 0, hasColSum ? colSum + colSumOffset : 0);
}

#ifndef TM
#define TM 64
#endif
#ifndef TN
#define TN 64
#endif
#ifndef TK
#define TK 16
#endif
#ifndef WM
#define WM 8
#endif
#ifndef WN
#define WN 8
#endif
#define LM (TM / WM)
#define LN (TN / WN)

// grid (ceil(N/TN)*LN, ceil(M/TM)*LM), local (LN, LM). Work-item (tx, ty) owns rows
// ty + a*LM and columns tx + b*LN of the tile (strided, so local reads are conflict-free).
__kernel __attribute__((reqd_work_group_size(LN, LM, 1)))
void gemm_gpu(int M, int N, int K, float alpha, float beta,
              __global const float* A, int aOffset, int sam, int sak,
              __global const float* B, int bOffset, int sbk, int sbn,
              __global float* C, int cOffset, int ldc) {
    __local float As[TK][TM + 1];
    __local float Bs[TK][TN + 1];
    const int tx = (int)get_local_id(0), ty = (int)get_local_id(1);
    const int tid = ty * LN + tx;
    const int i0 = (int)get_group_id(1) * TM, j0 = (int)get_group_id(0) * TN;
    float acc[WM][WN];
    for (int a = 0; a < WM; a++)
        for (int b = 0; b < WN; b++) acc[a][b] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TK) {
        for (int e = tid; e < TK * TM; e += LM * LN) {
            // Consecutive work-items take consecutive addresses: along i when A is stored
            // transposed (sam == 1), along k otherwise.
            int kk, ii;
            if (sam == 1) { ii = e % TM; kk = e / TM; } else { kk = e % TK; ii = e / TK; }
            const int gi = i0 + ii, gk = k0 + kk;
            As[kk][ii] = (gi < M && gk < K) ? A[aOffset + (size_t)gi * sam + (size_t)gk * sak] : 0.0f;
        }
        for (int e = tid; e < TK * TN; e += LM * LN) {
            int kk, jj;
            if (sbn == 1) { jj = e % TN; kk = e / TN; } else { kk = e % TK; jj = e / TK; }
            const int gj = j0 + jj, gk = k0 + kk;
            Bs[kk][jj] = (gj < N && gk < K) ? B[bOffset + (size_t)gk * sbk + (size_t)gj * sbn] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TK; kk++) {
            float ra[WM], rb[WN];
            for (int a = 0; a < WM; a++) ra[a] = As[kk][ty + a * LM];
            for (int b = 0; b < WN; b++) rb[b] = Bs[kk][tx + b * LN];
            for (int a = 0; a < WM; a++)
                for (int b = 0; b < WN; b++) acc[a][b] = fma(ra[a], rb[b], acc[a][b]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int a = 0; a < WM; a++) {
        const int gi = i0 + ty + a * LM;
        if (gi >= M) continue;
        for (int b = 0; b < WN; b++) {
            const int gj = j0 + tx + b * LN;
            if (gj >= N) continue;
            const size_t at = cOffset + (size_t)gi * ldc + gj;
            float r = alpha * acc[a][b];
            if (beta != 0.0f) r = fma(beta, C[at], r);
            C[at] = r;
        }
    }
}
