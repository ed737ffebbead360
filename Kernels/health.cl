// Health of the training state: ORs flag bits into the int view of result[0] when some element of
// theta (1), anchor (2), importance (4: also when negative), omega (8), m (16) or v (32: also when
// negative) is NaN or infinite. The bits match StateHealth on the host.
// HEALTH_WG work-items per group (a power of two); each item walks a strided slice of all six
// arrays, the group ORs its flags in local memory, and one atomic_or per group publishes them.
__kernel void state_health(__global const float* theta, int thetaOffset,
                           __global const float* anchor, int anchorOffset,
                           __global const float* importance, int importanceOffset,
                           __global const float* omega, int omegaOffset,
                           __global const float* m, int mOffset,
                           __global const float* v, int vOffset,
                           int count, __global int* result, int resultOffset,
                           __local int* scratch) {
    const int lid = (int)get_local_id(0);
    const int stride = (int)get_global_size(0);
    int flags = 0;
    for (int i = (int)get_global_id(0); i < count; i += stride) {
        if (!isfinite(theta[thetaOffset + i])) flags |= 1;
        if (!isfinite(anchor[anchorOffset + i])) flags |= 2;
        const float w = importance[importanceOffset + i];
        if (!isfinite(w) || w < 0.0f) flags |= 4;
        if (!isfinite(omega[omegaOffset + i])) flags |= 8;
        if (!isfinite(m[mOffset + i])) flags |= 16;
        const float s = v[vOffset + i];
        if (!isfinite(s) || s < 0.0f) flags |= 32;
    }
    scratch[lid] = flags;
    for (int width = HEALTH_WG / 2; width > 0; width >>= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < width) scratch[lid] |= scratch[lid + width];
    }
    if (lid == 0 && scratch[0] != 0) atomic_or(&result[resultOffset], scratch[0]);
}
