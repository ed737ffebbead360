// Shared set-up of the OpenCL tests: the PoCL CPU device, or why it is missing.
import Foundation
import SynapseEngine
@testable import SynapseOpenCL

enum Fixture {
    /// True in CI (`CI=true`), where a missing OpenCL device fails the tests instead of skipping.
    static let inCI = ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true"

    /// The devices present; empty when no ICD or no device is installed.
    static let devices: [OpenCLDevice] = (try? OpenCLDevice.all()) ?? []

    /// Tests that need a device run when one is present, and also in CI, where `cpuDevice()`
    /// then throws, so a missing device is a failure there and a skip elsewhere.
    static let runDeviceTests = inCI || devices.contains { $0.kind == .cpu }

    /// The first CPU device (PoCL here), or an error saying none is present.
    static func cpuDevice() throws -> OpenCLDevice {
        try OpenCLDevice.select("cpu", from: OpenCLDevice.all())
    }

    /// A fresh, empty folder under /tmp for a cache test.
    static func temporaryFolder(_ name: String) throws -> String {
        let path = NSTemporaryDirectory() + "synapse-ocl-test-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
