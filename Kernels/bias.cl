// Bias add and its gradient, for x viewed as [outer, channels, inner]
// (dense layers: outer = batch, inner = 1; convolutions: outer = N, channels = K, inner = P*Q).
//   add_bias:      x[o, ch, i] += bias[ch], then max(0, .) when relu != 0.
//   bias_backward: dBias[ch] = sum over o, i of dOutput[o, ch, i]; one work-group per channel.

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
