// Every file of this test target sees the shared test helpers (Tests/SynapseTestSupport: the
// slow-tier switch, temporary folders, the OpenCL test device, synthetic data, the tool runner).
@_exported import SynapseTestSupport
