// Convolution helpers, simple version (stride 1, NCHW, square R x R filter, zero padding):
//   im2col: col[img][c*R*R + r*R + s][p*Q + q] = input[img][c][p + r - pad][q + s - pad] (0 outside)
//   col2im: dInput[img][c][h][w] = sum over r, s of col[img][c*R*R + r*R + s][(h - r + pad)*Q + (w - s + pad)]
//           over the in-range output positions (a gather: one work-item per input pixel, no races).
// The host runs the GEMMs (gemm.cl) between them: forward out = W x col (+ bias, ReLU),
// backward input colGrad = W^T x dOut then col2im, backward weight dW += dOut x col^T.

__kernel void im2col(__global const float* input, int inputOffset,
                     int channels, int height, int width, int R, int pad, int outH, int outW,
                     int images, __global float* col, int colOffset) {
    const int pq = (int)get_global_id(0);
    const int crs = (int)get_global_id(1);
    const int img = (int)get_global_id(2);
    if (pq >= outH * outW || crs >= channels * R * R || img >= images) return;
    const int c = crs / (R * R);
    const int r = (crs / R) % R;
    const int s = crs % R;
    const int p = pq / outW, q = pq % outW;
    const int h = p + r - pad, w = q + s - pad;
    float value = 0.0f;
    if (h >= 0 && h < height && w >= 0 && w < width)
        value = input[inputOffset + ((img * channels + c) * height + h) * width + w];
    col[colOffset + (img * channels * R * R + crs) * outH * outW + pq] = value;
}

__kernel void col2im(__global const float* col, int colOffset,
                     int channels, int height, int width, int R, int pad, int outH, int outW,
                     int images, __global float* dInput, int dInputOffset) {
    const int hw = (int)get_global_id(0);
    const int c = (int)get_global_id(1);
    const int img = (int)get_global_id(2);
    if (hw >= height * width || c >= channels || img >= images) return;
    const int h = hw / width, w = hw % width;
    float sum = 0.0f;
    for (int r = 0; r < R; r++) {
        const int p = h - r + pad;
        if (p < 0 || p >= outH) continue;
        for (int s = 0; s < R; s++) {
            const int q = w - s + pad;
            if (q < 0 || q >= outW) continue;
            sum += col[colOffset + (img * channels * R * R + c * R * R + r * R + s) * outH * outW + p * outW + q];
        }
    }
    dInput[dInputOffset + ((img * channels + c) * height + h) * width + w] = sum;
}
