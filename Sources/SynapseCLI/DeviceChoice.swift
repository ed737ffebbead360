// Choosing the backend from `--device`, shared by every executable.
//   gpu        the first OpenCL GPU of any platform (an error listing the devices when none)
//   cpu        an OpenCL CPU device (PoCL here)
//   reference  the pure-Swift ReferenceBackend
//   <number>   an index into the `--list-devices` table
//   <text>     the first device whose name or platform contains it (case-insensitive)
// The default ("" or nil) is gpu when a GPU is present, else cpu. Never a silent fallback.
import SynapseEngine
import SynapseOpenCL
import SynapseReference

public enum DeviceChoice {
    /// The spec used when none is given: "gpu" when any OpenCL GPU is present, else "cpu".
    public static func defaultSpec(devices: [OpenCLDevice]) -> String {
        devices.contains { $0.kind == .gpu } ? "gpu" : "cpu"
    }

    /// The backend `spec` names (nil or empty: the default). Errors list the devices present.
    /// `style` forces a kernel style (nil: by device type, or `SYNAPSE_KERNEL_STYLE`).
    public static func makeBackend(_ spec: String?, style: KernelStyle? = nil, profiling: Bool = false) throws -> any Backend {
        let text = (spec ?? "").trimmingCharacters(in: .whitespaces)
        if text.lowercased() == "reference" { return ReferenceBackend() }
        let devices = try OpenCLDevice.all()
        let chosen = text.isEmpty ? defaultSpec(devices: devices) : text
        let device = try OpenCLDevice.select(chosen, from: devices)
        return try OpenCLBackend(device: device, style: style, profiling: profiling)
    }

    /// The `--list-devices` text: every OpenCL device as a table, plus the reference backend.
    public static func listing() throws -> String {
        let devices = try OpenCLDevice.all()
        return "OpenCL devices:\n" + OpenCLDevice.listing(devices)
            + "Also: --device reference (the pure-Swift reference backend). Default here: \(defaultSpec(devices: devices)).\n"
    }
}
