// Shared prelude for every kernel file (OpenCL C 1.2).
