// OpenCL 1.2 API: NVIDIA's OpenCL C is 1.2, so the host asks for nothing newer.
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
