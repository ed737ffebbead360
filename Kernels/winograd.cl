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
//      columns of each tile back into rows, and stores (an input gradient with the ReLU backward
//      of the layer below: zero where that layer's output, read beside the store, is not > 0).
// The input is read in its own layout [N][CH][H][W], zero-padded by PAD (a define) on the fly (no padded
// copy): the tile loader reads each patch row with vector loads starting PAD columns left of the
// tile; with PAD > 0 it zeroes the lanes whose column lies outside [0, W) (masks computed once per
// block) and rows outside [0, H) are zeros without a load. A lane past the last tile computes on
// whatever its loads bring and is not stored. A PAD = 0 input needs no masks: a patch reaches past a
// row or the plane only for the last tile when Q or P is odd, and that 4th patch column or row
// (the next row's or plane's data) only enters the tile's 2nd output column or row, which is not
// stored (A^T's first row is 1, 1, 1, 0). Loads never leave [0, count) of the input: the few rows
// at the tensor's two ends whose vector loads would (the first rows of image 0 with PAD > 0, the
// last rows of image N - 1) are gathered lane by lane.

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
#ifndef PAD
#define PAD 0
#endif

// Floats a patch row's vector loads span from its first: 34 (TG == 1), 18 (TG == 2), 16 (TG == 4).
#define ROW_SPAN (TG == 1 ? 34 : TG == 2 ? 18 : 16)

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

// The first n floats of z to o (n <= 16); when mk is not null (the ReLU backward of the layer
// below), each zeroed where the float at the same offset from mk is not > 0 (relu_backward's rule).
inline void store_part(float16 z, __global float* o, int n, __global const float* mk) {
    if (n >= 16) {
        if (mk) z = select((float16)(0.0f), z, vload16(0, mk) > (float16)(0.0f));
        vstore16(z, 0, o);
    } else if (n > 0) {
        float b[16];
        if (mk) {
            float m[16];
            for (int i = 0; i < 16; i++) m[i] = i < n ? mk[i] : 0.0f;
            z = select((float16)(0.0f), z, vload16(0, m) > (float16)(0.0f));
        }
        vstore16(z, 0, b);
        for (int i = 0; i < n; i++) o[i] = b[i];
    }
}

// The same for n <= 8 floats of a float8.
inline void store_part8(float8 z, __global float* o, int n, __global const float* mk) {
    if (n >= 8) {
        if (mk) z = select((float8)(0.0f), z, vload8(0, mk) > (float8)(0.0f));
        vstore8(z, 0, o);
    } else if (n > 0) {
        float b[8];
        if (mk) {
            float m[8];
            for (int i = 0; i < 8; i++) m[i] = i < n ? mk[i] : 0.0f;
            z = select((float8)(0.0f), z, vload8(0, m) > (float8)(0.0f));
        }
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

// Lanes whose column first + lane lies in [0, W).
inline int16 columns_inside(int first, int W) {
    const int16 column = (int16)(first) + (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return (column >= (int16)(0)) & (column < (int16)(W));
}

// xs[at .. at + 15] lane by lane, reading only inside [0, count) of xs, with PAD > 0 the lanes
// whose column (first + lane) lies outside [0, W) zero (lanes outside [0, count) are outside the
// plane row being read). For the rows at the tensor's two ends, where a vector load would leave
// [0, count). The column mask is recomputed here rather than passed, so that the common path
// does not keep it live (with PAD = 0 it is not needed at all).
inline float16 load16_gathered(__global const float* xs, int at, int count, int first, int W) {
    float b[16];
    for (int l = 0; l < 16; l++) b[l] = at + l >= 0 && at + l < count ? xs[at + l] : 0.0f;
    return PAD != 0 ? select((float16)(0.0f), vload16(0, b), columns_inside(first, W)) : vload16(0, b);
}

// grid (ceil(blocks / NV), N): a work-item takes NV consecutive tile blocks (one float16 vector
// each; a block past the last is computed on a clamped index and not stored). TG == 1: block =
// (tile row ty, 16 tile columns from tx0); TG > 1 (TW <= 16 / TG): block = TG tile rows from ty0,
// lane l = tile (ty0 + l / (16 / TG), l % (16 / TG)). x: input [N][CH][H][W], `count` floats,
// read as padded by PAD; U from wino_filter; out [N][K][P][Q]; when hasMask, each stored value is
// zeroed where mask (out's shape: the output of the ReLU below an input gradient) is not > 0.
__kernel void wino_fwd_cpu(int K, int Kp, int P, int Q, int TH, int TW, int H, int W, int count,
                           int blocks, __global const float* x, int xOffset, __global const float* U, int offU,
                           __global const float* bias, int offB, int hasBias, int relu,
                           __global const float* mask, int offMask, int hasMask, __global float* out, int offO) {
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
    int plane = H * W;
    __global const float* xs = x + xOffset;
    const float16 zero = (float16)(0.0f);

    float16 V[16 * CH * NV];
    for (int v = 0; v < NV; v++) {
        // Padded column 2 tx0 + j is input column 2 tx0 + j - PAD; the masks of the loads at
        // j = 0, 2, 16, 18 (TG == 1) or 0, 2 (TG > 1, tx0 = 0).
        int x0 = 2 * tx0[v] - PAD;
        // Whether every row load of this block, all channels, stays inside [0, count) (all but
        // the blocks at the tensor's two ends): then no row needs checking.
        int firstRow = 2 * ty0[v] - PAD, lastRow = 2 * min(ty0[v] + TG - 1, TH - 1) + 3 - PAD;
        bool inside = (n * CH * plane + x0 + firstRow * W >= 0)
                      && ((n * CH + CH - 1) * plane + x0 + lastRow * W + ROW_SPAN <= count);
        int16 in0 = columns_inside(x0, W), in2 = columns_inside(x0 + 2, W);
#if TG == 1
        int16 in16 = columns_inside(x0 + 16, W), in18 = columns_inside(x0 + 18, W);
#endif
        for (int c = 0; c < CH; c++) {
            // d[i][j]: patch row i, column j of every lane's tile. TG == 1: lane l = tile column
            // tx0 + l; TG = 2 or 4: lanes [g * 16 / TG, (g + 1) * 16 / TG) = tile row ty0 + g,
            // columns 0 .. 16 / TG - 1 (lanes past TW computed, not stored).
            float16 d[4][4];
            int planeStart = (n * CH + c) * plane + x0;
            #pragma unroll
            for (int i = 0; i < 4; i++) {
#if TG == 1
                int y = 2 * ty0[v] + i - PAD;
                float16 a = zero, b = zero, a2 = zero, b2 = zero;
                if (PAD == 0 || (y >= 0 && y < H)) {
                    int at = planeStart + y * W;
                    if (inside || (at >= 0 && at + 34 <= count)) {
                        a = vload16(0, xs + at); b = vload16(0, xs + at + 16);
                        a2 = vload16(0, xs + at + 2); b2 = vload16(0, xs + at + 18);
                        if (PAD != 0) {
                            a = select(zero, a, in0); b = select(zero, b, in16);
                            a2 = select(zero, a2, in2); b2 = select(zero, b2, in18);
                        }
                    } else {
                        a = load16_gathered(xs, at, count, x0, W); b = load16_gathered(xs, at + 16, count, x0 + 16, W);
                        a2 = load16_gathered(xs, at + 2, count, x0 + 2, W); b2 = load16_gathered(xs, at + 18, count, x0 + 18, W);
                    }
                }
                d[i][0] = (float16)(a.even, b.even); d[i][1] = (float16)(a.odd, b.odd);
                d[i][2] = (float16)(a2.even, b2.even); d[i][3] = (float16)(a2.odd, b2.odd);
#elif TG == 2
                // Tile rows ty0 and ty0 + 1 (clamped): lanes 0-7 and 8-15.
                float16 a[2], a2[2];
                #pragma unroll
                for (int g = 0; g < 2; g++) {
                    int y = 2 * min(ty0[v] + g, TH - 1) + i - PAD;
                    a[g] = zero; a2[g] = zero;
                    if (PAD == 0 || (y >= 0 && y < H)) {
                        int at = planeStart + y * W;
                        if (inside || (at >= 0 && at + 18 <= count)) {
                            a[g] = vload16(0, xs + at); a2[g] = vload16(0, xs + at + 2);
                            if (PAD != 0) { a[g] = select(zero, a[g], in0); a2[g] = select(zero, a2[g], in2); }
                        } else {
                            a[g] = load16_gathered(xs, at, count, x0, W); a2[g] = load16_gathered(xs, at + 2, count, x0 + 2, W);
                        }
                    }
                }
                d[i][0] = (float16)(a[0].even, a[1].even); d[i][1] = (float16)(a[0].odd, a[1].odd);
                d[i][2] = (float16)(a2[0].even, a2[1].even); d[i][3] = (float16)(a2[0].odd, a2[1].odd);
#else
                float4 q[4][4];
                #pragma unroll
                for (int g = 0; g < 4; g++) {
                    int y = 2 * min(ty0[v] + g, TH - 1) + i - PAD;
                    int at = planeStart + y * W;
                    float16 a = zero;
                    if (PAD == 0 || (y >= 0 && y < H)) {
                        if (inside || (at >= 0 && at + 16 <= count)) {
                            a = vload16(0, xs + at);
                            if (PAD != 0) a = select(zero, a, in0);
                        } else {
                            a = load16_gathered(xs, at, count, x0, W);
                        }
                    }
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
                size_t at = (((size_t)n * K + k) * P + 2 * ty0[v]) * Q;
                __global float* o = out + offO + at;
                __global const float* mk = hasMask ? mask + offMask + at : 0;
#if TG == 1
                // Lanes 0..15 are the tiles at columns 2 (tx0 + l): interleave the two columns.
                int q0 = 2 * tx0[v], left = Q - q0;
                store_part(zip_lo(y00, y01), o + q0, left, mk ? mk + q0 : 0);
                store_part(zip_hi(y00, y01), o + q0 + 16, left - 16, mk ? mk + q0 + 16 : 0);
                if (P2 > 1) {
                    store_part(zip_lo(y10, y11), o + Q + q0, left, mk ? mk + Q + q0 : 0);
                    store_part(zip_hi(y10, y11), o + Q + q0 + 16, left - 16, mk ? mk + Q + q0 + 16 : 0);
                }
#elif TG == 2
                // Lanes 0..7: tile row ty0, 8..15: ty0 + 1 (Q <= 16).
                store_part(zip_lo(y00, y01), o, Q, mk);
                if (P2 > 1) store_part(zip_lo(y10, y11), o + Q, Q, mk ? mk + Q : 0);
                if (P2 > 2) store_part(zip_hi(y00, y01), o + 2 * Q, Q, mk ? mk + 2 * Q : 0);
                if (P2 > 3) store_part(zip_hi(y10, y11), o + 3 * Q, Q, mk ? mk + 3 * Q : 0);
#else
                // Lanes 4g .. 4g + 3: tile row ty0 + g (Q <= 8).
                #pragma unroll
                for (int g = 0; g < 4; g++) {
                    if (2 * g < P2)
                        store_part8(zip4(quarter(y00, g), quarter(y01, g)), o + 2 * g * Q, Q, mk ? mk + 2 * g * Q : 0);
                    if (2 * g + 1 < P2)
                        store_part8(zip4(quarter(y10, g), quarter(y11, g)), o + (2 * g + 1) * Q, Q,
                                    mk ? mk + (2 * g + 1) * Q : 0);
                }
#endif
            }
        }
    }
}

// ---------- Weight gradient: Winograd F(3x3, 2x2) in the transform domain of F(2x2, 3x3).
// dW[k][c] (3x3) = sum over images and 2x2 dOutput tiles e (rows 2ty.., cols 2tx..) of the
// correlation of e with the 4x4 input patch d under the tile, which is
//   dW[k][c] = G^T [ sum_tiles (A e[k] A^T) .* (B^T d[c] B) ] G
// with the forward's B^T, G (4x3) and A^T (2x4) (the transposition principle: the forward's
// filter transform becomes the output transform and its output transform the dOutput one). So
// the 16 elements xi of the 4x4 domain are 16 independent products M[xi] = Z[xi] V[xi]^T of
// (filters x tiles) by (tiles x channels), summed over every tile of every image: 16
// multiplies per tile and (k, c) pair instead of the direct 36. Z[xi][k][4 + 1] = (A e A^T)[1][1]
// is the tile's sum of dOutput: the bias gradient comes from it at no extra cost.
//
// grid (items): work-item w sums images [w*N/items, (w+1)*N/items) into its own scratch and
// writes its partial sums part[w][K][C*9] (the 3x3 output transform applied: it is linear) and
// partb[w][K]; conv_reduce adds the items' partial sums. Per block of NB vectors of 16 tiles
// (the forward's lane mapping: TG tile rows per vector), in the work-item's scratch:
//   1. the input transform for all channels, lanes over tiles as in wino_fwd_cpu, then
//      transposed 16 channels x 16 tiles at a time (4 rounds of lane interleaves) into
//      Vt[xi][t][CP] (channels contiguous: CP = 16*CV, channels >= C computed, never stored);
//   2. the dOutput transform into Z[xi][k][t] (lanes over tiles; zero for lanes past the last
//      tile, and for dOutput rows and columns past P and Q: a partial last tile row or column);
//   3. for each xi and block of DMR filters, Macc[xi][k][c] += sum_t Z[xi][k][t] Vt[xi][t][c]:
//      DMR x CV float16 accumulators (lanes over channels), one broadcast of Z and CV vector
//      loads of Vt per tile: no horizontal sums, and the accumulators stay in the scratch
//      across blocks and images.
// xq: the input in a padded layout (conv_pad: planes of Hq x Wq, zero border and slack; a pad-0
// input in its own layout), dy: dOutput [N][K][P][Q], read with vector loads up
// to Q + 48 floats past a plane's last row start (the next image's, or a copy with slack). The
// scratch strides are padded off multiples of 4 KiB (16 streams on one L1 set measured slower).
#ifndef CV
#define CV 2
#endif
#ifndef DMR
#define DMR 8
#endif
#ifndef NB
#define NB 4
#endif
#define CP (16 * CV)
#define TB (16 * NB)
#define VX (TB * CP + 80)
#define ZX(Kp) ((Kp) * TB + 80)
#define MX(Kp) ((Kp) * CP + 80)

// Floats of one work-item's scratch: Vt[16][VX], Z[16][ZX], Macc[16][MX], T[16][16][16], Bacc[Kp][16].
inline size_t wino_dw_scratch(int Kp) {
    return (size_t)16 * VX + (size_t)16 * ZX(Kp) + (size_t)16 * MX(Kp) + 16 * 16 * 16 + (size_t)Kp * 16;
}

// Macc[xi][k][c] += sum_{t < nt} Z[xi][k][t] Vt[xi][t][c] for every xi, k < Kp, c < CP.
inline void wino_dw_products(int Kp, int nt, __global const float* Vt, __global const float* Z,
                             __global float* Macc) {
    for (int xi = 0; xi < 16; xi++) {
        __global const float* vx = Vt + (size_t)xi * VX;
        for (int k0 = 0; k0 < Kp; k0 += DMR) {
            __global float* mx = Macc + (size_t)xi * MX(Kp) + k0 * CP;
            __global const float* zx = Z + (size_t)xi * ZX(Kp) + k0 * TB;
            float16 acc[DMR][CV];
            #pragma unroll
            for (int m = 0; m < DMR; m++)
                #pragma unroll
                for (int v = 0; v < CV; v++) acc[m][v] = vload16(0, mx + m * CP + 16 * v);
            for (int t = 0; t < nt; t++) {
                float16 b[CV];
                #pragma unroll
                for (int v = 0; v < CV; v++) b[v] = vload16(0, vx + t * CP + 16 * v);
                #pragma unroll
                for (int m = 0; m < DMR; m++) {
                    float16 a = (float16)(zx[m * TB + t]);
                    #pragma unroll
                    for (int v = 0; v < CV; v++) acc[m][v] = fma(a, b[v], acc[m][v]);
                }
            }
            #pragma unroll
            for (int m = 0; m < DMR; m++)
                #pragma unroll
                for (int v = 0; v < CV; v++) vstore16(acc[m][v], 0, mx + m * CP + 16 * v);
        }
    }
}

// C <= CP channels, K <= Kp filters (Kp a multiple of DMR), TG as in wino_fwd_cpu (1 or 2: the
// host runs this kernel only for TW > 4).
__kernel void wino_dw_cpu(int C, int K, int Kp, int P, int Q, int TH, int TW, int Hq, int Wq, int N, int items,
                          __global const float* xq, int xqOffset, __global const float* dy, int dyOffset,
                          __global float* scratch, int scratchOffset,
                          __global float* part, int partOffset, __global float* partb, int partbOffset) {
    int w = get_global_id(0);
    if (w >= items) return;
    __global float* Vt = scratch + scratchOffset + (size_t)w * wino_dw_scratch(Kp);
    __global float* Z = Vt + (size_t)16 * VX;
    __global float* Macc = Z + (size_t)16 * ZX(Kp);
    __global float* T = Macc + (size_t)16 * MX(Kp);
    __global float* Bacc = T + 16 * 16 * 16;
    for (size_t i = 0; i < (size_t)16 * MX(Kp); i += 16) vstore16((float16)(0.0f), 0, Macc + i);
    for (int i = 0; i < Kp * 16; i += 16) vstore16((float16)(0.0f), 0, Bacc + i);
    // Z's rows k >= K stay zero (they meet the products of the filter block past K).
    for (size_t i = 0; i < (size_t)16 * ZX(Kp); i += 16) vstore16((float16)(0.0f), 0, Z + i);
    int colBlocks = TG == 1 ? (TW + 15) / 16 : 1;
    int blocks = TG == 1 ? TH * colBlocks : (TH + TG - 1) / TG;
    int n0 = (int)((long)w * N / items), n1 = (int)((long)(w + 1) * N / items);
    int plane = Hq * Wq, PQ = P * Q;
    int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int filled = 0;  // tiles of the current block transformed so far
    for (int n = n0; n < n1; n++) {
        __global const float* x = xq + xqOffset + (size_t)n * C * plane;
        for (int blk = 0; blk < blocks; blk++) {
            int ty0 = (blk / colBlocks) * TG, tx0 = (blk - (blk / colBlocks) * colBlocks) * 16;
            // Each lane's tile, and which of its dOutput values exist (multiplying masks: a
            // select measured twice as slow on PoCL).
#if TG == 1
            int16 tyl = (int16)(ty0), txl = tx0 + lane;
#else
            int16 tyl = ty0 + lane / (16 / TG), txl = lane % (16 / TG);
#endif
            int16 live = (tyl < TH) & (txl < TW);
            int16 ok00 = live & (2 * txl < Q), ok01 = live & (2 * txl + 1 < Q);
            int16 ok10 = ok00 & (2 * tyl + 1 < P), ok11 = ok01 & (2 * tyl + 1 < P);
            float16 m00 = convert_float16(-ok00), m01 = convert_float16(-ok01);
            float16 m10 = convert_float16(-ok10), m11 = convert_float16(-ok11);
            // 1. Input transform, 16 channels at a time, transposed into Vt[xi][filled + l][c].
            for (int cg = 0; cg < CV; cg++) {
                for (int cc = 0; cc < 16; cc++) {
                    int c = min(cg * 16 + cc, C - 1);
                    float16 d[4][4];
                    #pragma unroll
                    for (int i = 0; i < 4; i++) {
                        __global const float* base = x + c * plane + 2 * tx0;
#if TG == 1
                        __global const float* row = base + (2 * ty0 + i) * Wq;
                        float16 a = vload16(0, row), b = vload16(0, row + 16);
                        float16 a2 = vload16(0, row + 2), b2 = vload16(0, row + 18);
                        d[i][0] = (float16)(a.even, b.even); d[i][1] = (float16)(a.odd, b.odd);
                        d[i][2] = (float16)(a2.even, b2.even); d[i][3] = (float16)(a2.odd, b2.odd);
#else
                        __global const float* r0 = base + (2 * ty0 + i) * Wq;
                        __global const float* r1 = base + (2 * min(ty0 + 1, TH - 1) + i) * Wq;
                        float16 a = vload16(0, r0), a2 = vload16(0, r0 + 2);
                        float16 c0 = vload16(0, r1), c2 = vload16(0, r1 + 2);
                        d[i][0] = (float16)(a.even, c0.even); d[i][1] = (float16)(a.odd, c0.odd);
                        d[i][2] = (float16)(a2.even, c2.even); d[i][3] = (float16)(a2.odd, c2.odd);
#endif
                    }
                    // B^T d B: rows, then columns, into T[xi][cc][lanes].
                    float16 u[4][4];
                    #pragma unroll
                    for (int j = 0; j < 4; j++) {
                        u[0][j] = d[0][j] - d[2][j]; u[1][j] = d[1][j] + d[2][j];
                        u[2][j] = d[2][j] - d[1][j]; u[3][j] = d[1][j] - d[3][j];
                    }
                    #pragma unroll
                    for (int i = 0; i < 4; i++) {
                        vstore16(u[i][0] - u[i][2], 0, T + ((4 * i + 0) * 16 + cc) * 16);
                        vstore16(u[i][1] + u[i][2], 0, T + ((4 * i + 1) * 16 + cc) * 16);
                        vstore16(u[i][2] - u[i][1], 0, T + ((4 * i + 2) * 16 + cc) * 16);
                        vstore16(u[i][1] - u[i][3], 0, T + ((4 * i + 3) * 16 + cc) * 16);
                    }
                }
                // 16 x 16 transposes: after 4 rounds of interleaving r[i] with r[i + 8], r[l]
                // holds lane l (tile l) of every channel.
                for (int xi = 0; xi < 16; xi++) {
                    float16 r[16];
                    #pragma unroll
                    for (int i = 0; i < 16; i++) r[i] = vload16(0, T + (xi * 16 + i) * 16);
                    #pragma unroll
                    for (int round = 0; round < 4; round++) {
                        float16 s[16];
                        #pragma unroll
                        for (int i = 0; i < 8; i++) { s[2 * i] = zip_lo(r[i], r[i + 8]); s[2 * i + 1] = zip_hi(r[i], r[i + 8]); }
                        #pragma unroll
                        for (int i = 0; i < 16; i++) r[i] = s[i];
                    }
                    __global float* o = Vt + (size_t)xi * VX + filled * CP + cg * 16;
                    #pragma unroll
                    for (int l = 0; l < 16; l++) vstore16(r[l], 0, o + l * CP);
                }
            }
            // 2. dOutput transform Z = A e A^T (A = [1 0; 1 1; 1 -1; 0 -1]) into Z[xi][k][filled + l].
            for (int k = 0; k < K; k++) {
                __global const float* g = dy + dyOffset + ((size_t)n * K + k) * PQ;
                float16 e00, e01, e10, e11;
#if TG == 1
                __global const float* r0 = g + 2 * ty0 * Q + 2 * tx0;
                float16 a = vload16(0, r0), b = vload16(0, r0 + 16);
                e00 = (float16)(a.even, b.even); e01 = (float16)(a.odd, b.odd);
                if (2 * ty0 + 1 < P) {
                    float16 c0 = vload16(0, r0 + Q), c1 = vload16(0, r0 + Q + 16);
                    e10 = (float16)(c0.even, c1.even); e11 = (float16)(c0.odd, c1.odd);
                } else {
                    e10 = (float16)(0.0f); e11 = (float16)(0.0f);
                }
#else
                __global const float* r0 = g + 2 * ty0 * Q, *r1 = g + 2 * min(ty0 + 1, TH - 1) * Q;
                float16 a = vload16(0, r0), c0 = vload16(0, r1);
                float16 a1 = vload16(0, r0 + Q), c1 = vload16(0, r1 + Q);
                e00 = (float16)(a.even, c0.even); e01 = (float16)(a.odd, c0.odd);
                e10 = (float16)(a1.even, c1.even); e11 = (float16)(a1.odd, c1.odd);
#endif
                e00 *= m00; e01 *= m01; e10 *= m10; e11 *= m11;
                float16 rr[4][2];
                rr[0][0] = e00; rr[0][1] = e01;
                rr[1][0] = e00 + e10; rr[1][1] = e01 + e11;
                rr[2][0] = e00 - e10; rr[2][1] = e01 - e11;
                rr[3][0] = -e10; rr[3][1] = -e11;
                __global float* zo = Z + (size_t)k * TB + filled;
                #pragma unroll
                for (int i = 0; i < 4; i++) {
                    vstore16(rr[i][0], 0, zo + (size_t)(4 * i + 0) * ZX(Kp));
                    vstore16(rr[i][0] + rr[i][1], 0, zo + (size_t)(4 * i + 1) * ZX(Kp));
                    vstore16(rr[i][0] - rr[i][1], 0, zo + (size_t)(4 * i + 2) * ZX(Kp));
                    vstore16(-rr[i][1], 0, zo + (size_t)(4 * i + 3) * ZX(Kp));
                }
                // Z[5] = the tile's sum of dOutput: the bias gradient.
                vstore16(vload16(0, Bacc + k * 16) + rr[1][0] + rr[1][1], 0, Bacc + k * 16);
            }
            filled += 16;
            // 3. The block's products.
            if (filled == TB) {
                wino_dw_products(Kp, TB, Vt, Z, Macc);
                filled = 0;
            }
        }
    }
    if (filled > 0) wino_dw_products(Kp, filled, Vt, Z, Macc);
    // Output transform dW = G^T M G (G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]) and the bias sums.
    for (int k = 0; k < K; k++) {
        for (int c = 0; c < C; c++) {
            float M[4][4];
            for (int xi = 0; xi < 16; xi++) M[xi / 4][xi % 4] = Macc[(size_t)xi * MX(Kp) + k * CP + c];
            float t[3][4];
            for (int b = 0; b < 4; b++) {
                t[0][b] = M[0][b] + 0.5f * (M[1][b] + M[2][b]);
                t[1][b] = 0.5f * (M[1][b] - M[2][b]);
                t[2][b] = 0.5f * (M[1][b] + M[2][b]) + M[3][b];
            }
            __global float* o = part + partOffset + (((size_t)w * K + k) * C + c) * 9;
            for (int r = 0; r < 3; r++) {
                o[r * 3 + 0] = t[r][0] + 0.5f * (t[r][1] + t[r][2]);
                o[r * 3 + 1] = 0.5f * (t[r][1] - t[r][2]);
                o[r * 3 + 2] = 0.5f * (t[r][1] + t[r][2]) + t[r][3];
            }
        }
        float16 v = vload16(0, Bacc + k * 16);
        float8 h8 = v.lo + v.hi; float4 h4 = h8.lo + h8.hi; float2 h2 = h4.lo + h4.hi;
        partb[partbOffset + (size_t)w * K + k] = h2.x + h2.y;
    }
}
