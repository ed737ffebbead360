// The fused Synaptic Intelligence update with plain gradient descent instead of Adam, one pass:
//   g = gTask + 2 c Omega (theta - anchor)
//   dTheta = -lr g
//   omega -= gTask * dTheta;  theta += dTheta
// Adam's moments are not read or written.
// GPU style: one work-item per parameter. CPU style: one work-item per 16 consecutive parameters
// as float16 vectors, the last partial 16 one by one (as si_update.cl, whose one-per-parameter
// form PoCL did not vectorise). Both styles evaluate the same expressions (SI_SGD_UPDATE),
// element by element the same arithmetic.

#define SI_SGD_UPDATE(T, gt, t, anchorValue, importanceValue)                                       \
    const T g = gt + 2.0f * strength * (importanceValue) * (t - (anchorValue));                  \
    const T step = -learningRate * g;

#define SI_SGD_UPDATE_ARGS                                                                          \
    __global const float* gTask, int gTaskOffset, __global float* theta, int thetaOffset,          \
    __global const float* anchor, int anchorOffset, __global const float* importance,              \
    int importanceOffset, __global float* omega, int omegaOffset, int count, float strength,        \
    float learningRate

inline void si_sgd_update_one(SI_SGD_UPDATE_ARGS, int i) {
    const float gt = gTask[gTaskOffset + i];
    const float t = theta[thetaOffset + i];
    SI_SGD_UPDATE(float, gt, t, anchor[anchorOffset + i], importance[importanceOffset + i])
    omega[omegaOffset + i] -= gt * step;
    theta[thetaOffset + i] = t + step;
}

#ifdef SYNAPSE_STYLE_CPU

// global = ceil(count / 16).
__kernel void si_sgd_update(SI_SGD_UPDATE_ARGS) {
    const int first = (int)get_global_id(0) * 16;
    if (first >= count) return;
    if (first + 16 > count) {
        for (int i = first; i < count; i++)
            si_sgd_update_one(gTask, gTaskOffset, theta, thetaOffset, anchor, anchorOffset, importance,
                              importanceOffset, omega, omegaOffset, count, strength, learningRate, i);
        return;
    }
    const float16 gt = vload16(0, gTask + gTaskOffset + first);
    const float16 t = vload16(0, theta + thetaOffset + first);
    SI_SGD_UPDATE(float16, gt, t, vload16(0, anchor + anchorOffset + first),
                  vload16(0, importance + importanceOffset + first))
    float16 o = vload16(0, omega + omegaOffset + first);
    o -= gt * step;
    vstore16(o, 0, omega + omegaOffset + first);
    vstore16(t + step, 0, theta + thetaOffset + first);
}

#else

__kernel void si_sgd_update(SI_SGD_UPDATE_ARGS) {
    const int i = (int)get_global_id(0);
    if (i >= count) return;
    si_sgd_update_one(gTask, gTaskOffset, theta, thetaOffset, anchor, anchorOffset, importance, importanceOffset,
                      omega, omegaOffset, count, strength, learningRate, i);
}

#endif
