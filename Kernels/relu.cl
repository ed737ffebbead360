// ReLU backward: dInput[i] = output[i] > 0 ? dOutput[i] : 0 (dInput may alias dOutput, so no
// restrict). The forward ReLU is fused into add_bias (bias.cl) and the convolution.
__kernel void relu_backward(__global const float* output, int outputOffset,
                            __global const float* dOutput, int dOutputOffset,
                            int count, __global float* dInput, int dInputOffset) {
    const int i = (int)get_global_id(0);
    if (i >= count) return;
    dInput[dInputOffset + i] = output[outputOffset + i] > 0.0f ? dOutput[dOutputOffset + i] : 0.0f;
}
