// The runtime's housekeeping: named CL errors, build failures with their log, the program
// cache (hits, off, corrupt files), device selection and the kernel-style override.
import Foundation
import SynapseEngine
import SynapseReference
import Testing
@testable import SynapseOpenCL

@Suite("OpenCL runtime")
struct RuntimeTests {
    @Test("status codes are named, e.g. -5 is CL_OUT_OF_RESOURCES")
    func statusCodesAreNamed() {
        #expect(openCLStatusName(-5) == "CL_OUT_OF_RESOURCES")
        #expect(openCLStatusName(-11) == "CL_BUILD_PROGRAM_FAILURE")
        #expect(openCLStatusName(-54) == "CL_INVALID_WORK_GROUP_SIZE")
        #expect(openCLStatusName(-4242) == "unknown OpenCL status -4242")
        // Every 1.2 code (0, -1…-19, -30…-68) has its own CL_ name.
        let codes = Array(0...19).map { Int32(-$0) } + Array(30...68).map { Int32(-$0) }
        let names = codes.map(openCLStatusName)
        #expect(names.allSatisfy { $0.hasPrefix("CL_") })
        #expect(Set(names).count == codes.count)
        let error = OpenCLError(call: "clEnqueueNDRangeKernel", code: -5, detail: "gemm.cl/gemm_cpu")
        #expect(error.description.contains("clEnqueueNDRangeKernel"))
        #expect(error.description.contains("CL_OUT_OF_RESOURCES"))
        #expect(error.description.contains("gemm.cl/gemm_cpu"))
    }

    @Test("a failing launch throws the call and the code by name", .enabled(if: Fixture.runDeviceTests))
    func failingLaunchIsNamed() throws {
        let backend = try Fixture.backend(cache: .off)
        let kernel = try backend.kernel(file: "relu.cl", name: "relu_backward")
        let x = Tensor(storage: try backend.allocate(.float32, count: 8), shape: [8])
        // A local size far beyond any device's maximum work-group size.
        let tooLarge = 1 << 30
        do {
            try backend.launch(kernel, [.tensor(x), .tensor(x), .int(8), .tensor(x)], global: [tooLarge], local: [tooLarge])
            Issue.record("an impossible work-group size was accepted")
        } catch let error as OpenCLError {
            #expect(error.call == "clEnqueueNDRangeKernel")
            #expect(error.codeName.hasPrefix("CL_INVALID_"))
            #expect(error.description.contains("relu.cl/relu_backward"))
        }
    }

    @Test("a broken kernel reports the file and the build log", .enabled(if: Fixture.runDeviceTests))
    func brokenKernelReportsLog() throws {
        let backend = try Fixture.backend(cache: .off)
        let source = "__kernel void broken(__global float* x) { x[0] = not_declared_anywhere; }\n"
        do {
            _ = try backend.program(file: "broken_test.cl", source: source, options: backend.buildOptions([:]))
            Issue.record("a kernel using an undeclared name compiled")
        } catch let error as OpenCLError {
            #expect(error.call == "clBuildProgram")
            #expect(error.codeName == "CL_BUILD_PROGRAM_FAILURE")
            #expect(error.detail.contains("broken_test.cl"))
            #expect(error.detail.contains("not_declared_anywhere"))
        }
    }

    @Test("an unknown kernel file or name is an error naming it", .enabled(if: Fixture.runDeviceTests))
    func unknownKernelIsNamed() throws {
        let backend = try Fixture.backend(cache: .off)
        #expect(throws: BackendError.self) { try backend.kernel(file: "nothing.cl", name: "x") }
        do {
            _ = try backend.kernel(file: "relu.cl", name: "no_such_kernel")
            Issue.record("a missing kernel name was accepted")
        } catch let error as OpenCLError {
            #expect(error.codeName == "CL_INVALID_KERNEL_NAME")
            #expect(error.detail.contains("no_such_kernel"))
        }
    }

    @Test("the second backend loads programs from the disk cache", .enabled(if: Fixture.runDeviceTests))
    func cacheHitOnSecondBuild() throws {
        let temporary = try TemporaryFolder("ocl-hit")
        defer { temporary.remove() }
        let folder = temporary.path
        let first = try Fixture.backend(cache: .directory(folder))
        _ = try first.kernel(file: "relu.cl", name: "relu_backward")
        #expect(first.cacheStatistics == KernelCacheStatistics(hits: 0, compiled: 1, rejected: 0, written: 1))
        let files = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(files.count == 1 && files[0].hasSuffix(".bin"))

        let second = try Fixture.backend(cache: .directory(folder))
        _ = try second.kernel(file: "relu.cl", name: "relu_backward")
        #expect(second.cacheStatistics == KernelCacheStatistics(hits: 1, compiled: 0, rejected: 0, written: 0))
        // Other defines are another program, so another cache entry.
        _ = try second.kernel(file: "reduce.cl", name: "accumulate_sum", defines: ["REDUCE_WG": "8"])
        #expect(second.cacheStatistics.compiled == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).count == 2)
    }

    @Test("cache off compiles every time and writes nothing", .enabled(if: Fixture.runDeviceTests))
    func cacheOffWritesNothing() throws {
        for _ in 0..<2 {
            let backend = try Fixture.backend(cache: .off)
            _ = try backend.kernel(file: "relu.cl", name: "relu_backward")
            #expect(backend.cacheStatistics == KernelCacheStatistics(hits: 0, compiled: 1, rejected: 0, written: 0))
        }
        #expect(KernelCacheLocation.environment.resolvedPath(environment: ["SYNAPSE_KERNEL_CACHE": "off"]) == nil)
        #expect(KernelCacheLocation.environment.resolvedPath(environment: ["SYNAPSE_KERNEL_CACHE": "OFF"]) == nil)
        #expect(KernelCacheLocation.environment.resolvedPath(environment: ["SYNAPSE_KERNEL_CACHE": "/x/y"]) == "/x/y")
        #expect(KernelCacheLocation.environment.resolvedPath(environment: ["XDG_CACHE_HOME": "/c"]) == "/c/synapse/kernels")
        #expect(KernelCacheLocation.environment.resolvedPath(environment: ["HOME": "/h"]) == "/h/.cache/synapse/kernels")
    }

    @Test("a corrupt cache file is rebuilt, not fatal", .enabled(if: Fixture.runDeviceTests),
          arguments: ["garbage", "truncated", "flipped"])
    func corruptCacheIsRebuilt(damage: String) throws {
        let temporary = try TemporaryFolder("ocl-corrupt")
        defer { temporary.remove() }
        let folder = temporary.path
        let first = try Fixture.backend(cache: .directory(folder))
        _ = try first.kernel(file: "relu.cl", name: "relu_backward")
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: folder).first)
        let path = folder + "/" + name
        var bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        switch damage {
        case "garbage": bytes = Array("not a kernel cache file".utf8)
        case "truncated": bytes = Array(bytes.prefix(bytes.count / 2))
        default: bytes[bytes.count - 10] ^= 0xFF
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let second = try Fixture.backend(cache: .directory(folder))
        _ = try second.kernel(file: "relu.cl", name: "relu_backward")
        #expect(second.cacheStatistics == KernelCacheStatistics(hits: 0, compiled: 1, rejected: 1, written: 1))
        // The rebuilt program works: relu backward on a small vector.
        let output = Tensor(storage: try second.allocate(.float32, count: 4), shape: [4])
        let gradient = Tensor(storage: try second.allocate(.float32, count: 4), shape: [4])
        try second.upload([1, -1, 0, 2] as [Float], to: output)
        try second.upload([5, 6, 7, 8] as [Float], to: gradient)
        try second.reluBackward(output: output, dOutput: gradient, count: 4, dInput: gradient)
        #expect(try second.download(gradient) == [5, 0, 0, 8])
        // The third backend finds the repaired file.
        let third = try Fixture.backend(cache: .directory(folder))
        _ = try third.kernel(file: "relu.cl", name: "relu_backward")
        #expect(third.cacheStatistics.hits == 1)
    }

    @Test("device selection: cpu, index, name substring, and errors that list the devices",
          .enabled(if: Fixture.runDeviceTests))
    func deviceSelection() throws {
        let devices = try OpenCLDevice.all()
        let cpu = try OpenCLDevice.select("cpu", from: devices)
        #expect(cpu.kind == .cpu)
        #expect(try OpenCLDevice.select("0", from: devices).name == devices[0].name)
        // A piece of the name, in another case, finds the same device.
        let piece = String(cpu.name.prefix(6)).uppercased()
        #expect(try OpenCLDevice.select(piece, from: devices).name.uppercased().contains(piece))

        func message(_ spec: String) -> String? {
            do { _ = try OpenCLDevice.select(spec, from: devices); return nil } catch { return "\(error)" }
        }
        for bad in ["\(devices.count)", "-1", "no-such-device-xyz", ""] {
            let text = try #require(message(bad), "'\(bad)' selected a device")
            #expect(text.contains(cpu.name), "the error should list the devices present: \(text)")
            #expect(text.contains("'\(bad)'"))
        }
        if !devices.contains(where: { $0.kind == .gpu }) {
            let text = try #require(message("gpu"), "gpu selected a non-GPU device")
            #expect(text.contains("GPU") && text.contains(cpu.name))
        } else {
            #expect(try OpenCLDevice.select("gpu", from: devices).kind == .gpu)
        }
        let table = OpenCLDevice.listing(devices)
        #expect(table.contains(cpu.name) && table.contains(cpu.openCLVersion) && table.contains("\(cpu.computeUnits)"))
    }

    @Test("selection from an empty device list is an error, not a crash")
    func selectionWithoutDevices() {
        #expect(throws: DeviceNotFound.self) { try OpenCLDevice.select("cpu", from: []) }
        #expect(throws: DeviceNotFound.self) { try OpenCLDevice.select("0", from: []) }
        #expect(OpenCLDevice.listing([]).contains("no OpenCL devices"))
    }

    @Test("kernel style follows the device type unless SYNAPSE_KERNEL_STYLE forces one")
    func kernelStyleOverride() throws {
        #expect(try KernelStyle.forDevice(.cpu, environment: [:]) == .cpu)
        #expect(try KernelStyle.forDevice(.gpu, environment: [:]) == .gpu)
        #expect(try KernelStyle.forDevice(.cpu, environment: ["SYNAPSE_KERNEL_STYLE": "gpu"]) == .gpu)
        #expect(try KernelStyle.forDevice(.gpu, environment: ["SYNAPSE_KERNEL_STYLE": "CPU"]) == .cpu)
        #expect(throws: BackendError.self) { try KernelStyle.forDevice(.cpu, environment: ["SYNAPSE_KERNEL_STYLE": "fast"]) }
    }

    @Test("a tensor of another backend is refused with an error", .enabled(if: Fixture.runDeviceTests))
    func foreignTensorIsRefused() throws {
        let backend = try Fixture.backend(cache: .off)
        let reference = ReferenceBackend()
        let foreign = Tensor(storage: try reference.allocate(.float32, count: 4), shape: [4])
        #expect(throws: BackendError.self) { try backend.fill(foreign, value: 1) }
    }

    @Test("timing and profiling report positive durations", .enabled(if: Fixture.runDeviceTests))
    func timingAndProfiling() throws {
        let backend = try Fixture.backend(profiling: true)
        let x = Tensor(storage: try backend.allocate(.float32, count: 1 << 16), shape: [1 << 16])
        let seconds = try backend.time {
            try backend.reluBackward(output: x, dOutput: x, count: x.count, dInput: x)
        }
        #expect(seconds > 0)
        let profile = try backend.takeKernelProfile()
        #expect(profile.count == 1 && profile[0].kernel == "relu.cl/relu_backward" && profile[0].seconds >= 0)
        #expect(try backend.takeKernelProfile().isEmpty)
    }
}
