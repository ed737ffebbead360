// Correct-prediction count: counter[0] += number of rows n < batch whose argmax over the live
// units [unitStart, unitStart + unitCount) equals labels[n] (ties: the lowest unit wins).
// One work-group of REDUCE_WG work-items; the count is summed in float (exact below 2^24).
__kernel void count_correct(__global const float* logits, int logitsOffset,
                            __global const int* labels, int labelsOffset,
                            int batch, int units, int unitStart, int unitCount,
                            __global float* counter, int counterOffset, __local float* scratch) {
    const int lid = (int)get_local_id(0);
    float correct = 0.0f;
    for (int n = lid; n < batch; n += REDUCE_WG) {
        __global const float* row = logits + logitsOffset + n * units;
        int best = unitStart;
        for (int u = unitStart + 1; u < unitStart + unitCount; u++) {
            if (row[u] > row[best]) best = u;
        }
        if (best == labels[labelsOffset + n]) correct += 1.0f;
    }
    scratch[lid] = correct;
    reduce_local_sum(scratch);
    if (lid == 0) counter[counterOffset] += scratch[0];
}
