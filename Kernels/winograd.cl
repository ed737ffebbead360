// Winograd F(2x2, 3x3) convolution (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
// Networks"), stride 1, 3x3 filters, CPU style only (float16 vectors, no local memory, no
// barriers). An alternative to conv.cl's direct kernel that the tuner measures per layer class
// (see Sources/SynapseOpenCL/Winograd.swift and docs/kernels.md).
//
// Each 2x2 output tile Y of one output channel k is  Y = A^T [ sum_c U[k][c] .* V[c] ] A  with
//   U[k][c] = G g[k][c] G^T   (4x4, the filter transformed once per call: wino_filter)
//   V[c]    = B^T d[c] B      (4x4, d the 4x4 input patch under the tile, rows 2ty.., cols 2tx..)
// so the 16 elements xi of the 4x4 domain are 16 independent products M[xi] = U[xi] V[xi] of
// (filters x channels) by (channels x tiles): 16 multiplies per tile and channel pair instead of
// the direct 36.
//
// Fused, cache-blocked layout (wino_fwd_cpu): one work-item takes NV blocks of 16 tiles of one
// image (a float16 vector each, one tile per lane: 16 tiles of a tile row, or TG = 2 or 4 tile
// rows of TW <= 16/TG tiles, 16/TG lanes each), and
//   1. transforms their input for all CH channels into a private scratch V[16][CH][NV] of
//      float16 (NV * CH KiB: an L1/L2-sized block; the patch columns come from vector loads of
//      the rows and constant .even/.odd swizzles, which compile to permutes),
//   2. for each block of MR filters and each xi, accumulates MR x NV float16 sums over the
//      channels (NV vector loads of V, MR broadcasts of U, MR * NV fmas), kept in a scratch
//      M[16][MR][NV],
//   3. output-transforms M into the 2x2 tiles, adds the bias, applies ReLU, interleaves the two
//      columns of each tile back into rows, and stores.
// The input comes padded (wino_pad): planes of Hq = 2*TH + 2 rows of Wq = 2*TW + 2 floats, zeros
// around and zero slack after the last plane, so that every load of a tile that exists reads its
// true patch and a lane past the last tile only reads finite numbers it never stores. A pad-0
// input is read in its own layout (Hq = H, Wq = W): when P or Q is odd, the last tile's 4th patch
// row or column then lies past the plane or row (the next one's data, or the slack), and it only
// enters the tile's 2nd output row or column, which is not stored (A^T's first row is 1, 1, 1, 0).

#ifndef MR
#define MR 16
#endif
#ifndef CH
#define CH 32
#endif
#ifndef TG
#define TG 1
#endif
#ifndef NV
#define NV 1
#endif

// dst[pl][y][x] = src[pl][y - pad][x - pad] (zero outside), planes of Hq x Wq (Hq >= H + pad,
// Wq >= W + pad); the extra last work-item writes `slack` zeros after the last plane. One
// work-item per plane (PoCL runs many tiny work-items slowly), rows copied as float16 vectors.
__kernel void wino_pad(int planes, int H, int W, int pad, int Hq, int Wq,
                       __global const float* src, int srcOffset, __global float* dst, int dstOffset, int slack) {
    int pl = get_global_id(0);
    if (pl > planes) return;
    if (pl == planes) {
        for (int i = 0; i < slack; i++) dst[dstOffset + (size_t)pl * Hq * Wq + i] = 0.0f;
        return;
    }
    __global float* plane = dst + dstOffset + (size_t)pl * Hq * Wq;
    for (int y = 0; y < Hq; y++) {
        __global float* d = plane + y * Wq;
        int h = y - pad;
        if (h < 0 || h >= H) {
            for (int i = 0; i < Wq; i++) d[i] = 0.0f;
            continue;
        }
        __global const float* s = src + srcOffset + ((size_t)pl * H + h) * W;
        for (int i = 0; i < pad; i++) d[i] = 0.0f;
        int i = 0;
        for (; i + 16 <= W; i += 16) vstore16(vload16(0, s + i), 0, d + pad + i);
        for (; i < W; i++) d[pad + i] = s[i];
        for (int j = pad + W; j < Wq; j++) d[j] = 0.0f;
    }
}

// U[(xi * E + c) * Kp + k] = (G g G^T)[xi] for filter k < F of channel c (zeros for F <= k < Kp),
// g = w[k][c] (flip = 0: a forward convolution with w [F][E][3][3]) or the input gradient's
// flipped, transposed weight w[c][k][2 - r][2 - s] (flip = 1: w is the forward [E][F][3][3]).
__kernel void wino_filter(int F, int E, int Kp, int flip, __global const float* w, int offW,
                          __global float* U, int offU) {
    int i = get_global_id(0);
    if (i >= Kp * E) return;
    int c = i / Kp, k = i - c * Kp;
    float g[3][3];
    for (int r = 0; r < 3; r++)
        for (int s = 0; s < 3; s++)
            g[r][s] = k >= F ? 0.0f
                    : flip ? w[offW + ((size_t)c * F + k) * 9 + (2 - r) * 3 + (2 - s)]
                           : w[offW + ((size_t)k * E + c) * 9 + r * 3 + s];
    float t[4][3];
    for (int s = 0; s < 3; s++) {
        t[0][s] = g[0][s];
        t[1][s] = 0.5f * (g[0][s] + g[1][s] + g[2][s]);
        t[2][s] = 0.5f * (g[0][s] - g[1][s] + g[2][s]);
        t[3][s] = g[2][s];
    }
    for (int a = 0; a < 4; a++) {
        float u0 = t[a][0], u1 = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
        float u2 = 0.5f * (t[a][0] - t[a][1] + t[a][2]), u3 = t[a][2];
        __global float* o = U + offU + ((size_t)(a * 4) * E + c) * Kp + k;
        o[0] = u0;
        o[(size_t)E * Kp] = u1;
        o[(size_t)2 * E * Kp] = u2;
        o[(size_t)3 * E * Kp] = u3;
    }
}

// The first n floats of z to o (n <= 16).
inline void store_part(float16 z, __global float* o, int n) {
    if (n >= 16) {
        vstore16(z, 0, o);
    } else if (n > 0) {
        float b[16];
        vstore16(z, 0, b);
        for (int i = 0; i < n; i++) o[i] = b[i];
    }
}

// The first n floats of z to o (n <= 8).
inline void store_part8(float8 z, __global float* o, int n) {
    if (n >= 8) {
        vstore8(z, 0, o);
    } else if (n > 0) {
        float b[8];
        vstore8(z, 0, b);
        for (int i = 0; i < n; i++) o[i] = b[i];
    }
}

// Lanes interleaved: (a0, b0, a1, b1, ...) of the low or high halves (constant swizzles, so the
// compiler emits permutes; shuffle2 with a computed mask became scalar inserts on PoCL).
inline float16 zip_lo(float16 a, float16 b) {
    return (float16)(a.s0, b.s0, a.s1, b.s1, a.s2, b.s2, a.s3, b.s3,
                     a.s4, b.s4, a.s5, b.s5, a.s6, b.s6, a.s7, b.s7);
}
inline float16 zip_hi(float16 a, float16 b) {
    return (float16)(a.s8, b.s8, a.s9, b.s9, a.sa, b.sa, a.sb, b.sb,
                     a.sc, b.sc, a.sd, b.sd, a.se, b.se, a.sf, b.sf);
}
inline float8 zip4(float4 a, float4 b) {
    return (float8)(a.s0, b.s0, a.s1, b.s1, a.s2, b.s2, a.s3, b.s3);
}
// Lanes 4g .. 4g + 3 of v.
inline float4 quarter(float16 v, int g) {
    return g == 0 ? v.s0123 : g == 1 ? v.s4567 : g == 2 ? v.s89ab : v.scdef;
}

// grid (ceil(blocks / NV), N): a work-item takes NV consecutive tile blocks (one float16 vector
// each; a block past the last is computed on a clamped index and not stored). TG == 1: block =
// (tile row ty, 16 tile columns from tx0); TG > 1 (TW <= 16 / TG): block = TG tile rows from ty0,
// lane l = tile (ty0 + l / (16 / TG), l % (16 / TG)). xq: padded input [N][CH][Hq][Wq] (+ slack); U from wino_filter;
// out [N][K][P][Q].
__kernel void wino_fwd_cpu(int K, int Kp, int P, int Q, int TH, int TW, int Hq, int Wq, int blocks,
                           __global const float* xq, int xqOffset, __global const float* U, int offU,
                           __global const float* bias, int offB, int hasBias, int relu,
                           __global float* out, int offO) {
    int colBlocks = TG == 1 ? (TW + 15) / 16 : 1;
    int n = get_global_id(1);
    int b0 = get_global_id(0) * NV;
    if (b0 >= blocks) return;
    int ty0[NV], tx0[NV];
    bool live[NV];
    #pragma unroll
    for (int v = 0; v < NV; v++) {
        int block = min(b0 + v, blocks - 1);
        live[v] = b0 + v < blocks;
        ty0[v] = (block / colBlocks) * TG;
        tx0[v] = (block - (block / colBlocks) * colBlocks) * 16;
    }
    int plane = Hq * Wq;
    __global const float* x = xq + xqOffset + (size_t)n * CH * plane;

    float16 V[16 * CH * NV];
    for (int v = 0; v < NV; v++) {
        for (int c = 0; c < CH; c++) {
            // d[i][j]: patch row i, column j of every lane's tile. TG == 1: lane l = tile column
            // tx0 + l; TG = 2 or 4: lanes [g * 16 / TG, (g + 1) * 16 / TG) = tile row ty0 + g,
            // columns 0 .. 16 / TG - 1 (lanes past TW computed, not stored).
            float16 d[4][4];
            #pragma unroll
            for (int i = 0; i < 4; i++) {
                __global const float* base = x + c * plane + 2 * tx0[v];
#if TG == 1
                __global const float* row = base + (2 * ty0[v] + i) * Wq;
                float16 a = vload16(0, row), b = vload16(0, row + 16);
                float16 a2 = vload16(0, row + 2), b2 = vload16(0, row + 18);
                d[i][0] = (float16)(a.even, b.even); d[i][1] = (float16)(a.odd, b.odd);
                d[i][2] = (float16)(a2.even, b2.even); d[i][3] = (float16)(a2.odd, b2.odd);
#elif TG == 2
                __global const float* r0 = base + (2 * ty0[v] + i) * Wq;
                __global const float* r1 = base + (2 * min(ty0[v] + 1, TH - 1) + i) * Wq;
                float16 a = vload16(0, r0), a2 = vload16(0, r0 + 2);
                float16 c0 = vload16(0, r1), c2 = vload16(0, r1 + 2);
                d[i][0] = (float16)(a.even, c0.even); d[i][1] = (float16)(a.odd, c0.odd);
                d[i][2] = (float16)(a2.even, c2.even); d[i][3] = (float16)(a2.odd, c2.odd);
#else
                float4 q[4][4];
                #pragma unroll
                for (int g = 0; g < 4; g++) {
                    __global const float* r = base + (2 * min(ty0[v] + g, TH - 1) + i) * Wq;
                    float16 a = vload16(0, r);
                    q[g][0] = a.s0246; q[g][1] = a.s1357; q[g][2] = a.s2468; q[g][3] = a.s3579;
                }
                #pragma unroll
                for (int j = 0; j < 4; j++) d[i][j] = (float16)(q[0][j], q[1][j], q[2][j], q[3][j]);
#endif
            }
            // B^T d B: rows, then columns.
            float16 w[4][4];
            #pragma unroll
            for (int j = 0; j < 4; j++) {
                w[0][j] = d[0][j] - d[2][j];
                w[1][j] = d[1][j] + d[2][j];
                w[2][j] = d[2][j] - d[1][j];
                w[3][j] = d[1][j] - d[3][j];
            }
            #pragma unroll
            for (int i = 0; i < 4; i++) {
                V[((4 * i + 0) * CH + c) * NV + v] = w[i][0] - w[i][2];
                V[((4 * i + 1) * CH + c) * NV + v] = w[i][1] + w[i][2];
                V[((4 * i + 2) * CH + c) * NV + v] = w[i][2] - w[i][1];
                V[((4 * i + 3) * CH + c) * NV + v] = w[i][1] - w[i][3];
            }
        }
    }

    for (int k0 = 0; k0 < K; k0 += MR) {
        float16 M[16][MR][NV];
        for (int xi = 0; xi < 16; xi++) {
            float16 acc[MR][NV];
            #pragma unroll
            for (int m = 0; m < MR; m++)
                #pragma unroll
                for (int v = 0; v < NV; v++) acc[m][v] = (float16)(0.0f);
            __global const float* u = U + offU + (size_t)xi * CH * Kp + k0;
            const float16* vx = V + xi * CH * NV;
            for (int c = 0; c < CH; c++) {
                float16 vc[NV];
                #pragma unroll
                for (int v = 0; v < NV; v++) vc[v] = vx[c * NV + v];
                #pragma unroll
                for (int m = 0; m < MR; m++) {
                    float16 a = (float16)(u[c * Kp + m]);
                    #pragma unroll
                    for (int v = 0; v < NV; v++) acc[m][v] = fma(a, vc[v], acc[m][v]);
                }
            }
            #pragma unroll
            for (int m = 0; m < MR; m++)
                #pragma unroll
                for (int v = 0; v < NV; v++) M[xi][m][v] = acc[m][v];
        }
        for (int m = 0; m < MR; m++) {
            int k = k0 + m;
            if (k >= K) break;
            float16 bk = (float16)(hasBias ? bias[offB + k] : 0.0f);
            #pragma unroll
            for (int v = 0; v < NV; v++) {
                if (!live[v]) continue;
                // A^T M A.
                float16 t0[4], t1[4];
                #pragma unroll
                for (int j = 0; j < 4; j++) {
                    t0[j] = M[j][m][v] + M[4 + j][m][v] + M[8 + j][m][v];
                    t1[j] = M[4 + j][m][v] - M[8 + j][m][v] - M[12 + j][m][v];
                }
                float16 y00 = t0[0] + t0[1] + t0[2] + bk, y01 = t0[1] - t0[2] - t0[3] + bk;
                float16 y10 = t1[0] + t1[1] + t1[2] + bk, y11 = t1[1] - t1[2] - t1[3] + bk;
                if (relu) {
                    y00 = fmax(y00, (float16)(0.0f)); y01 = fmax(y01, (float16)(0.0f));
                    y10 = fmax(y10, (float16)(0.0f)); y11 = fmax(y11, (float16)(0.0f));
                }
                int P2 = P - 2 * ty0[v];  // output rows from the block's first
                __global float* o = out + offO + (((size_t)n * K + k) * P + 2 * ty0[v]) * Q;
#if TG == 1
                // Lanes 0..15 are the tiles at columns 2 (tx0 + l): interleave the two columns.
                int q0 = 2 * tx0[v], left = Q - q0;
                store_part(zip_lo(y00, y01), o + q0, left);
                store_part(zip_hi(y00, y01), o + q0 + 16, left - 16);
                if (P2 > 1) {
                    store_part(zip_lo(y10, y11), o + Q + q0, left);
                    store_part(zip_hi(y10, y11), o + Q + q0 + 16, left - 16);
                }
#elif TG == 2
                // Lanes 0..7: tile row ty0, 8..15: ty0 + 1 (Q <= 16).
                store_part(zip_lo(y00, y01), o, Q);
                if (P2 > 1) store_part(zip_lo(y10, y11), o + Q, Q);
                if (P2 > 2) store_part(zip_hi(y00, y01), o + 2 * Q, Q);
                if (P2 > 3) store_part(zip_hi(y10, y11), o + 3 * Q, Q);
#else
                // Lanes 4g .. 4g + 3: tile row ty0 + g (Q <= 8).
                #pragma unroll
                for (int g = 0; g < 4; g++) {
                    if (2 * g < P2) store_part8(zip4(quarter(y00, g), quarter(y01, g)), o + 2 * g * Q, Q);
                    if (2 * g + 1 < P2) store_part8(zip4(quarter(y10, g), quarter(y11, g)), o + (2 * g + 1) * Q, Q);
                }
#endif
            }
        }
    }
}
