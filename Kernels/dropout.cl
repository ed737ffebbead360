// Inverted dropout, forward and backward alike: out[i] = keep(i) ? in[i] / keepProbability : 0.
// keep(i) is DropoutMask.keeps of SynapseEngine/Philox.swift, bit for bit: Philox4x32-10 with
// key (seedLow, seedHigh), counter (i / 4, step, stream, 0), output word i % 4; kept when the
// word's top 24 bits are below `threshold` = floor(p * 2^24), computed on the host in integers.
// Each work-item handles 4 consecutive elements (one Philox block). out may alias in.

inline uint4 philox4x32_10(uint4 counter, uint2 key) {
    const uint m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
    const uint w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
    for (int round = 0; round < 10; round++) {
        const uint hi0 = mul_hi(m0, counter.x), lo0 = m0 * counter.x;
        const uint hi1 = mul_hi(m1, counter.z), lo1 = m1 * counter.z;
        counter = (uint4)(hi1 ^ counter.y ^ key.x, lo1, hi0 ^ counter.w ^ key.y, lo0);
        key += (uint2)(w0, w1);   // the key after the last round is unused
    }
    return counter;
}

__kernel void dropout_apply(__global const float* input, int inputOffset, int count,
                            float keepProbability, uint threshold,
                            uint seedLow, uint seedHigh, uint stream, uint step,
                            __global float* output, int outputOffset) {
    const int block = (int)get_global_id(0);
    const int first = block * 4;
    if (first >= count) return;
    const uint4 words = philox4x32_10((uint4)((uint)block, step, stream, 0u), (uint2)(seedLow, seedHigh));
    const uint word[4] = { words.x, words.y, words.z, words.w };
    for (int lane = 0; lane < 4 && first + lane < count; lane++) {
        const float x = input[inputOffset + first + lane];
        output[outputOffset + first + lane] = (word[lane] >> 8) < threshold ? x / keepProbability : 0.0f;
    }
}
