// Platform and device enumeration, and choosing a device from a user's `--device` text.
import COpenCL
import Foundation
import SynapseEngine

/// One OpenCL device as enumerated at start-up: what a listing shows and what a backend opens.
///
/// Sendable by hand: every stored property is an immutable value. The two C handles are not
/// Swift-Sendable pointers, but they are identifiers the ICD hands out once per process and never
/// frees or changes (platforms and root devices are not reference-counted), and the OpenCL spec
/// (1.1 and later) makes every API call that takes them thread-safe.
public struct OpenCLDevice: CustomStringConvertible, @unchecked Sendable {
    /// Position in `OpenCLDevice.all()` (platforms in driver order, devices within each).
    public let index: Int
    public let name: String
    public let platformName: String
    public let kind: DeviceKind
    public let computeUnits: Int
    /// Global memory in bytes.
    public let globalMemoryBytes: UInt64
    /// CL_DEVICE_VERSION, e.g. "OpenCL 1.2 CUDA".
    public let openCLVersion: String
    /// CL_DRIVER_VERSION; part of the program-cache key (a new driver recompiles).
    public let driverVersion: String
    /// Whether the device computes with single-precision denormals (CL_FP_DENORM in
    /// CL_DEVICE_SINGLE_FP_CONFIG); when false it flushes them whatever the build options say.
    public let supportsDenormals: Bool

    let id: cl_device_id
    let platform: cl_platform_id

    public var description: String { "#\(index) \(name) [\(kind.rawValue), \(platformName)]" }

    /// Every device of every platform. No platform at all (no ICD installed) is an empty list,
    /// not an error; a failing query of a present platform is an error.
    ///
    /// Enumerated once per process: the set of devices does not change while it runs, and PoCL
    /// was seen to crash (a null dereference inside clGetDeviceInfo) when two threads enumerated
    /// at the same time during its first initialisation.
    public static func all() throws -> [OpenCLDevice] {
        try enumeration.get()
    }

    /// Swift initialises a static `let` exactly once, thread-safely, on first use.
    private static let enumeration: Result<[OpenCLDevice], Error> = Result {
        try OpenCLDriverLock.run { try enumerate() }
    }

    private static func enumerate() throws -> [OpenCLDevice] {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        // ocl-icd reports "no platforms" as CL_PLATFORM_NOT_FOUND_KHR (-1001).
        if status == -1001 || platformCount == 0 { return [] }
        try checkCL(status, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try checkCL(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

        var devices: [OpenCLDevice] = []
        for case let platform? in platforms {
            let platformName = try platformString(platform, cl_platform_info(CL_PLATFORM_NAME))
            var deviceCount: cl_uint = 0
            let countStatus = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
            if countStatus == CL_DEVICE_NOT_FOUND { continue }
            try checkCL(countStatus, "clGetDeviceIDs", "platform \(platformName)")
            var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try checkCL(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil),
                        "clGetDeviceIDs", "platform \(platformName)")
            for case let id? in ids {
                let type: cl_device_type = try deviceValue(id, cl_device_info(CL_DEVICE_TYPE))
                let kind: DeviceKind
                if type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0 { kind = .gpu }
                else if type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0 { kind = .cpu }
                else if type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR) != 0 { kind = .accelerator }
                else { kind = .other }
                let units: cl_uint = try deviceValue(id, cl_device_info(CL_DEVICE_MAX_COMPUTE_UNITS))
                let memory: cl_ulong = try deviceValue(id, cl_device_info(CL_DEVICE_GLOBAL_MEM_SIZE))
                let floatConfig: cl_device_fp_config = try deviceValue(id, cl_device_info(CL_DEVICE_SINGLE_FP_CONFIG))
                devices.append(OpenCLDevice(
                    index: devices.count,
                    name: try deviceString(id, cl_device_info(CL_DEVICE_NAME)),
                    platformName: platformName, kind: kind, computeUnits: Int(units),
                    globalMemoryBytes: memory,
                    openCLVersion: try deviceString(id, cl_device_info(CL_DEVICE_VERSION)),
                    driverVersion: try deviceString(id, cl_device_info(CL_DRIVER_VERSION)),
                    supportsDenormals: floatConfig & cl_device_fp_config(CL_FP_DENORM) != 0,
                    id: id, platform: platform))
            }
        }
        return devices
    }

    /// Picks a device from `devices` by `spec`: "gpu" (first GPU of any platform), "cpu" (first
    /// CPU device), a number (index into the listing) or a case-insensitive substring of the
    /// device or platform name.
    /// - Throws: `DeviceNotFound` when nothing matches; it carries the devices present.
    public static func select(_ spec: String, from devices: [OpenCLDevice]) throws -> OpenCLDevice {
        let wanted = spec.trimmingCharacters(in: .whitespaces)
        func missing(_ what: String) -> DeviceNotFound {
            DeviceNotFound(spec: spec, wanted: what, present: devices)
        }
        switch wanted.lowercased() {
        case "gpu":
            guard let gpu = devices.first(where: { $0.kind == .gpu }) else { throw missing("OpenCL GPU device") }
            return gpu
        case "cpu":
            guard let cpu = devices.first(where: { $0.kind == .cpu }) else { throw missing("OpenCL CPU device") }
            return cpu
        default:
            break
        }
        if let number = Int(wanted) {
            guard number >= 0 && number < devices.count else {
                throw missing("device number \(number) (valid: 0..<\(devices.count))")
            }
            return devices[number]
        }
        guard !wanted.isEmpty else { throw missing("device (empty name)") }
        let needle = wanted.lowercased()
        let matches = devices.filter {
            $0.name.lowercased().contains(needle) || $0.platformName.lowercased().contains(needle)
        }
        guard let first = matches.first else { throw missing("device whose name contains '\(wanted)'") }
        return first
    }

    /// A fixed-width table of `devices`: index, type, compute units, memory, OpenCL version,
    /// driver, name and platform. "(no OpenCL devices found)" when empty.
    public static func listing(_ devices: [OpenCLDevice]) -> String {
        if devices.isEmpty { return "  (no OpenCL devices found: is an ICD such as pocl-opencl-icd installed?)\n" }
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(2, n - s.count)) }
        var text = "  " + pad("#", 4) + pad("type", 6) + pad("units", 7) + pad("memory", 11)
            + pad("OpenCL", 22) + pad("driver", 14) + "name (platform)\n"
        for d in devices {
            let gib = Double(d.globalMemoryBytes) / 1_073_741_824
            text += "  " + pad("\(d.index)", 4) + pad(d.kind.rawValue, 6) + pad("\(d.computeUnits)", 7)
                + pad(String(format: "%.1f GiB", gib), 11) + pad(d.openCLVersion, 22) + pad(d.driverVersion, 14)
                + "\(d.name) (\(d.platformName))\n"
        }
        return text
    }
}

/// A `--device` text that names no device present. Typed, so that a tool can word it for its
/// own output (one line, or with the full table) without taking a message apart. It holds
/// immutable copies of what the driver reported.
public struct DeviceNotFound: Error, CustomStringConvertible, Sendable {
    /// The text as the user gave it.
    public let spec: String
    /// What was looked for, e.g. "OpenCL GPU device" or "device number 7 (valid: 0..<2)".
    public let wanted: String
    /// Every device present, in listing order.
    public let present: [OpenCLDevice]

    /// What is missing, without the devices: "no OpenCL GPU device for --device 'gpu'".
    public var summary: String { "no \(wanted) for --device '\(spec)'" }

    /// The summary followed by the full device table.
    public var description: String { summary + "; devices present:\n" + OpenCLDevice.listing(present) }
}

// MARK: Info queries

private func platformString(_ platform: cl_platform_id, _ info: cl_platform_info) throws -> String {
    var size = 0
    try checkCL(clGetPlatformInfo(platform, info, 0, nil, &size), "clGetPlatformInfo")
    var bytes = [CChar](repeating: 0, count: size + 1)
    try checkCL(clGetPlatformInfo(platform, info, size, &bytes, nil), "clGetPlatformInfo")
    return cString(bytes)
}

func deviceString(_ device: cl_device_id, _ info: cl_device_info) throws -> String {
    var size = 0
    try checkCL(clGetDeviceInfo(device, info, 0, nil, &size), "clGetDeviceInfo")
    var bytes = [CChar](repeating: 0, count: size + 1)
    try checkCL(clGetDeviceInfo(device, info, size, &bytes, nil), "clGetDeviceInfo")
    return cString(bytes)
}

func deviceValue<T: FixedWidthInteger>(_ device: cl_device_id, _ info: cl_device_info) throws -> T {
    var value: T = 0
    try checkCL(clGetDeviceInfo(device, info, MemoryLayout<T>.size, &value, nil), "clGetDeviceInfo")
    return value
}

/// Serialises the driver calls that set up state shared across a process (enumeration, context
/// and queue creation, program builds). They run a handful of times per backend, never inside
/// a training step; PoCL misbehaved when tests ran them from several threads at once.
enum OpenCLDriverLock {
    private static let lock = NSLock()

    static func run<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// The text of a NUL-terminated C buffer, trimmed of trailing spaces (some drivers pad names).
func cString(_ bytes: [CChar]) -> String {
    let utf8 = bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: utf8, as: UTF8.self).trimmingCharacters(in: .whitespaces)
}
