// Bias add and its gradient, for x viewed as [outer, channels, inner]
// (dense layers: outer = batch, inner = 1; convolutions: outer = N, channels = K, inner = P*Q).
//   add_bias:      x[o, ch, i] += bias[ch], then max(0, .) when relu != 0.
//   bias_backward: dBias[ch] = sum over o, i of dOutput[o, ch, i]; one work-group per channel.

#ifdef SYNAPSE_STYLE_CPU
// CPU style: one work-item per contiguous row, read and written as float16.
//   add_bias, inner == 1 (dense): row o = x[o, 0..channels) += bias[0..channels); global = outer.
//   add_bias, inner > 1: row (o, ch) = x[o, ch, 0..inner) += bias[ch]; global = outer * channels.
//   bias_backward, inner == 1: one work-item per 16 channels, summing float16 over the outer rows.
//   bias_backward, inner > 1: one work-item per channel, summing its outer rows of inner floats.
// No barriers or local memory (PoCL emulates them); `scratch` is unused here.

inline void add_row(__global float* x, __global const float* bias, int biasStep, int length, int relu) {
    // x[j] += bias[j * biasStep] for j < length; biasStep is 1 (a bias row) or 0 (one value).
    int j = 0;
    for (; j + 16 <= length; j += 16) {
        float16 value = vload16(0, x + j) + (biasStep ? vload16(0, bias + j) : (float16)bias[0]);
        if (relu) value = fmax(value, 0.0f);
        vstore16(value, 0, x + j);
    }
    for (; j < length; j++) {
        float value = x[j] + bias[j * biasStep];
        if (relu) value = fmax(value, 0.0f);
        x[j] = value;
    }
}

__kernel void add_bias(__global float* x, int xOffset, __global const float* bias, int biasOffset,
                       int outer, int channels, int inner, int relu) {
    const int row = (int)get_global_id(0);
    if (inner == 1) {
        if (row >= outer) return;
        add_row(x + xOffset + row * channels, bias + biasOffset, 1, channels, relu);
    } else {
        if (row >= outer * channels) return;
        add_row(x + xOffset + row * inner, bias + biasOffset + row % channels, 0, inner, relu);
    }
}

__kernel void bias_backward(__global const float* dOutput, int dOutputOffset,
                            int outer, int channels, int inner,
                            __global float* dBias, int dBiasOffset, __local float* scratch) {
    const int item = (int)get_global_id(0);
    __global const float* d = dOutput + dOutputOffset;
    if (inner == 1) {
        const int first = item * 16;
        if (first >= channels) return;
        if (first + 16 <= channels) {
            float16 sum = (float16)0.0f;
            for (int o = 0; o < outer; o++) sum += vload16(0, d + o * channels + first);
            vstore16(sum, 0, dBias + dBiasOffset + first);
        } else {
            for (int ch = first; ch < channels; ch++) {
                float sum = 0.0f;
                for (int o = 0; o < outer; o++) sum += d[o * channels + ch];
                dBias[dBiasOffset + ch] = sum;
            }
        }
    } else {
        const int ch = item;
        if (ch >= channels) return;
        float16 sums = (float16)0.0f;
        float sum = 0.0f;
        for (int o = 0; o < outer; o++) {
            __global const float* row = d + (o * channels + ch) * inner;
            int i = 0;
            for (; i + 16 <= inner; i += 16) sums += vload16(0, row + i);
            for (; i < inner; i++) sum += row[i];
        }
        const float8 s8 = sums.lo + sums.hi;
        const float4 s4 = s8.lo + s8.hi;
        dBias[dBiasOffset + ch] = sum + (s4.x + s4.y) + (s4.z + s4.w);
    }
}

#else
// GPU style: add_bias one work-item per element; bias_backward one work-group per channel.

__kernel void add_bias(__global float* x, int xOffset, __global const float* bias, int biasOffset,
                       int outer, int channels, int inner, int relu) {
    const int i = (int)get_global_id(0);
    if (i >= outer * channels * inner) return;
    const int ch = (i / inner) % channels;
    float value = x[xOffset + i] + bias[biasOffset + ch];
    if (relu) value = fmax(value, 0.0f);
    x[xOffset + i] = value;
}

__kernel void bias_backward(__global const float* dOutput, int dOutputOffset,
                            int outer, int channels, int inner,
                            __global float* dBias, int dBiasOffset, __local float* scratch) {
    const int ch = (int)get_group_id(0);
    const int lid = (int)get_local_id(0);
    const int perChannel = outer * inner;
    float sum = 0.0f;
    for (int j = lid; j < perChannel; j += REDUCE_WG) {
        const int o = j / inner;
        const int i = j - o * inner;
        sum += dOutput[dOutputOffset + (o * channels + ch) * inner + i];
    }
    scratch[lid] = sum;
    reduce_local_sum(scratch);
    if (lid == 0 && ch < channels) dBias[dBiasOffset + ch] = scratch[0];
}

#endif
