// The OpenCL device the tests run on: the first CPU device (PoCL), or why it is missing. In CI
// (`CI=true`) a missing device is a failure, elsewhere a skip. Backends opened here pin every
// tunable kernel to its tile table's default (`TuningPolicy.off`): nothing is timed at first use,
// whatever `SYNAPSE_TUNE` says; only the tuner's own tests ask for `.firstUse`.
import Foundation
import SynapseEngine
import SynapseOpenCL
import SynapseReference

public enum Fixture {
    /// True in CI (`CI=true`), where a missing OpenCL device fails the tests instead of skipping.
    public static let inCI = ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true"

    /// The devices present; empty when no ICD or no device is installed.
    public static let devices: [OpenCLDevice] = (try? OpenCLDevice.all()) ?? []

    /// Tests that need a device run when one is present, and also in CI, where `cpuDevice()`
    /// then throws, so a missing device is a failure there and a skip elsewhere.
    public static let runDeviceTests = inCI || devices.contains { $0.kind == .cpu }

    /// The tuning policy of every test backend that does not test the tuner: the tables' defaults.
    public static let tuning = TuningPolicy.off

    /// The first CPU device (PoCL here), or an error saying none is present.
    public static func cpuDevice() throws -> OpenCLDevice {
        try OpenCLDevice.select("cpu", from: OpenCLDevice.all())
    }

    /// A backend on the CPU device with its tiles pinned to the tables' defaults. `style` nil:
    /// the device's own (CPU); `cache`: where compiled programs are kept (`SYNAPSE_KERNEL_CACHE`
    /// by default, so the tests share one cache).
    public static func backend(style: KernelStyle? = nil, cache: KernelCacheLocation = .environment,
                               profiling: Bool = false, flushDenormals: Bool = true) throws -> OpenCLBackend {
        try OpenCLBackend(device: cpuDevice(), style: style, cache: cache, profiling: profiling,
                          flushDenormals: flushDenormals, tuning: tuning)
    }
}

/// The OpenCL CPU device (PoCL) when one is present, tiles pinned as `Fixture.backend`. With
/// CI=true a missing device is an error, so CI cannot pass by skipping.
public func openCLCPUBackend() throws -> OpenCLBackend? {
    guard Fixture.devices.contains(where: { $0.kind == .cpu }) else {
        if Fixture.inCI {
            throw BackendError("CI=true but no OpenCL CPU device is present:\n" + OpenCLDevice.listing(Fixture.devices))
        }
        return nil
    }
    return try Fixture.backend()
}

/// Serialises every use of OpenCL in the tests that train on both backends: Swift Testing runs
/// tests in parallel, and two tests opening and driving PoCL at the same moment crashed inside
/// the driver (a NULL string in clGetDeviceInfo) in one of our runs.
public let openCLLock = NSLock()

/// Runs `body` on the reference backend, then, in the slow tier (`SYNAPSE_LONG_TESTS=1`), on the
/// OpenCL CPU device when present (holding `openCLLock` for the whole OpenCL part). The fast tier's
/// training on PoCL is BitIdentityTests (every method, bit for bit) and the kernel checks.
public func forEachTestBackend(_ body: (any Backend) throws -> Void) throws {
    try body(ReferenceBackend())
    guard TestTier.long else { return }
    openCLLock.lock()
    defer { openCLLock.unlock() }
    if let cl = try openCLCPUBackend() { try body(cl) }
}
