// Sum of a vector into one accumulator: accumulator[0] += sum_i values[i], i < count.
// One work-group of REDUCE_WG work-items: each sums a strided slice, then a tree in local memory.
// Used for running losses (a few hundred values per step), so one group is plenty.
__kernel void accumulate_sum(__global const float* values, int valuesOffset, int count,
                             __global float* accumulator, int accumulatorOffset,
                             __local float* scratch) {
    const int lid = (int)get_local_id(0);
    float sum = 0.0f;
    for (int i = lid; i < count; i += REDUCE_WG) sum += values[valuesOffset + i];
    scratch[lid] = sum;
    reduce_local_sum(scratch);
    if (lid == 0) accumulator[accumulatorOffset] += scratch[0];
}
