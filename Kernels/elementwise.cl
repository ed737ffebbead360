// Elementwise accumulate: dst[i] += scale * f(src[i]) for i < count, where f is the identity
// (transform 0), the square (1) or the absolute value (2). Fill and copy use the OpenCL
// built-in buffer commands and need no kernel.
__kernel void accumulate(__global const float* src, int srcOffset,
                         __global float* dst, int dstOffset,
                         int count, float scale, int transform) {
    const int i = (int)get_global_id(0);
    if (i >= count) return;
    float x = src[srcOffset + i];
    if (transform == 1) x = x * x;
    else if (transform == 2) x = fabs(x);
    dst[dstOffset + i] += scale * x;
}
