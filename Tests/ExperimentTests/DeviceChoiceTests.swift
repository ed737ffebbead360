// Opening --device: a spec that names nothing is one line built from the typed error, naming the
// spec and every device present; the default spec resolves to the device kind present.
import Testing
@testable import SynapseCLI
import SynapseEngine
import SynapseOpenCL

struct DeviceChoiceTests {
    @Test func anUnknownDeviceIsOneLineNamingTheSpecAndEveryDevicePresent() throws {
        var generator = SeededGenerator(seed: 97)
        let devices = (try? OpenCLDevice.all()) ?? []
        let specs = ["no-such-device-\(generator.nextInt(below: 1_000_000))", "\(devices.count + generator.nextInt(below: 50))"]
            + (devices.contains { $0.kind == .gpu } ? [] : ["gpu"])
        for spec in specs {
            do {
                _ = try DeviceOpener.system.open(spec)
                Issue.record("--device \(spec) opened a device")
            } catch {
                let line = "\(error)"
                #expect(!line.contains("\n"), "not one line: \(line)")
                #expect(!line.contains("devices present"), "the full table belongs to --list-devices: \(line)")
                #expect(line.hasPrefix("no ") && line.contains("--device '\(spec)'"), "\(line)")
                #expect(line.hasSuffix("reference (details: --list-devices)"), "\(line)")
                for device in devices {
                    #expect(line.contains("\(device.index) = \(device.name) [\(device.kind.rawValue)]"), "\(line)")
                }
            }
        }
    }

    @Test func theTypedErrorCarriesTheDevicesItWasChosenFrom() throws {
        let devices = (try? OpenCLDevice.all()) ?? []
        do {
            _ = try OpenCLDevice.select("no such name", from: devices)
            Issue.record("a device matched 'no such name'")
        } catch let error as DeviceNotFound {
            #expect(error.spec == "no such name")
            #expect(error.present.map(\.name) == devices.map(\.name))
            #expect(DeviceChoice.oneLine(error).hasPrefix(error.summary + "; present: "))
        }
    }

    @Test func referenceAndTheDefaultAreRecordedAsUsed() throws {
        #expect(try DeviceOpener.system.open(" reference ").spec == "reference")
        let devices = (try? OpenCLDevice.all()) ?? []
        guard !devices.isEmpty else { return }
        let opened = try DeviceOpener.system.open(nil)
        #expect(opened.spec == DeviceChoice.defaultSpec(devices: devices))
        #expect(opened.backend.deviceKind == (devices.contains { $0.kind == .gpu } ? .gpu : .cpu))
    }
}
