// Convolution (stride 1, NCHW, weight [K][C][R][R], zero padding; see Backend.conv2d*).
// Two variants, chosen by the host per device type.
//
// CPU style (PoCL), implicit GEMM on a padded copy: the input is copied into Xp [N][C][Hp][Wp]
// (Hp = H + 2 pad, zero border, zero slack after the last plane; a pad-0 input is read in place
// but for its last images). Wp, the row length, is W + pad for the forward and the input
// gradient (1 <= pad <= R-1): the left and right borders are shared, a read past a row's end
// landing in the next row's left zeros; else W + 2 pad. Output position (p, q) reads, for each
// (c, r, s), Xp[n][c][(p + r)*Wp + q + s]: NR consecutive positions are NR contiguous floats,
// one float16 vector load per 16, the MR filter values broadcast, MR*NR/16 vector fmas, no
// barriers, no local memory, no im2col buffer. Two tilings of the positions (the tuner picks per class of
// output width, Tuner.swift), by the define FLAT of conv_fwd_cpu:
//   FLAT = 0   NR positions of ONE output row (a 13-wide row fills 13 of 16 lanes);
//   FLAT = 1   NR consecutive positions j = p*Wp + q of the flat range [0, P*Wp) ("flat wide"):
//              vectors always full, the Wp - Q wrapped lanes per row computed and not stored
//              (a lane-by-lane store at the end, once per C*R*R fmas).
// Lanes that are not stored read the next row (or the slack).
//   forward:          bias + ReLU fused into the store.
//   input gradient:   the same kernels on dOutput padded by R-1-pad, with the weights flipped and
//                     transposed to [C][K][R][R] (conv_flip_weights); no bias, no ReLU.
//   weight gradient:  (Xp with Wp = W + 2 pad, the row length of the wide dOutput)
//                     dW[k][c,r,s] = sum_n sum_j dYw[n][k][j] * Xp[n][c][j + r*Wp + s], with
//                     dOutput copied to the "wide" layout dYw [N][K][PWr] (row length Wp, zeros
//                     at q >= Q and past P*Wp; PWr a multiple of 16): each work-item holds
//                     DMR x TC float16 partial sums over positions, per chunk of images (dim 2);
//                     the work-items of the first column tile also sum dOutput (the bias
//                     gradient's partial sums); both are reduced afterwards (conv_reduce).
//                     When Q is a multiple of 16, conv_dw_rows_cpu reads dOutput in place instead
//                     (its rows are whole vectors: no copy, no lanes to mask).
//
// GPU style: implicit GEMM with local-memory tiles, reading the unpadded input with bounds
// checks (cheap on a GPU), TM x TN tiles, TK deep, WM x WN registers per work-item.

#ifndef MR
#define MR 8
#endif
#ifndef NR
#define NR 32
#endif
#define NV (NR / 16)

// dst[pl][(h + top) * dW + w + left] = src[pl][h][w]; zero elsewhere. dst planes are dPlane
// floats apart (>= dH*dW, the gap zeroed); `slack` zeros follow the last plane so that vector
// reads past a tile's end stay inside the buffer. One work-item per destination plane (PoCL
// runs many tiny work-items slowly); the extra last work-item writes the slack.
__kernel void conv_pad(int planes, int H, int W, __global const float* src, int srcOffset,
                       int dH, int dW, int dPlane, int top, int left,
                       __global float* dst, int dstOffset, int slack) {
    int pl = get_global_id(0);
    if (pl > planes) return;
    if (pl == planes) {
        __global float* d = dst + dstOffset + (size_t)planes * dPlane;
        for (int i = 0; i < slack; i++) d[i] = 0.0f;
        return;
    }
    __global float* plane = dst + dstOffset + (size_t)pl * dPlane;
    for (int y = 0; y < dH; y++) {
        __global float* d = plane + y * dW;
        int h = y - top;
        if (h < 0 || h >= H) {
            for (int i = 0; i < dW; i++) d[i] = 0.0f;
            continue;
        }
        __global const float* s = src + srcOffset + ((size_t)pl * H + h) * W;
        if (left >= 0 && left + W <= dW) {
            // The usual case: zero border, interior copied as float16 vectors (unaligned).
            for (int i = 0; i < left; i++) d[i] = 0.0f;
            int i = 0;
            for (; i + 16 <= W; i += 16) vstore16(vload16(0, s + i), 0, d + left + i);
            for (; i < W; i++) d[left + i] = s[i];
            for (int j = left + W; j < dW; j++) d[j] = 0.0f;
        } else {
            // left < 0 is a crop (the input gradient when pad > R - 1).
            for (int i = 0; i < dW; i++) {
                int w = i - left;
                d[i] = (w >= 0 && w < W) ? s[w] : 0.0f;
            }
        }
    }
    for (int i = dH * dW; i < dPlane; i++) plane[i] = 0.0f;
}

// wt[c][k][r][s] = w[k][c][R-1-r][R-1-s]: the input gradient is a valid convolution of the
// dOutput padded by R-1-pad with these weights.
__kernel void conv_flip_weights(int K, int C, int R, __global const float* w, int offW,
                                __global float* wt, int wtOffset) {
    int i = get_global_id(0);
    int RR = R * R;
    if (i >= K * C * RR) return;
    int c = i / (K * RR), rem = i - c * K * RR;
    int k = rem / RR, rs = rem - k * RR;
    int r = rs / R, s = rs - r * R;
    wt[wtOffset + i] = w[offW + ((size_t)k * C + c) * RR + (R - 1 - r) * R + (R - 1 - s)];
}

// ---------- CPU style: register tile of MR output channels x NR positions, no local memory.
// out[n][k][p][q] = bias[k] + sum, then max(0, .) when relu.
// FLAT = 0 (row tiles): NR positions q0.. of one output row p; grid (P * ceil(Q/NR), ceil(K/MR), N).
// FLAT = 1 (flat-wide tiles): NR consecutive positions j0.. of the flat range [0, P*Wp), j = p*Wp + q,
// whatever rows they span; grid (ceil(P*Wp/NR), ceil(K/MR), N); the lanes with q >= Q or
// j >= P*Wp are not stored (a lane-by-lane store through a private copy, once per C*R*R fmas).
// Either way the lanes not stored read the next row (or the zero slack: at most NR + 2R floats
// past the last plane).
#ifndef FLAT
#define FLAT 0
#endif
__kernel void conv_fwd_cpu(int C, int Hp, int Wp, int K, int R, int P, int Q,
                           __global const float* xp, int xpOffset, __global const float* w, int offW,
                           __global const float* bias, int offB, int hasBias, int relu,
                           __global float* out, int offO) {
#if FLAT
    int j0 = get_global_id(0) * NR;
    int p = j0 / Wp, q0 = j0 - p * Wp;
    if (j0 >= P * Wp) return;
#else
    int qTiles = (Q + NR - 1) / NR;
    int p = get_global_id(0) / qTiles;
    int q0 = (get_global_id(0) - p * qTiles) * NR;
    if (p >= P) return;
#endif
    int k0 = get_global_id(1) * MR;
    int n = get_global_id(2);
    if (k0 >= K) return;
    int RR = R * R, plane = Hp * Wp;
    __global const float* x = xp + xpOffset + (size_t)n * C * plane + p * Wp + q0;
    __global const float* wr[MR];
    #pragma unroll
    for (int m = 0; m < MR; m++) wr[m] = w + offW + (size_t)min(k0 + m, K - 1) * C * RR;
    float16 acc[MR][NV];
    #pragma unroll
    for (int m = 0; m < MR; m++)
        #pragma unroll
        for (int v = 0; v < NV; v++) acc[m][v] = (float16)(0.0f);
    for (int c = 0; c < C; c++) {
        for (int r = 0; r < R; r++) {
            __global const float* xr = x + c * plane + r * Wp;
            int wo = c * RR + r * R;
            for (int s = 0; s < R; s++) {
                float16 b[NV];
                #pragma unroll
                for (int v = 0; v < NV; v++) b[v] = vload16(0, xr + s + 16 * v);
                #pragma unroll
                for (int m = 0; m < MR; m++) {
                    float16 a = (float16)(wr[m][wo + s]);
                    #pragma unroll
                    for (int v = 0; v < NV; v++) acc[m][v] = fma(a, b[v], acc[m][v]);
                }
            }
        }
    }
    #pragma unroll
    for (int m = 0; m < MR; m++) {
        int k = k0 + m;
        if (k >= K) continue;
        float16 bk = (float16)(hasBias ? bias[offB + k] : 0.0f);
#if FLAT
        float t[NR];
        #pragma unroll
        for (int v = 0; v < NV; v++) {
            float16 y = acc[m][v] + bk;
            if (relu) y = fmax(y, (float16)(0.0f));
            vstore16(y, 0, t + 16 * v);
        }
        __global float* o = out + offO + ((size_t)n * K + k) * P * Q;
        int pl = p, ql = q0;
        for (int l = 0; l < NR; l++) {
            if (ql < Q && pl < P) o[pl * Q + ql] = t[l];
            if (++ql == Wp) { ql = 0; pl++; }
        }
#else
        __global float* o = out + offO + (((size_t)n * K + k) * P + p) * Q + q0;
        #pragma unroll
        for (int v = 0; v < NV; v++) {
            float16 y = acc[m][v] + bk;
            if (relu) y = fmax(y, (float16)(0.0f));
            int left = Q - q0 - 16 * v;
            if (left >= 16) {
                vstore16(y, 0, o + 16 * v);
            } else if (left > 0) {
                float t[16];
                vstore16(y, 0, t);
                for (int l = 0; l < left; l++) o[16 * v + l] = t[l];
            }
        }
#endif
    }
}

// Weight gradient, CPU style. dyw: dOutput in the wide layout [N][K][PWr] (zeros at q >= Q and
// past P*Wp, PWr a multiple of 16). Each work-item: DMR filters x TC columns (c,r,s) over the
// images [g*chunk, (g+1)*chunk); writes partial sums part[g][k][crs] and, in the work-items with
// t0 = 0, partb[g][k] (the sum of the dOutput planes: the bias gradient; the dyw zeros add none).
#ifndef DMR
#define DMR 4
#endif
#ifndef TC
#define TC 4
#endif
__kernel void conv_dw_cpu(int C, int Hp, int Wp, int K, int R, int PWr, int N, int chunk,
                          __global const float* xp, int xpOffset, __global const float* dyw, int dywOffset,
                          __global float* part, int partOffset, __global float* partb, int partbOffset) {
    int t0 = get_global_id(0) * TC;
    int k0 = get_global_id(1) * DMR;
    int g = get_global_id(2);
    int RR = R * R, CRR = C * RR, plane = Hp * Wp;
    if (t0 >= CRR || k0 >= K) return;
    int off[TC];
    #pragma unroll
    for (int t = 0; t < TC; t++) {
        int crs = min(t0 + t, CRR - 1);
        int c = crs / RR, rs = crs - c * RR, r = rs / R, s = rs - r * R;
        off[t] = c * plane + r * Wp + s;
    }
    int km[DMR];
    #pragma unroll
    for (int m = 0; m < DMR; m++) km[m] = min(k0 + m, K - 1);
    float16 acc[DMR][TC], bacc[DMR];
    #pragma unroll
    for (int m = 0; m < DMR; m++) {
        bacc[m] = (float16)(0.0f);
        #pragma unroll
        for (int t = 0; t < TC; t++) acc[m][t] = (float16)(0.0f);
    }
    // The work-items of the first column tile also sum dOutput: the bias gradient.
    bool withBias = t0 == 0;
    int nEnd = min(N, (g + 1) * chunk);
    for (int n = g * chunk; n < nEnd; n++) {
        __global const float* x = xp + xpOffset + (size_t)n * C * plane;
        __global const float* dy = dyw + dywOffset + (size_t)n * K * PWr;
        for (int j = 0; j < PWr; j += 16) {
            float16 a[DMR], b[TC];
            #pragma unroll
            for (int m = 0; m < DMR; m++) a[m] = vload16(0, dy + km[m] * PWr + j);
            #pragma unroll
            for (int t = 0; t < TC; t++) b[t] = vload16(0, x + off[t] + j);
            #pragma unroll
            for (int m = 0; m < DMR; m++)
                #pragma unroll
                for (int t = 0; t < TC; t++) acc[m][t] = fma(a[m], b[t], acc[m][t]);
            if (withBias) {
                #pragma unroll
                for (int m = 0; m < DMR; m++) bacc[m] += a[m];
            }
        }
    }
    #pragma unroll
    for (int m = 0; m < DMR; m++) {
        if (k0 + m >= K) continue;
        #pragma unroll
        for (int t = 0; t < TC; t++) {
            if (t0 + t >= CRR) continue;
            float16 v = acc[m][t];
            float8 h8 = v.lo + v.hi; float4 h4 = h8.lo + h8.hi; float2 h2 = h4.lo + h4.hi;
            part[partOffset + ((size_t)g * K + k0 + m) * CRR + t0 + t] = h2.x + h2.y;
        }
        if (withBias) {
            float16 v = bacc[m];
            float8 h8 = v.lo + v.hi; float4 h4 = h8.lo + h8.hi; float2 h2 = h4.lo + h4.hi;
            partb[partbOffset + (size_t)g * K + k0 + m] = h2.x + h2.y;
        }
    }
}

// Weight gradient, CPU style, for Q a multiple of 16: dy = dOutput [N][K][P][Q] as it is; the
// 16 positions q..q+15 of row p meet Xp[n][c][(p + r)*Wp + q + s ...]. Same tiles, grid and
// partial sums (weight and bias) as conv_dw_cpu; no read past a row of dy, nor past an image of Xp.
__kernel void conv_dw_rows_cpu(int C, int Hp, int Wp, int K, int R, int Q, int N, int chunk,
                               __global const float* xp, int xpOffset, __global const float* dy, int dyOffset,
                               __global float* part, int partOffset, __global float* partb, int partbOffset) {
    int t0 = get_global_id(0) * TC;
    int k0 = get_global_id(1) * DMR;
    int g = get_global_id(2);
    int RR = R * R, CRR = C * RR, plane = Hp * Wp, P = Hp - R + 1, PQ = P * Q;
    if (t0 >= CRR || k0 >= K) return;
    int off[TC];
    #pragma unroll
    for (int t = 0; t < TC; t++) {
        int crs = min(t0 + t, CRR - 1);
        int c = crs / RR, rs = crs - c * RR, r = rs / R, s = rs - r * R;
        off[t] = c * plane + r * Wp + s;
    }
    int km[DMR];
    #pragma unroll
    for (int m = 0; m < DMR; m++) km[m] = min(k0 + m, K - 1);
    float16 acc[DMR][TC], bacc[DMR];
    #pragma unroll
    for (int m = 0; m < DMR; m++) {
        bacc[m] = (float16)(0.0f);
        #pragma unroll
        for (int t = 0; t < TC; t++) acc[m][t] = (float16)(0.0f);
    }
    // The work-items of the first column tile also sum dOutput: the bias gradient.
    bool withBias = t0 == 0;
    int nEnd = min(N, (g + 1) * chunk);
    for (int n = g * chunk; n < nEnd; n++) {
        __global const float* x = xp + xpOffset + (size_t)n * C * plane;
        __global const float* d = dy + dyOffset + (size_t)n * K * PQ;
        for (int p = 0; p < P; p++) {
            for (int q = 0; q < Q; q += 16) {
                float16 a[DMR], b[TC];
                #pragma unroll
                for (int m = 0; m < DMR; m++) a[m] = vload16(0, d + km[m] * PQ + p * Q + q);
                #pragma unroll
                for (int t = 0; t < TC; t++) b[t] = vload16(0, x + off[t] + p * Wp + q);
                #pragma unroll
                for (int m = 0; m < DMR; m++)
                    #pragma unroll
                    for (int t = 0; t < TC; t++) acc[m][t] = fma(a[m], b[t], acc[m][t]);
                if (withBias) {
                    #pragma unroll
                    for (int m = 0; m < DMR; m++) bacc[m] += a[m];
                }
            }
        }
    }
    #pragma unroll
    for (int m = 0; m < DMR; m++) {
        if (k0 + m >= K) continue;
        #pragma unroll
        for (int t = 0; t < TC; t++) {
            if (t0 + t >= CRR) continue;
            float16 v = acc[m][t];
            float8 h8 = v.lo + v.hi; float4 h4 = h8.lo + h8.hi; float2 h2 = h4.lo + h4.hi;
            part[partOffset + ((size_t)g * K + k0 + m) * CRR + t0 + t] = h2.x + h2.y;
        }
        if (withBias) {
            float16 v = bacc[m];
            float8 h8 = v.lo + v.hi; float4 h4 = h8.lo + h8.hi; float2 h2 = h4.lo + h4.hi;
            partb[partbOffset + (size_t)g * K + k0 + m] = h2.x + h2.y;
        }
    }
}

// dst[dstOffset + i] = sum_g part[partOffset + g*count + i] for i < count: the partial sums of
// the weight (or bias) gradient. Each work-item sums 16 consecutive outputs (float16 loads).
__kernel void conv_reduce(int count, int groups, __global const float* part, int partOffset,
                          __global float* dst, int dstOffset) {
    int i0 = get_global_id(0) * 16;
    if (i0 >= count) return;
    __global const float* p = part + partOffset + i0;
    if (i0 + 16 <= count) {
        float16 s = (float16)(0.0f);
        for (int g = 0; g < groups; g++) s += vload16(0, p + (size_t)g * count);
        vstore16(s, 0, dst + dstOffset + i0);
    } else {
        for (int i = 0; i < count - i0; i++) {
            float s = 0.0f;
            for (int g = 0; g < groups; g++) s += p[(size_t)g * count + i];
            dst[dstOffset + i0 + i] = s;
        }
    }
}

// ---------- GPU style: implicit GEMM with local-memory tiles and WM x WN register blocks.
// Work-group (TN/WN, TM/WM). Forward per image n (dim 2): out[k][pq] = sum_crs w[k][crs] * x(crs, pq),
// x(crs, pq) = input[n][c][p + r - pad][q + s - pad] (0 outside); reads are bounds-checked, so no
// padded copy is needed. The input gradient uses it too, on dOutput with pad' = R-1-pad and the
// flipped weights.
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

// x(crs, pq) of one image xn [C][H][W]: crs = (c*R + r)*R + s, pq = p*Q + q; 0 where
// (p + r - pad, q + s - pad) falls outside the image (the zero padding, never stored).
inline float conv_input_at(__global const float* xn, int H, int W, int R, int pad, int Q, int crs, int pq) {
    int RR = R * R;
    int c = crs / RR, rs = crs - c * RR, r = rs / R, s = rs - r * R;
    int p = pq / Q, q = pq - p * Q;
    int h = p + r - pad, w = q + s - pad;
    return (h >= 0 && h < H && w >= 0 && w < W) ? xn[((size_t)c * H + h) * W + w] : 0.0f;
}

__kernel __attribute__((reqd_work_group_size(LN, LM, 1)))
void conv_fwd_gpu(int C, int H, int W, int K, int R, int pad, int P, int Q,
                  __global const float* x, int offX, __global const float* w, int offW,
                  __global const float* bias, int offB, int hasBias, int relu,
                  __global float* out, int offO) {
    __local float As[TK][TM + 1];
    __local float Bs[TK][TN + 1];
    int tx = get_local_id(0), ty = get_local_id(1), tid = ty * LN + tx;
    int n = get_group_id(2);
    int k0 = get_group_id(1) * TM, j0 = get_group_id(0) * TN;
    int RR = R * R, CRR = C * RR, PQ = P * Q;
    __global const float* xn = x + offX + (size_t)n * C * H * W;
    float acc[WM][WN];
    for (int a = 0; a < WM; a++) for (int b = 0; b < WN; b++) acc[a][b] = 0.0f;
    for (int t0 = 0; t0 < CRR; t0 += TK) {
        for (int e = tid; e < TK * TM; e += LM * LN) {
            int kk = e % TK, ii = e / TK;
            int gk = k0 + ii, gt = t0 + kk;
            As[kk][ii] = (gk < K && gt < CRR) ? w[offW + (size_t)gk * CRR + gt] : 0.0f;
        }
        for (int e = tid; e < TK * TN; e += LM * LN) {
            int jj = e % TN, kk = e / TN;
            int gj = j0 + jj, gt = t0 + kk;
            Bs[kk][jj] = (gj < PQ && gt < CRR) ? conv_input_at(xn, H, W, R, pad, Q, gt, gj) : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TK; kk++) {
            float ra[WM], rb[WN];
            for (int a = 0; a < WM; a++) ra[a] = As[kk][ty + a * LM];
            for (int b = 0; b < WN; b++) rb[b] = Bs[kk][tx + b * LN];
            for (int a = 0; a < WM; a++) for (int b = 0; b < WN; b++) acc[a][b] = fma(ra[a], rb[b], acc[a][b]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int a = 0; a < WM; a++) {
        int k = k0 + ty + a * LM;
        if (k >= K) continue;
        float bk = hasBias ? bias[offB + k] : 0.0f;
        for (int b = 0; b < WN; b++) {
            int j = j0 + tx + b * LN;
            if (j >= PQ) continue;
            float y = acc[a][b] + bk;
            out[offO + ((size_t)n * K + k) * PQ + j] = relu ? fmax(y, 0.0f) : y;
        }
    }
}

// Weight gradient, GPU style: part[g][k][crs] = sum over images of chunk g (dim 2) and positions
// pq of dOutput[n][k][pq] * x(crs, pq).
__kernel __attribute__((reqd_work_group_size(LN, LM, 1)))
void conv_dw_gpu(int C, int H, int W, int K, int R, int pad, int P, int Q, int N, int chunk,
                 __global const float* x, int offX, __global const float* dy, int offDy,
                 __global float* part, int partOffset) {
    __local float As[TK][TM + 1];
    __local float Bs[TK][TN + 1];
    int tx = get_local_id(0), ty = get_local_id(1), tid = ty * LN + tx;
    int g = get_group_id(2);
    int k0 = get_group_id(1) * TM, t0 = get_group_id(0) * TN;
    int RR = R * R, CRR = C * RR, PQ = P * Q;
    float acc[WM][WN];
    for (int a = 0; a < WM; a++) for (int b = 0; b < WN; b++) acc[a][b] = 0.0f;
    int nEnd = min(N, (g + 1) * chunk);
    for (int n = g * chunk; n < nEnd; n++) {
        __global const float* xn = x + offX + (size_t)n * C * H * W;
        __global const float* dyn = dy + offDy + (size_t)n * K * PQ;
        for (int j0 = 0; j0 < PQ; j0 += TK) {
            for (int e = tid; e < TK * TM; e += LM * LN) {
                int kk = e % TK, ii = e / TK;
                int gk = k0 + ii, gj = j0 + kk;
                As[kk][ii] = (gk < K && gj < PQ) ? dyn[(size_t)gk * PQ + gj] : 0.0f;
            }
            for (int e = tid; e < TK * TN; e += LM * LN) {
                int kk = e % TK, tt = e / TK;
                int gt = t0 + tt, gj = j0 + kk;
                Bs[kk][tt] = (gj < PQ && gt < CRR) ? conv_input_at(xn, H, W, R, pad, Q, gt, gj) : 0.0f;
            }
            barrier(CLK_LOCAL_MEM_FENCE);
            for (int kk = 0; kk < TK; kk++) {
                float ra[WM], rb[WN];
                for (int a = 0; a < WM; a++) ra[a] = As[kk][ty + a * LM];
                for (int b = 0; b < WN; b++) rb[b] = Bs[kk][tx + b * LN];
                for (int a = 0; a < WM; a++) for (int b = 0; b < WN; b++) acc[a][b] = fma(ra[a], rb[b], acc[a][b]);
            }
            barrier(CLK_LOCAL_MEM_FENCE);
        }
    }
    for (int a = 0; a < WM; a++) {
        int k = k0 + ty + a * LM;
        if (k >= K) continue;
        for (int b = 0; b < WN; b++) {
            int t = t0 + tx + b * LN;
            if (t < CRR) part[partOffset + ((size_t)g * K + k) * CRR + t] = acc[a][b];
        }
    }
}
