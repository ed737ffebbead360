// Shared prelude for every kernel file (OpenCL C 1.2), prepended by the host before the op file.
//
// Conventions: every tensor arrives as two arguments, a __global pointer and an int offset in
// elements (views into one big buffer; no sub-buffers). Sizes are ints. The host defines exactly
// one of SYNAPSE_STYLE_CPU / SYNAPSE_STYLE_GPU, plus each op's tuning parameters (-D NAME=value).
// Global sizes are rounded up to the local size, so every kernel checks its index against the
// real size before touching memory.

// The work-group size of the tree reductions (a power of two); the host passes the same value.
#ifndef REDUCE_WG
#define REDUCE_WG 64
#endif

// Sums scratch[0..REDUCE_WG) into scratch[0]; every work-item of the group must call it.
inline void reduce_local_sum(__local float* scratch) {
    const int lid = (int)get_local_id(0);
    for (int stride = REDUCE_WG / 2; stride > 0; stride >>= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < stride) scratch[lid] += scratch[lid + stride];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}
