// The fused Synaptic Intelligence update (docs/algorithm.md, steps 2-5), one pass over the parameters:
//   g  = gTask + 2 c Omega (theta - anchor)
//   m  = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   dTheta = -lr (m / correction1) / (sqrt(v / correction2) + epsilon)
//   omega -= gTask * dTheta;  theta += dTheta
// correction1 = 1 - beta1^t and correction2 = 1 - beta2^t are computed on the host.
// GPU style: one work-item per parameter. CPU style: one work-item per 16 consecutive parameters
// as float16 vectors (PoCL did not vectorise the one-per-parameter form across work-items: it
// took about 10 ns a parameter on two Xeon cores), the last partial 16 one by one. Both styles
// evaluate the same expressions (SI_UPDATE), element by element the same arithmetic.

#define SI_UPDATE(T, gt, t, anchorValue, importanceValue, mValue, vValue)                           \
    const T g = gt + 2.0f * strength * (importanceValue) * (t - (anchorValue));                  \
    const T newM = beta1 * (mValue) + (1.0f - beta1) * g;                                         \
    const T newV = beta2 * (vValue) + (1.0f - beta2) * g * g;                                     \
    const T step = -learningRate * (newM / correction1) / (sqrt(newV / correction2) + epsilon);

#define SI_UPDATE_ARGS                                                                              \
    __global const float* gTask, int gTaskOffset, __global float* theta, int thetaOffset,          \
    __global const float* anchor, int anchorOffset, __global const float* importance,              \
    int importanceOffset, __global float* m, int mOffset, __global float* v, int vOffset,          \
    __global float* omega, int omegaOffset, int count, float strength, float learningRate,         \
    float beta1, float beta2, float epsilon, float correction1, float correction2

inline void si_update_one(SI_UPDATE_ARGS, int i) {
    const float gt = gTask[gTaskOffset + i];
    const float t = theta[thetaOffset + i];
    SI_UPDATE(float, gt, t, anchor[anchorOffset + i], importance[importanceOffset + i], m[mOffset + i], v[vOffset + i])
    m[mOffset + i] = newM;
    v[vOffset + i] = newV;
    omega[omegaOffset + i] -= gt * step;
    theta[thetaOffset + i] = t + step;
}

#ifdef SYNAPSE_STYLE_CPU

// global = ceil(count / 16).
__kernel void si_update(SI_UPDATE_ARGS) {
    const int first = (int)get_global_id(0) * 16;
    if (first >= count) return;
    if (first + 16 > count) {
        for (int i = first; i < count; i++)
            si_update_one(gTask, gTaskOffset, theta, thetaOffset, anchor, anchorOffset, importance, importanceOffset,
                          m, mOffset, v, vOffset, omega, omegaOffset, count, strength, learningRate, beta1, beta2,
                          epsilon, correction1, correction2, i);
        return;
    }
    const float16 gt = vload16(0, gTask + gTaskOffset + first);
    const float16 t = vload16(0, theta + thetaOffset + first);
    SI_UPDATE(float16, gt, t, vload16(0, anchor + anchorOffset + first), vload16(0, importance + importanceOffset + first),
              vload16(0, m + mOffset + first), vload16(0, v + vOffset + first))
    vstore16(newM, 0, m + mOffset + first);
    vstore16(newV, 0, v + vOffset + first);
    float16 o = vload16(0, omega + omegaOffset + first);
    o -= gt * step;
    vstore16(o, 0, omega + omegaOffset + first);
    vstore16(t + step, 0, theta + thetaOffset + first);
}

#else

__kernel void si_update(SI_UPDATE_ARGS) {
    const int i = (int)get_global_id(0);
    if (i >= count) return;
    si_update_one(gTask, gTaskOffset, theta, thetaOffset, anchor, anchorOffset, importance, importanceOffset,
                  m, mOffset, v, vOffset, omega, omegaOffset, count, strength, learningRate, beta1, beta2,
                  epsilon, correction1, correction2, i);
}

#endif
