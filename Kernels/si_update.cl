// The fused Synaptic Intelligence update (docs/algorithm.md, steps 2-5), one pass, one work-item per parameter:
//   g  = gTask + 2 c Omega (theta - anchor)
//   m  = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
//   dTheta = -lr (m / correction1) / (sqrt(v / correction2) + epsilon)
//   omega -= gTask * dTheta;  theta += dTheta
// correction1 = 1 - beta1^t and correction2 = 1 - beta2^t are computed on the host.
__kernel void si_update(__global const float* gTask, int gTaskOffset,
                        __global float* theta, int thetaOffset,
                        __global const float* anchor, int anchorOffset,
                        __global const float* importance, int importanceOffset,
                        __global float* m, int mOffset,
                        __global float* v, int vOffset,
                        __global float* omega, int omegaOffset,
                        int count, float strength, float learningRate, float beta1, float beta2,
                        float epsilon, float correction1, float correction2) {
    const int i = (int)get_global_id(0);
    if (i >= count) return;
    const float gt = gTask[gTaskOffset + i];
    const float t = theta[thetaOffset + i];
    const float g = gt + 2.0f * strength * importance[importanceOffset + i] * (t - anchor[anchorOffset + i]);
    const float newM = beta1 * m[mOffset + i] + (1.0f - beta1) * g;
    const float newV = beta2 * v[vOffset + i] + (1.0f - beta2) * g * g;
    const float step = -learningRate * (newM / correction1) / (sqrt(newV / correction2) + epsilon);
    m[mOffset + i] = newM;
    v[vOffset + i] = newV;
    omega[omegaOffset + i] -= gt * step;
    theta[thetaOffset + i] = t + step;
}
