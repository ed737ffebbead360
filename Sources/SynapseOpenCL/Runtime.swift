// The OpenCL runtime under the backend: storage, programs, kernels, launches, workspaces.
//
// Internal launch API (used by the op files: LinearAlgebra.swift, Convolution.swift, ...):
//   kernel(file:name:defines:)   the kernel `name` of `Kernels/<file>` built for this device with
//                                 the style define plus `defines` (-D NAME=value); programs are
//                                 built once per (file, defines) and kernels created once.
//   launch(_:_:global:local:)     sets the arguments in order and enqueues an NDRange. `global`
//                                 is the number of work-items wanted per dimension; with `local`
//                                 it is rounded up to a multiple, so kernels must bounds-check.
//   KernelArg.tensor(t)           TWO kernel arguments: the buffer and the view's element offset
//                                 (int). Kernels declare them as `__global float* x, int xOffset`.
//   style / deviceKind            which kernel variant this device builds (cpu or gpu).
//   workspace(_:count:)           a float32 scratch tensor owned by the backend, grown on demand
//                                 (contents undefined; valid until the next call with the same slot).
//   mem(_:) / checkedInt(_:_:)    a tensor's cl_mem; an Int that must fit a kernel `int`.
import COpenCL
import Foundation
import SynapseEngine

/// Which variant of each kernel is built: GPUs want local-memory tiles and many work-items,
/// CPUs (PoCL) want barrier-free register blocking and few, fat work-items (docs/kernels.md).
public enum KernelStyle: String, Sendable {
    case cpu, gpu

    /// The style for a device kind, unless `SYNAPSE_KERNEL_STYLE=cpu|gpu` forces one.
    /// An unrecognised value of the variable is an error, never ignored.
    public static func forDevice(_ kind: DeviceKind) throws -> KernelStyle {
        try forDevice(kind, environment: ProcessInfo.processInfo.environment)
    }

    /// The style for a device kind under the environment variables `env`.
    public static func forDevice(_ kind: DeviceKind, environment env: [String: String]) throws -> KernelStyle {
        if let forced = env["SYNAPSE_KERNEL_STYLE"], !forced.isEmpty {
            guard let style = KernelStyle(rawValue: forced.lowercased()) else {
                throw BackendError("SYNAPSE_KERNEL_STYLE is '\(forced)'; expected 'cpu' or 'gpu'")
            }
            return style
        }
        return kind == .gpu || kind == .accelerator ? .gpu : .cpu
    }
}

/// A `cl_mem` buffer: the storage behind every OpenCL tensor.
final class OpenCLStorage: DeviceStorage {
    let buffer: cl_mem
    let elementType: ElementType
    let capacity: Int
    private weak var owner: OpenCLBackend?

    init(buffer: cl_mem, elementType: ElementType, capacity: Int, owner: OpenCLBackend) {
        self.buffer = buffer; self.elementType = elementType; self.capacity = capacity; self.owner = owner
    }

    deinit {
        clReleaseMemObject(buffer)
        owner?.released(bytes: capacity * elementType.byteSize)
    }
}

/// One argument of a kernel launch.
enum KernelArg {
    /// Two arguments: `__global T* buffer, int offsetInElements`.
    case tensor(Tensor)
    /// A bare buffer argument.
    case buffer(cl_mem)
    case int(Int32)
    case uint(UInt32)
    case float(Float)
    /// `__local` memory of this many bytes.
    case local(bytes: Int)
}

/// A created kernel object and the label used in error messages ("gemm.cl/gemm_cpu").
struct CLKernel {
    let handle: cl_kernel
    let label: String
}

extension OpenCLBackend {
    /// The `cl_mem` behind a tensor; an error when the tensor belongs to another backend.
    func mem(_ tensor: Tensor) throws -> cl_mem {
        guard let storage = tensor.storage as? OpenCLStorage else {
            throw BackendError("a tensor of \(type(of: tensor.storage)) was passed to the OpenCL backend on \(deviceName)")
        }
        return storage.buffer
    }

    /// `value` as a kernel `int`, or an error naming `what` when it does not fit.
    func checkedInt(_ value: Int, _ what: String) throws -> Int32 {
        guard let narrow = Int32(exactly: value) else {
            throw BackendError("\(what) = \(value) does not fit a 32-bit kernel int")
        }
        return narrow
    }

    /// The build options for `defines`: OpenCL C 1.2, correctly rounded / and sqrt (so results
    /// match the reference closely), denormals flushed to zero unless the backend was opened
    /// with `flushDenormals: false` (see `OpenCLBackend.flushesDenormals`), the style define,
    /// then the defines sorted by name.
    func buildOptions(_ defines: [String: String]) -> String {
        var options = "-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt"
        if flushesDenormals { options += " -cl-denorms-are-zero" }
        options += " -DSYNAPSE_STYLE_\(style.rawValue.uppercased())=1"
        for name in defines.keys.sorted() {
            options += " -D\(name)=\(defines[name] ?? "")"
        }
        return options
    }

    /// Kernel `name` from `Kernels/<file>`, built once per distinct `defines` for this device.
    func kernel(file: String, name: String, defines: [String: String] = [:]) throws -> CLKernel {
        let options = buildOptions(defines)
        let kernelKey = file + "|" + name + "|" + options
        if let cached = kernels[kernelKey] { return cached }
        guard let opSource = EmbeddedKernels.sources[file] else {
            throw BackendError("no kernel file Kernels/\(file) is embedded in this binary")
        }
        let program = try program(file: file, source: opSource, options: options)
        var status: cl_int = 0
        let handle = clCreateKernel(program, name, &status)
        try checkCL(status, "clCreateKernel", "kernel '\(name)' in Kernels/\(file)")
        guard let handle else { throw OpenCLError(call: "clCreateKernel", code: -48, detail: "null kernel '\(name)'") }
        let created = CLKernel(handle: handle, label: "\(file)/\(name)")
        kernels[kernelKey] = created
        return created
    }

    /// The program for prelude + `source`, from memory, the disk cache, or compiled.
    func program(file: String, source opSource: String, options: String) throws -> cl_program {
        let programKey = file + "|" + options + "|" + hex64(fnv1a64(opSource.utf8))
        if let built = programs[programKey] { return built }
        let prelude = EmbeddedKernels.sources["prelude.h"] ?? ""
        // `#line 1` makes the build log's line numbers those of the op file itself.
        let source = prelude + "\n#line 1\n" + opSource
        let cachePath = cache.path(deviceName: device.name, driver: device.driverVersion, options: options, source: source)

        if let cachePath {
            do {
                if let binary = try cache.load(cachePath) {
                    if let loaded = try? programFromBinary(binary, options: options) {
                        cacheStatistics.hits += 1
                        programs[programKey] = loaded
                        return loaded
                    }
                    cacheStatistics.rejected += 1
                }
            } catch {
                cacheStatistics.rejected += 1
            }
        }

        let compiled = try compile(file: file, source: source, options: options)
        cacheStatistics.compiled += 1
        if let cachePath, let binary = try? binaryOf(compiled), !binary.isEmpty {
            if cache.store(binary, at: cachePath) { cacheStatistics.written += 1 }
        }
        programs[programKey] = compiled
        return compiled
    }

    private func compile(file: String, source: String, options: String) throws -> cl_program {
        var status: cl_int = 0
        let program: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            return clCreateProgramWithSource(context, 1, &pointer, nil, &status)
        }
        try checkCL(status, "clCreateProgramWithSource", "Kernels/\(file)")
        guard let program else { throw OpenCLError(call: "clCreateProgramWithSource", code: -44, detail: "Kernels/\(file)") }
        var deviceID: cl_device_id? = device.id
        let buildStatus = OpenCLDriverLock.run { clBuildProgram(program, 1, &deviceID, options, nil, nil) }
        if buildStatus != CL_SUCCESS {
            let log = buildLog(program)
            clReleaseProgram(program)
            throw OpenCLError(call: "clBuildProgram", code: buildStatus,
                              detail: "Kernels/\(file) for \(device.name) with options '\(options)'; build log:\n\(log)")
        }
        return program
    }

    private func programFromBinary(_ binary: [UInt8], options: String) throws -> cl_program {
        var status: cl_int = 0
        var binaryStatus: cl_int = 0
        var deviceID: cl_device_id? = device.id
        var length = binary.count
        let program: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            return clCreateProgramWithBinary(context, 1, &deviceID, &length, &pointer, &binaryStatus, &status)
        }
        try checkCL(status, "clCreateProgramWithBinary")
        guard let program else { throw OpenCLError(call: "clCreateProgramWithBinary", code: -42) }
        let buildStatus = OpenCLDriverLock.run { clBuildProgram(program, 1, &deviceID, options, nil, nil) }
        guard binaryStatus == CL_SUCCESS, buildStatus == CL_SUCCESS else {
            clReleaseProgram(program)
            throw OpenCLError(call: "clBuildProgram", code: buildStatus != CL_SUCCESS ? buildStatus : binaryStatus,
                              detail: "cached binary rejected")
        }
        return program
    }

    private func binaryOf(_ program: cl_program) throws -> [UInt8] {
        var size = 0
        try checkCL(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
                    "clGetProgramInfo", "CL_PROGRAM_BINARY_SIZES")
        guard size > 0 else { return [] }
        var binary = [UInt8](repeating: 0, count: size)
        try binary.withUnsafeMutableBufferPointer { bytes in
            var pointer: UnsafeMutablePointer<UInt8>? = bytes.baseAddress
            try checkCL(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_BINARIES),
                                         MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil),
                        "clGetProgramInfo", "CL_PROGRAM_BINARIES")
        }
        return binary
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        guard clGetProgramBuildInfo(program, device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size) == CL_SUCCESS
        else { return "(build log unavailable)" }
        var bytes = [CChar](repeating: 0, count: size + 1)
        guard clGetProgramBuildInfo(program, device.id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil) == CL_SUCCESS
        else { return "(build log unavailable)" }
        return cString(bytes)
    }

    /// Sets `args` on `kernel` in order and enqueues it over `global` work-items (1-3 dims),
    /// rounded up to multiples of `local` when given (nil lets the driver choose). Never waits.
    func launch(_ kernel: CLKernel, _ args: [KernelArg], global: [Int], local: [Int]? = nil) throws {
        var index: cl_uint = 0
        func set<T>(_ value: T) throws {
            let status = withUnsafeBytes(of: value) { clSetKernelArg(kernel.handle, index, $0.count, $0.baseAddress) }
            try checkCL(status, "clSetKernelArg", "\(kernel.label) argument \(index)")
            index += 1
        }
        for arg in args {
            switch arg {
            case .tensor(let tensor):
                try set(try mem(tensor) as cl_mem?)
                try set(try checkedInt(tensor.offset, "tensor offset"))
            case .buffer(let buffer): try set(buffer as cl_mem?)
            case .int(let value): try set(value)
            case .uint(let value): try set(value)
            case .float(let value): try set(value)
            case .local(let bytes):
                try checkCL(clSetKernelArg(kernel.handle, index, bytes, nil), "clSetKernelArg",
                            "\(kernel.label) local argument \(index)")
                index += 1
            }
        }
        if global.contains(0) { return }  // nothing to do; a zero-size NDRange is an error in 1.2
        var globalSize = global
        if let local {
            for d in 0..<global.count { globalSize[d] = (global[d] + local[d] - 1) / local[d] * local[d] }
        }
        var event: cl_event? = nil
        let status: cl_int = withUnsafeMutablePointer(to: &event) { eventPointer in
            let eventOut = profiling ? eventPointer : nil
            if let local {
                var localSize = local
                return clEnqueueNDRangeKernel(queue, kernel.handle, cl_uint(global.count), nil, &globalSize, &localSize,
                                              0, nil, eventOut)
            }
            return clEnqueueNDRangeKernel(queue, kernel.handle, cl_uint(global.count), nil, &globalSize, nil, 0, nil, eventOut)
        }
        try checkCL(status, "clEnqueueNDRangeKernel", "\(kernel.label) global \(globalSize) local \(local.map { "\($0)" } ?? "auto")")
        if let event { profiledEvents.append((kernel.label, event)) }
    }

    /// A float32 scratch tensor of at least `count` elements in `slot`, grown (never shrunk) on
    /// demand. Contents are undefined. Growing releases the old buffer only after the ops already
    /// enqueued on it have run (OpenCL keeps a buffer alive while queued commands use it).
    func workspace(_ slot: String, count: Int) throws -> Tensor {
        if let existing = workspaces[slot], existing.capacity >= count {
            return Tensor(storage: existing, shape: [count])
        }
        // Grow by 1.5× to avoid reallocating for every slightly larger shape.
        let grown = max(count, (workspaces[slot]?.capacity ?? 0) * 3 / 2)
        guard let storage = try allocate(.float32, count: grown, zeroed: false) as? OpenCLStorage else {
            throw BackendError("internal: workspace allocation returned a foreign storage")
        }
        workspaces[slot] = storage
        return Tensor(storage: storage, shape: [count])
    }
}
