// Inverted dropout, forward and backward alike: out[i] = keep(g) ? in[i] / keepProbability : 0
// with g = 4 * blockOffset + i (the element's index in the whole minibatch when a process
// computes only some of its rows). keep(g) is DropoutMask.keeps of SynapseEngine/Philox.swift,
// bit for bit: Philox4x32-10 with key (seedLow, seedHigh), counter (g / 4, step, stream, 0),
// output word g % 4; kept when the word's top 24 bits are below `threshold` = floor(p * 2^24),
// computed on the host in integers.
// out may alias in (each element is read before it is written, by the same work-item).
//
// CPU style: each work-item handles DROPOUT_CHUNK = 64 consecutive elements, i.e. 16 Philox
// blocks computed side by side as uint16 vectors (PoCL turns them into AVX-512 integer code),
// then the 4 words of each block are interleaved back into element order with shuffles and the
// elements are read and written as float16. A chunk cut short by `count` falls back to one
// scalar Philox call per 4 elements.
// GPU style: one Philox block (4 elements) per work-item, float4 loads and stores.

#define DROPOUT_CHUNK 64

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

// The 4 elements of Philox block `block` (elements 4 block .. 4 block + 3), any of them past
// `count` left alone; the mask counter is block + blockOffset.
inline void dropout_block(__global const float* in, __global float* out, int block, int count,
                          float keepProbability, uint threshold, uint2 key, uint stream, uint step,
                          uint blockOffset) {
    const int first = block * 4;
    const uint4 words = philox4x32_10((uint4)((uint)block + blockOffset, step, stream, 0u), key);
    const int4 keep = (words >> 8) < (uint4)threshold;
    if (first + 4 <= count) {
        const float4 x = vload4(0, in + first);
        vstore4(select((float4)0.0f, x / keepProbability, keep), 0, out + first);
    } else {
        // The ragged end of the tensor: at most 3 elements.
        const float kept[3] = { keep.x ? 1.0f : 0.0f, keep.y ? 1.0f : 0.0f, keep.z ? 1.0f : 0.0f };
        for (int lane = 0; first + lane < count; lane++) {
            out[first + lane] = kept[lane] != 0.0f ? in[first + lane] / keepProbability : 0.0f;
        }
    }
}

#ifdef SYNAPSE_STYLE_CPU

// Interleaves the low (high) halves of a and b: (a0, b0, a1, b1, ...).
#define INTERLEAVE_LO_U32 (uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define INTERLEAVE_HI_U32 (uint16)(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
#define INTERLEAVE_LO_U64 (ulong8)(0, 8, 1, 9, 2, 10, 3, 11)
#define INTERLEAVE_HI_U64 (ulong8)(4, 12, 5, 13, 6, 14, 7, 15)

inline void dropout_store16(__global const float* in, __global float* out, uint16 words,
                            float keepProbability, uint threshold) {
    const float16 x = vload16(0, in);
    vstore16(select((float16)0.0f, x / keepProbability, (words >> 8) < (uint16)threshold), 0, out);
}

__kernel void dropout_apply(__global const float* input, int inputOffset, int count,
                            float keepProbability, uint threshold,
                            uint seedLow, uint seedHigh, uint stream, uint step, uint blockOffset,
                            __global float* output, int outputOffset) {
    const int chunk = (int)get_global_id(0);
    const int first = chunk * DROPOUT_CHUNK;
    if (first >= count) return;
    __global const float* in = input + inputOffset;
    __global float* out = output + outputOffset;
    const uint2 key = (uint2)(seedLow, seedHigh);
    const int firstBlock = first / 4;
    if (first + DROPOUT_CHUNK > count) {
        for (int block = firstBlock; block * 4 < count; block++) {
            dropout_block(in, out, block, count, keepProbability, threshold, key, stream, step, blockOffset);
        }
        return;
    }
    // Philox4x32-10 on 16 counters at once: lane b is block firstBlock + b.
    const uint m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
    const uint w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
    uint16 c0 = (uint16)((uint)firstBlock + blockOffset) + (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    uint16 c1 = (uint16)step, c2 = (uint16)stream, c3 = (uint16)0u;
    uint k0 = seedLow, k1 = seedHigh;
    for (int round = 0; round < 10; round++) {
        const uint16 hi0 = mul_hi((uint16)m0, c0), lo0 = (uint16)m0 * c0;
        const uint16 hi1 = mul_hi((uint16)m1, c2), lo1 = (uint16)m1 * c2;
        c0 = hi1 ^ c1 ^ (uint16)k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ (uint16)k1;
        c3 = lo0;
        k0 += w0;
        k1 += w1;
    }
    // Element 4 b + j takes word j of block b: interleave (c0, c1) and (c2, c3) word by word,
    // then the two results pair by pair (as 64-bit lanes).
    const ulong8 c01lo = as_ulong8(shuffle2(c0, c1, INTERLEAVE_LO_U32));   // blocks 0-7
    const ulong8 c01hi = as_ulong8(shuffle2(c0, c1, INTERLEAVE_HI_U32));   // blocks 8-15
    const ulong8 c23lo = as_ulong8(shuffle2(c2, c3, INTERLEAVE_LO_U32));
    const ulong8 c23hi = as_ulong8(shuffle2(c2, c3, INTERLEAVE_HI_U32));
    dropout_store16(in + first, out + first, as_uint16(shuffle2(c01lo, c23lo, INTERLEAVE_LO_U64)),
                    keepProbability, threshold);
    dropout_store16(in + first + 16, out + first + 16, as_uint16(shuffle2(c01lo, c23lo, INTERLEAVE_HI_U64)),
                    keepProbability, threshold);
    dropout_store16(in + first + 32, out + first + 32, as_uint16(shuffle2(c01hi, c23hi, INTERLEAVE_LO_U64)),
                    keepProbability, threshold);
    dropout_store16(in + first + 48, out + first + 48, as_uint16(shuffle2(c01hi, c23hi, INTERLEAVE_HI_U64)),
                    keepProbability, threshold);
}

#else

__kernel void dropout_apply(__global const float* input, int inputOffset, int count,
                            float keepProbability, uint threshold,
                            uint seedLow, uint seedHigh, uint stream, uint step, uint blockOffset,
                            __global float* output, int outputOffset) {
    const int block = (int)get_global_id(0);
    if (block * 4 >= count) return;
    dropout_block(input + inputOffset, output + outputOffset, block, count, keepProbability, threshold,
                  (uint2)(seedLow, seedHigh), stream, step, blockOffset);
}

#endif
