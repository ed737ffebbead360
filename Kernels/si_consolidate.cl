// End-of-task SI consolidation, in this order per parameter:
//   Omega = max(0, Omega + omega / ((theta - anchor)^2 + xi));  anchor = theta;  omega = 0.
__kernel void si_consolidate(__global const float* theta, int thetaOffset,
                             __global float* anchor, int anchorOffset,
                             __global float* importance, int importanceOffset,
                             __global float* omega, int omegaOffset,
                             int count, float xi) {
    const int i = (int)get_global_id(0);
    if (i >= count) return;
    const float t = theta[thetaOffset + i];
    const float delta = t - anchor[anchorOffset + i];
    const float total = importance[importanceOffset + i] + omega[omegaOffset + i] / (delta * delta + xi);
    importance[importanceOffset + i] = fmax(0.0f, total);
    anchor[anchorOffset + i] = t;
    omega[omegaOffset + i] = 0.0f;
}
