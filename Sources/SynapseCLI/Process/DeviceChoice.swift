// Opening the backend a tool runs on, from its `--device` text; every tool goes through here.
//   gpu        the first OpenCL GPU of any platform (an error listing the devices when none)
//   cpu        an OpenCL CPU device (PoCL here)
//   reference  the pure-Swift ReferenceBackend
//   <number>   an index into the `--list-devices` table
//   <text>     the first device whose name or platform contains it (case-insensitive)
// The default (nil or "") is gpu when a GPU is present, else cpu, and the spec actually used is
// returned so that a run can record it. Never a silent fallback to another device.
import SynapseEngine
import SynapseOpenCL
import SynapseReference

public enum DeviceChoice {
    /// The spec used when none is given: "gpu" when any OpenCL GPU is present, else "cpu".
    public static func defaultSpec(devices: [OpenCLDevice]) -> String {
        devices.contains { $0.kind == .gpu } ? "gpu" : "cpu"
    }

    /// The backend `spec` names (nil or empty: the default) and the spec actually used.
    /// `style` forces a kernel style (nil: by device type, or `SYNAPSE_KERNEL_STYLE`); `tuning`
    /// when tiles are timed (nil: `SYNAPSE_TUNE`, default first use; the tests pass `.off`).
    /// - Throws: `DeviceNotFound` (with the devices present) when the spec names no device, or
    ///   the OpenCL error of opening the one it names.
    public static func open(_ spec: String?, style: KernelStyle? = nil, profiling: Bool = false,
                            tuning: TuningPolicy? = nil) throws -> (backend: any Backend, spec: String) {
        let text = (spec ?? "").trimmingCharacters(in: .whitespaces)
        if text.lowercased() == "reference" { return (ReferenceBackend(), text) }
        let devices = try OpenCLDevice.all()
        let used = text.isEmpty ? defaultSpec(devices: devices) : text
        let device = try OpenCLDevice.select(used, from: devices)
        return (try OpenCLBackend(device: device, style: style, profiling: profiling, tuning: tuning), used)
    }

    /// The backend `spec` names, as `open`; for tools that do not record the spec.
    public static func makeBackend(_ spec: String?, style: KernelStyle? = nil, profiling: Bool = false) throws -> any Backend {
        try open(spec, style: style, profiling: profiling).backend
    }

    /// The spec for the rank with index `localRank` among the ranks on its node: for "gpu" (or the
    /// default, when GPUs are present) the index of GPU localRank mod GPUs, so the ranks of a
    /// node take its GPUs in turn; any other spec unchanged (a CPU device is shared, each rank
    /// with its share of the cores: `Cluster`).
    public static func placed(_ spec: String?, localRank: Int) throws -> String? {
        let text = (spec ?? "").trimmingCharacters(in: .whitespaces)
        guard text.isEmpty || text.lowercased() == "gpu" else { return spec }
        let gpus = try OpenCLDevice.all().filter { $0.kind == .gpu }
        guard !gpus.isEmpty else { return spec }
        return String(gpus[localRank % gpus.count].index)
    }

    /// The `--list-devices` text: every OpenCL device as a table, plus the reference backend.
    public static func listing() throws -> String {
        let devices = try OpenCLDevice.all()
        return "OpenCL devices:\n" + OpenCLDevice.listing(devices)
            + "Also: --device reference (the pure-Swift reference backend). Default here: \(defaultSpec(devices: devices)).\n"
    }

    /// A failure to open `--device` as one line for the experiment tools: what is wrong, then the
    /// devices present by number, name and type (the full table is `--list-devices`').
    static func oneLine(_ error: Error) -> String {
        let what: String
        let present: [OpenCLDevice]
        if let notFound = error as? DeviceNotFound {
            what = notFound.summary
            present = notFound.present
        } else {
            what = "\(error)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
            present = (try? OpenCLDevice.all()) ?? []
        }
        let names = present.map { "\($0.index) = \($0.name) [\($0.kind.rawValue)]" } + ["reference"]
        return what + "; present: " + names.joined(separator: ", ") + " (details: --list-devices)"
    }
}

extension DeviceOpener {
    /// OpenCL devices and the reference backend, as `DeviceChoice` opens them; errors are one line.
    public static let system = system(tuning: nil)

    /// The same, with OpenCL tiles chosen by `tuning` (nil: `SYNAPSE_TUNE`); the tests run the
    /// tools in-process with `.off`, the tables' defaults, so that nothing is timed at first use.
    public static func system(tuning: TuningPolicy?) -> DeviceOpener {
        DeviceOpener(
            open: { spec in
                do { return try DeviceChoice.open(spec, tuning: tuning) } catch { throw BackendError(DeviceChoice.oneLine(error)) }
            },
            list: { try DeviceChoice.listing() })
    }
}
