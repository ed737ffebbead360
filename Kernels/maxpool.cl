// 2x2 max-pool, stride 2, floor, over [planes, H, W] -> [planes, H/2, W/2].
// Ties: the first maximum in row-major order within the window wins (strict > while scanning).
//   maxpool_forward:  one work-item per output element.
//   maxpool_backward: one work-item per INPUT element: it receives dOutput of its window when it
//                     is that window's winner, else 0 (also for rows/columns dropped by the floor),
//                     so there are no write races and dInput is fully overwritten.

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
    const int p = rest / outW, q = rest - (rest / outW) * outW;
    const int base = inputOffset + plane * height * width + (2 * p) * width + 2 * q;
    const int winner = window_winner(input, base, width);
    output[outputOffset + o] = input[base + (winner >> 1) * width + (winner & 1)];
}

__kernel void maxpool_backward(__global const float* input, int inputOffset,
                               __global const float* dOutput, int dOutputOffset,
                               int planes, int height, int width,
                               __global float* dInput, int dInputOffset) {
    const int i = (int)get_global_id(0);
    if (i >= planes * height * width) return;
    const int outH = height / 2, outW = width / 2;
    const int plane = i / (height * width);
    const int rest = i - plane * height * width;
    const int h = rest / width, w = rest - (rest / width) * width;
    const int p = h / 2, q = w / 2;
    float value = 0.0f;
    if (p < outH && q < outW) {
        const int base = inputOffset + plane * height * width + (2 * p) * width + 2 * q;
        const int winner = window_winner(input, base, width);
        if (winner == ((h & 1) << 1 | (w & 1))) value = dOutput[dOutputOffset + (plane * outH + p) * outW + q];
    }
    dInput[dInputOffset + i] = value;
}
