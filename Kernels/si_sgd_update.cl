// The fused Synaptic Intelligence update with plain gradient descent instead of Adam, one pass,
// one work-item per parameter:
//   g = gTask + 2 c Omega (theta - anchor)
//   dTheta = -lr g
//   omega -= gTask * dTheta;  theta += dTheta
// Adam's moments are not read or written.
__kernel void si_sgd_update(__global const float* gTask, int gTaskOffset,
                            __global float* theta, int thetaOffset,
                            __global const float* anchor, int anchorOffset,
                            __global const float* importance, int importanceOffset,
                            __global float* omega, int omegaOffset,
                            int count, float strength, float learningRate) {
    const int i = (int)get_global_id(0);
    if (i >= count) return;
    const float gt = gTask[gTaskOffset + i];
    const float t = theta[thetaOffset + i];
    const float g = gt + 2.0f * strength * importance[importanceOffset + i] * (t - anchor[anchorOffset + i]);
    const float step = -learningRate * g;
    omega[omegaOffset + i] -= gt * step;
    theta[thetaOffset + i] = t + step;
}
