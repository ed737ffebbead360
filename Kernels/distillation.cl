// Distillation towards recorded outputs (Learning without Forgetting), one work-item per row n of
// logits [batch, units]; only units [unitStart, unitStart + unitCount) take part. With
// r = targets[indices[n]] (a row of targets [targetRows, units]), p = softmax(r/T), q = softmax(z/T):
//   losses[n] = weight·T²·Σ_u p_u (log p_u − log q_u)          (nats, KL(p ‖ q) scaled)
//   dLogits[n, u] += weight·T·(q_u − p_u) / batch              (live u only; others untouched)
// An index outside [0, targetRows) gives loss NaN and leaves the row's gradient alone (visible in
// the loss; it cannot be reported without a host wait).
__kernel void distillation(__global const float* logits, int logitsOffset,
                           __global const float* targets, int targetsOffset,
                           __global const int* indices, int indicesOffset,
                           int batch, int units, int targetRows, int unitStart, int unitCount,
                           float temperature, float weight,
                           __global float* losses, int lossesOffset,
                           __global float* dLogits, int dLogitsOffset) {
    const int n = (int)get_global_id(0);
    if (n >= batch) return;
    const int index = indices[indicesOffset + n];
    if (index < 0 || index >= targetRows) {
        losses[lossesOffset + n] = NAN;
        return;
    }
    __global const float* z = logits + logitsOffset + n * units;
    __global const float* r = targets + targetsOffset + index * units;
    __global float* dz = dLogits + dLogitsOffset + n * units;
    const int end = unitStart + unitCount;
    const float invT = 1.0f / temperature;
    // Row maxima of the scaled rows, then the log-sum-exps (log softmax = x/T − max − log Σ).
    float maxZ = -INFINITY, maxR = -INFINITY;
    for (int u = unitStart; u < end; u++) {
        maxZ = fmax(maxZ, z[u] * invT);
        maxR = fmax(maxR, r[u] * invT);
    }
    float sumZ = 0.0f, sumR = 0.0f;
    for (int u = unitStart; u < end; u++) {
        sumZ += exp(z[u] * invT - maxZ);
        sumR += exp(r[u] * invT - maxR);
    }
    const float logSumZ = log(sumZ) + maxZ, logSumR = log(sumR) + maxR;
    float kl = 0.0f;
    const float scale = weight * temperature / (float)batch;
    for (int u = unitStart; u < end; u++) {
        const float logP = r[u] * invT - logSumR;
        const float logQ = z[u] * invT - logSumZ;
        const float p = exp(logP);
        kl += p * (logP - logQ);
        dz[u] += scale * (exp(logQ) - p);
    }
    losses[lossesOffset + n] = weight * temperature * temperature * kl;
}
