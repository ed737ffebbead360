// 2x2 max-pool, stride 2, floor, over [planes, H, W] -> [planes, H/2, W/2].
// Ties: the first maximum in row-major order within the window wins (strict > while scanning).
// Backward: dInput is fully overwritten: each window's winner receives dOutput of the window,
// every other input element (losers, and rows/columns dropped by the floor) receives 0. Each
// input element belongs to at most one window, so there are no write races. With relu != 0 the
// ReLU backward of the layer below (whose output is the pool's input) is applied too: a winner
// whose value is not > 0 receives 0 (maxPool2x2ReLUBackward), exactly relu_backward's result.
//
// CPU style: one work-item per POOL_ROWS consecutive rows of windows (a row of windows is a
// pair of input rows 2p, 2p + 1; consecutive across planes), 8 windows at a time as float16 loads of both rows (.even / .odd split the window columns), the
// first-maximum rule as a chain of selects. When H is odd, one more "pair" per plane holds just
// the dropped last row, which backward zeroes.
// GPU style: one work-item per window (forward: per output element), coalesced neighbours.

#ifdef SYNAPSE_STYLE_CPU

// Rows of windows per work-item, passed by the host (it sizes the NDRange with it): enough
// work to amortise PoCL's per-work-item cost.
#ifndef POOL_ROWS
#error "the host defines POOL_ROWS for the CPU style"
#endif

// The window winner (0..3, row-major) and maximum of 8 windows at once, from a = top row
// (16 floats) and b = bottom row. Only a strictly larger value replaces the current best.
inline int8 winners8(float16 a, float16 b, float8* best) {
    float8 m = a.even;
    int8 winner = (int8)0;
    int8 larger = a.odd > m;
    m = select(m, a.odd, larger); winner = select(winner, (int8)1, larger);
    larger = b.even > m;
    m = select(m, b.even, larger); winner = select(winner, (int8)2, larger);
    larger = b.odd > m;
    m = select(m, b.odd, larger); winner = select(winner, (int8)3, larger);
    *best = m;
    return winner;
}

// The same for 4 windows (a, b: 8 floats of each row).
inline int4 winners4(float8 a, float8 b, float4* best) {
    float4 m = a.even;
    int4 winner = (int4)0;
    int4 larger = a.odd > m;
    m = select(m, a.odd, larger); winner = select(winner, (int4)1, larger);
    larger = b.even > m;
    m = select(m, b.even, larger); winner = select(winner, (int4)2, larger);
    larger = b.odd > m;
    m = select(m, b.odd, larger); winner = select(winner, (int4)3, larger);
    *best = m;
    return winner;
}

// The same for one window at top-left `top` (bottom row at `bottom`).
inline int winner1(__global const float* top, __global const float* bottom, float* best) {
    float m = top[0];
    int winner = 0;
    if (top[1] > m) { m = top[1]; winner = 1; }
    if (bottom[0] > m) { m = bottom[0]; winner = 2; }
    if (bottom[1] > m) { m = bottom[1]; winner = 3; }
    *best = m;
    return winner;
}

// Forward of one row of windows: top and bottom input rows, outW outputs.
inline void pool_row_forward(__global const float* top, __global const float* bottom, __global float* out,
                             int outW) {
    int q = 0;
    for (; q + 8 <= outW; q += 8) {
        float8 best;
        winners8(vload16(0, top + 2 * q), vload16(0, bottom + 2 * q), &best);
        vstore8(best, 0, out + q);
    }
    if (q + 4 <= outW) {
        float4 best;
        winners4(vload8(0, top + 2 * q), vload8(0, bottom + 2 * q), &best);
        vstore4(best, 0, out + q);
        q += 4;
    }
    for (; q < outW; q++) {
        float best;
        winner1(top + 2 * q, bottom + 2 * q, &best);
        out[q] = best;
    }
}

__kernel void maxpool_forward(__global const float* input, int inputOffset, int planes, int height, int width,
                              __global float* output, int outputOffset) {
    const int outH = height / 2, outW = width / 2;
    const int rows = planes * outH;                        // rows of windows, all planes
    const int first = (int)get_global_id(0) * POOL_ROWS;   // row = plane * outH + p
    const int last = min(first + POOL_ROWS, rows);
    for (int row = first; row < last; row++) {
        const int plane = row / outH, p = row - plane * outH;
        __global const float* top = input + inputOffset + (plane * height + 2 * p) * width;
        pool_row_forward(top, top + width, output + outputOffset + row * outW, outW);
    }
}

// Interleave two float8 (two float4): (a0, b0, a1, b1, ...).
#define INTERLEAVE8 (uint16)(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15)
#define INTERLEAVE4 (uint8)(0, 4, 1, 5, 2, 6, 3, 7)

// Backward of one row of windows: overwrites both input-gradient rows (width floats each).
inline void pool_row_backward(__global const float* top, __global const float* bottom, __global const float* dy,
                              __global float* dTop, __global float* dBottom, int outW, int width, int relu) {
    const float8 zero = (float8)0.0f;
    int q = 0;
    for (; q + 8 <= outW; q += 8) {
        float8 best;
        const int8 winner = winners8(vload16(0, top + 2 * q), vload16(0, bottom + 2 * q), &best);
        float8 g = vload8(0, dy + q);
        if (relu) g = select(zero, g, best > zero);
        vstore16(shuffle2(select(zero, g, winner == 0), select(zero, g, winner == 1), INTERLEAVE8), 0, dTop + 2 * q);
        vstore16(shuffle2(select(zero, g, winner == 2), select(zero, g, winner == 3), INTERLEAVE8), 0, dBottom + 2 * q);
    }
    if (q + 4 <= outW) {
        float4 best;
        const int4 winner = winners4(vload8(0, top + 2 * q), vload8(0, bottom + 2 * q), &best);
        const float4 zero4 = (float4)0.0f;
        float4 g = vload4(0, dy + q);
        if (relu) g = select(zero4, g, best > zero4);
        vstore8(shuffle2(select(zero4, g, winner == 0), select(zero4, g, winner == 1), INTERLEAVE4), 0, dTop + 2 * q);
        vstore8(shuffle2(select(zero4, g, winner == 2), select(zero4, g, winner == 3), INTERLEAVE4), 0, dBottom + 2 * q);
        q += 4;
    }
    for (; q < outW; q++) {
        float best;
        const int winner = winner1(top + 2 * q, bottom + 2 * q, &best);
        const float g = relu && !(best > 0.0f) ? 0.0f : dy[q];
        dTop[2 * q] = winner == 0 ? g : 0.0f;
        dTop[2 * q + 1] = winner == 1 ? g : 0.0f;
        dBottom[2 * q] = winner == 2 ? g : 0.0f;
        dBottom[2 * q + 1] = winner == 3 ? g : 0.0f;
    }
    if (width & 1) {
        // The last column of an odd width: dropped by the floor.
        dTop[width - 1] = 0.0f;
        dBottom[width - 1] = 0.0f;
    }
}

__kernel void maxpool_backward(__global const float* input, int inputOffset,
                               __global const float* dOutput, int dOutputOffset,
                               int planes, int height, int width,
                               __global float* dInput, int dInputOffset, int relu) {
    const int outH = height / 2, outW = width / 2;
    const int pairs = (height + 1) / 2;                    // row pairs per plane, the last maybe a lone row
    const int first = (int)get_global_id(0) * POOL_ROWS;   // pair = plane * pairs + p
    const int last = min(first + POOL_ROWS, planes * pairs);
    for (int pair = first; pair < last; pair++) {
        const int plane = pair / pairs, p = pair - plane * pairs;
        const int rowStart = (plane * height + 2 * p) * width;
        __global float* dTop = dInput + dInputOffset + rowStart;
        if (p >= outH) {
            // The last row of an odd height: dropped by the floor.
            for (int w = 0; w < width; w++) dTop[w] = 0.0f;
        } else {
            __global const float* top = input + inputOffset + rowStart;
            pool_row_backward(top, top + width, dOutput + dOutputOffset + (plane * outH + p) * outW,
                              dTop, dTop + width, outW, width, relu);
        }
    }
}

#else

inline int window_winner(__global const float* in, int base, int width) {
    // Returns 0..3: position (row-major) of the first maximum of the 2x2 window at `base`.
    float best = in[base];
    int winner = 0;
    if (in[base + 1] > best) { best = in[base + 1]; winner = 1; }
    if (in[base + width] > best) { best = in[base + width]; winner = 2; }
    if (in[base + width + 1] > best) { winner = 3; }
    return winner;
}

__kernel void maxpool_forward(__global const float* input, int inputOffset, int planes, int height, int width,
                              __global float* output, int outputOffset) {
    const int outH = height / 2, outW = width / 2;
    const int o = (int)get_global_id(0);
    if (o >= planes * outH * outW) return;
    const int plane = o / (outH * outW);
    const int rest = o - plane * outH * outW;
    const int p = rest / outW, q = rest - p * outW;
    const int base = inputOffset + plane * height * width + (2 * p) * width + 2 * q;
    const int winner = window_winner(input, base, width);
    output[outputOffset + o] = input[base + (winner >> 1) * width + (winner & 1)];
}

// One work-item per window of the grid ceil(H/2) x ceil(W/2): a real window writes its 4
// gradients; a window cut by the floor (last row or column of an odd size) writes zeros to
// whichever of its cells exist.
__kernel void maxpool_backward(__global const float* input, int inputOffset,
                               __global const float* dOutput, int dOutputOffset,
                               int planes, int height, int width,
                               __global float* dInput, int dInputOffset, int relu) {
    const int outH = height / 2, outW = width / 2;
    const int gridH = (height + 1) / 2, gridW = (width + 1) / 2;
    const int o = (int)get_global_id(0);
    if (o >= planes * gridH * gridW) return;
    const int plane = o / (gridH * gridW);
    const int rest = o - plane * gridH * gridW;
    const int p = rest / gridW, q = rest - p * gridW;
    const int cell = plane * height * width + (2 * p) * width + 2 * q;
    __global float* d = dInput + dInputOffset + cell;
    if (p < outH && q < outW) {
        const int winner = window_winner(input, inputOffset + cell, width);
        const int at = inputOffset + cell + (winner & 1) + (winner >> 1) * width;
        const float g = relu && !(input[at] > 0.0f) ? 0.0f : dOutput[dOutputOffset + (plane * outH + p) * outW + q];
        d[0] = winner == 0 ? g : 0.0f;
        d[1] = winner == 1 ? g : 0.0f;
        d[width] = winner == 2 ? g : 0.0f;
        d[width + 1] = winner == 3 ? g : 0.0f;
    } else {
        const bool hasRight = 2 * q + 1 < width, hasBottom = 2 * p + 1 < height;
        d[0] = 0.0f;
        if (hasRight) d[1] = 0.0f;
        if (hasBottom) d[width] = 0.0f;
        if (hasRight && hasBottom) d[width + 1] = 0.0f;
    }
}

#endif
