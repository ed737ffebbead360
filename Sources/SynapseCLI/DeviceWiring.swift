// The tools' device opener: `DeviceChoice` (the --device rules and the --list-devices table),
// plus the spec actually used, which the run records (the default is resolved to "gpu" or "cpu").

import Foundation
import SynapseEngine
import SynapseOpenCL

extension DeviceOpener {
    /// OpenCL devices and the reference backend, as `DeviceChoice` chooses them.
    public static let system = DeviceOpener(
        open: { spec in
            let text = (spec ?? "").trimmingCharacters(in: .whitespaces)
            do {
                let used = text.isEmpty ? DeviceChoice.defaultSpec(devices: try OpenCLDevice.all()) : text
                return (try DeviceChoice.makeBackend(used), used)
            } catch {
                // One line: what is wrong and the devices present (the full table is --list-devices').
                var first = "\(error)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
                if let cut = first.range(of: "; devices present") { first = String(first[..<cut.lowerBound]) }
                let present = ((try? OpenCLDevice.all()) ?? []).map { "\($0.index) = \($0.name) [\($0.kind.rawValue)]" }
                throw BackendError(first + "; present: " + (present + ["reference"]).joined(separator: ", ")
                                   + " (details: --list-devices)")
            }
        },
        list: { try DeviceChoice.listing() })
}
