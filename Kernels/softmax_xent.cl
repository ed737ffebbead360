// Masked softmax cross-entropy, one work-item per row n of logits [batch, units]. Only units
// [unitStart, unitStart + unitCount) are live (the multi-head mask):
//   losses[n] = -log softmax(live logits)[label],
//   dLogits[n, u] = (softmax[u] - [u == label]) / batch for live u, 0 for the others.
// A label outside the live range gives loss NaN (visible; it cannot be reported without a wait).
__kernel void softmax_xent(__global const float* logits, int logitsOffset,
                           __global const int* labels, int labelsOffset,
                           int batch, int units, int unitStart, int unitCount,
                           __global float* losses, int lossesOffset,
                           __global float* dLogits, int dLogitsOffset) {
    const int n = (int)get_global_id(0);
    if (n >= batch) return;
    __global const float* row = logits + logitsOffset + n * units;
    __global float* dRow = dLogits + dLogitsOffset + n * units;
    const int label = labels[labelsOffset + n];
    const int end = unitStart + unitCount;
    float maximum = -INFINITY;
    for (int u = unitStart; u < end; u++) maximum = fmax(maximum, row[u]);
    float sum = 0.0f;
    for (int u = unitStart; u < end; u++) sum += exp(row[u] - maximum);
    const float logSum = log(sum);
    const bool validLabel = label >= unitStart && label < end;
    losses[lossesOffset + n] = validLabel ? logSum - (row[label] - maximum) : NAN;
    const float invBatch = 1.0f / (float)batch;
    for (int u = 0; u < units; u++) {
        float d = 0.0f;
        if (u >= unitStart && u < end) {
            const float p = exp(row[u] - maximum) / sum;
            d = (p - (u == label ? 1.0f : 0.0f)) * invBatch;
        }
        dRow[u] = d;
    }
}
