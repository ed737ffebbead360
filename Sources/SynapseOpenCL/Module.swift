// SynapseOpenCL: the OpenCL backend.
import COpenCL
let embeddedKernelCount = EmbeddedKernels.sources.count
