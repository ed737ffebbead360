// Minibatch assembly on the device.
//   gather_rows:   dst[b, d] = (float)src[indices[b], d] * scale, src uint8 images [sourceRows, rowLength].
//   gather_labels: dst[b] = src[indices[b]] (int32 labels).
// An index outside the source cannot be reported without a host wait, so it yields a visible
// poison value instead of reading out of bounds: NaN for images, -1 for labels.
__kernel void gather_rows(__global const uchar* src, int srcOffset, int sourceRows,
                          __global const int* indices, int indicesOffset,
                          int rows, int rowLength, float scale,
                          __global float* dst, int dstOffset) {
    const int d = (int)get_global_id(0);
    const int b = (int)get_global_id(1);
    if (d >= rowLength || b >= rows) return;
    const int row = indices[indicesOffset + b];
    float value = NAN;
    if (row >= 0 && row < sourceRows) value = (float)src[srcOffset + row * rowLength + d] * scale;
    dst[dstOffset + b * rowLength + d] = value;
}

__kernel void gather_labels(__global const int* src, int srcOffset, int sourceCount,
                            __global const int* indices, int indicesOffset, int rows,
                            __global int* dst, int dstOffset) {
    const int b = (int)get_global_id(0);
    if (b >= rows) return;
    const int row = indices[indicesOffset + b];
    dst[dstOffset + b] = (row >= 0 && row < sourceCount) ? src[srcOffset + row] : -1;
}
