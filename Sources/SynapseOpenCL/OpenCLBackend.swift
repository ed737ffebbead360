// The OpenCL backend: one device, one context, one in-order queue. Every op enqueues kernels
// and returns; only downloads and `synchronize` wait. Kernels live in Kernels/ (one file per op, with the helper kernels it launches).
import COpenCL
import Foundation
import SynapseEngine

/// Runs the `Backend` ops on one OpenCL device.
///
/// Timing: `time(_:)` waits for the queue, runs the closure (which enqueues ops), waits again and
/// returns the wall-clock seconds in between, which is device time plus launch overhead. With
/// `profiling: true` every launch also records an OpenCL event, and `takeKernelProfile()` returns
/// each kernel's device-side duration (CL_PROFILING_COMMAND_START..END).
public final class OpenCLBackend: Backend {
    public let device: OpenCLDevice
    /// The kernel variant built for this device (see `KernelStyle`).
    public let style: KernelStyle
    public var deviceName: String { device.name }
    public var deviceKind: DeviceKind { device.kind }
    /// What the program cache did so far (hits, compiles, rejected files, writes).
    public internal(set) var cacheStatistics = KernelCacheStatistics()
    /// Whether kernels are built with `-cl-denorms-are-zero`: single-precision denormals (below
    /// 1.18e-38) read and produced by kernels may become zero. On CPUs a denormal operand costs
    /// tens to a hundred times a normal one, and a converged task's gradients live there (see
    /// docs/kernels.md); flushing them changes a result by less than 1.2e-38 per value. Devices
    /// without denormal support (no CL_FP_DENORM) flush anyway. The reference backend stays IEEE.
    public let flushesDenormals: Bool
    /// When the tile tuner times candidates (see Tuner.swift and `TileTables`).
    public let tuningPolicy: TuningPolicy
    /// What the tuner did so far (choices loaded, tables tuned, cache files rejected or written).
    public internal(set) var tuningStatistics = TuningStatistics()
    /// The tiles each tunable kernel uses on this backend, once decided (by kernel name).
    var chosenTiles: [String: [String: String]] = [:]
    /// The candidate being checked or timed, by kernel name, while the tuner runs.
    var tilesUnderTrial: [String: [String: String]] = [:]

    let context: cl_context
    let queue: cl_command_queue
    let profiling: Bool
    var cache: ProgramCache
    var programs: [String: cl_program] = [:]
    var kernels: [String: CLKernel] = [:]
    var workspaces: [String: OpenCLStorage] = [:]
    var profiledEvents: [(String, cl_event)] = []
    public private(set) var allocatedBytes = 0
    public private(set) var peakAllocatedBytes = 0

    /// Opens `device`. `style` nil means `KernelStyle.forDevice` (device type, or the
    /// `SYNAPSE_KERNEL_STYLE` override); `cache` says where compiled programs are kept;
    /// `flushDenormals: false` keeps IEEE denormals in the kernels (slow on CPUs; for comparisons);
    /// `tuning` nil means `TuningPolicy.fromEnvironment()` (`SYNAPSE_TUNE`, default first-use).
    public init(device: OpenCLDevice, style: KernelStyle? = nil, cache: KernelCacheLocation = .environment,
                profiling: Bool = false, flushDenormals: Bool = true, tuning: TuningPolicy? = nil) throws {
        self.device = device
        self.flushesDenormals = flushDenormals
        self.tuningPolicy = try tuning ?? TuningPolicy.fromEnvironment()
        self.style = try style ?? KernelStyle.forDevice(device.kind)
        self.profiling = profiling
        self.cache = ProgramCache(directory: cache.resolvedPath)

        let queueProperties = profiling ? cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE) : 0
        (context, queue) = try OpenCLDriverLock.run {
            var status: cl_int = 0
            var properties: [cl_context_properties] = [
                cl_context_properties(CL_CONTEXT_PLATFORM), cl_context_properties(Int(bitPattern: UnsafeRawPointer(device.platform))), 0,
            ]
            var deviceID: cl_device_id? = device.id
            let context = clCreateContext(&properties, 1, &deviceID, nil, nil, &status)
            try checkCL(status, "clCreateContext", device.name)
            guard let context else { throw OpenCLError(call: "clCreateContext", code: -34, detail: device.name) }
            let queue = clCreateCommandQueue(context, device.id, queueProperties, &status)
            if status != CL_SUCCESS { clReleaseContext(context) }
            try checkCL(status, "clCreateCommandQueue", device.name)
            guard let queue else { throw OpenCLError(call: "clCreateCommandQueue", code: -36, detail: device.name) }
            return (context, queue)
        }
    }

    /// Opens the device `spec` names (see `OpenCLDevice.select`).
    public convenience init(deviceSpec spec: String, style: KernelStyle? = nil,
                            cache: KernelCacheLocation = .environment, profiling: Bool = false) throws {
        try self.init(device: OpenCLDevice.select(spec, from: OpenCLDevice.all()), style: style,
                      cache: cache, profiling: profiling)
    }

    deinit {
        clFinish(queue)
        for (_, event) in profiledEvents { clReleaseEvent(event) }
        workspaces.removeAll()
        for kernel in kernels.values { clReleaseKernel(kernel.handle) }
        for program in programs.values { clReleaseProgram(program) }
        clReleaseCommandQueue(queue)
        clReleaseContext(context)
    }

    func released(bytes: Int) { allocatedBytes -= bytes }

    // MARK: Timing

    /// Seconds of wall clock for the ops `body` enqueues, from an idle queue to an idle queue.
    public func time(_ body: () throws -> Void) throws -> Double {
        try synchronize()
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        try synchronize()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Device-side durations (seconds) of every kernel launched since the last call, in launch
    /// order; waits for the queue. Empty unless the backend was opened with `profiling: true`.
    public func takeKernelProfile() throws -> [(kernel: String, seconds: Double)] {
        try synchronize()
        defer {
            for (_, event) in profiledEvents { clReleaseEvent(event) }
            profiledEvents.removeAll()
        }
        return try profiledEvents.map { label, event in
            var start: cl_ulong = 0, end: cl_ulong = 0
            try checkCL(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START), 8, &start, nil),
                        "clGetEventProfilingInfo", label)
            try checkCL(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END), 8, &end, nil),
                        "clGetEventProfilingInfo", label)
            return (label, Double(end &- start) / 1e9)
        }
    }

    // MARK: Memory

    public func allocate(_ type: ElementType, count: Int) throws -> any DeviceStorage {
        try allocate(type, count: count, zeroed: true)
    }

    func allocate(_ type: ElementType, count: Int, zeroed: Bool) throws -> any DeviceStorage {
        try OpContract.allocate(type, count: count)
        // A zero-size buffer is invalid in OpenCL; keep one element behind an empty storage.
        let bytes = max(1, count) * type.byteSize
        var status: cl_int = 0
        let buffer = clCreateBuffer(context, cl_mem_flags(CL_MEM_READ_WRITE), bytes, nil, &status)
        try checkCL(status, "clCreateBuffer", "\(count) × \(type) (\(bytes) bytes) on \(device.name)")
        guard let buffer else { throw OpenCLError(call: "clCreateBuffer", code: -4, detail: "\(bytes) bytes") }
        let storage = OpenCLStorage(buffer: buffer, elementType: type, capacity: count, owner: self)
        allocatedBytes += count * type.byteSize
        peakAllocatedBytes = max(peakAllocatedBytes, allocatedBytes)
        if zeroed && count > 0 {
            var zero: UInt8 = 0
            try checkCL(clEnqueueFillBuffer(queue, buffer, &zero, 1, 0, count * type.byteSize, 0, nil, nil),
                        "clEnqueueFillBuffer", "zeroing \(bytes) bytes")
        }
        return storage
    }

    private func write<T>(_ values: [T], _ type: ElementType, to tensor: Tensor) throws {
        try OpContract.upload(values.count, of: type, to: tensor)
        if values.isEmpty { return }
        let buffer = try mem(tensor)
        try values.withUnsafeBytes { bytes in
            try checkCL(clEnqueueWriteBuffer(queue, buffer, cl_bool(CL_TRUE), tensor.offset * type.byteSize,
                                             bytes.count, bytes.baseAddress, 0, nil, nil),
                        "clEnqueueWriteBuffer", "\(bytes.count) bytes")
        }
    }

    public func upload(_ values: [Float], to tensor: Tensor) throws { try write(values, .float32, to: tensor) }
    public func upload(_ values: [Int32], to tensor: Tensor) throws { try write(values, .int32, to: tensor) }
    public func upload(_ values: [UInt8], to tensor: Tensor) throws { try write(values, .uint8, to: tensor) }

    private func read<T>(_ tensor: Tensor, as: T.Type, zero: T) throws -> [T] {
        var values = [T](repeating: zero, count: tensor.count)
        if values.isEmpty { return values }
        let buffer = try mem(tensor)
        let size = tensor.elementType.byteSize
        try values.withUnsafeMutableBytes { bytes in
            try checkCL(clEnqueueReadBuffer(queue, buffer, cl_bool(CL_TRUE), tensor.offset * size,
                                            bytes.count, bytes.baseAddress, 0, nil, nil),
                        "clEnqueueReadBuffer", "\(bytes.count) bytes")
        }
        return values
    }

    public func download(_ tensor: Tensor) throws -> [Float] {
        try OpContract.download(tensor, as: .float32)
        return try read(tensor, as: Float.self, zero: 0)
    }

    public func downloadInt32(_ tensor: Tensor) throws -> [Int32] {
        try OpContract.download(tensor, as: .int32)
        return try read(tensor, as: Int32.self, zero: 0)
    }

    public func synchronize() throws {
        try checkCL(clFinish(queue), "clFinish", device.name)
    }

    // Argument checks: every public op calls its `OpContract` check first (host-side, before
    // anything is enqueued). What remains here is what only this backend knows: that the memory
    // is an OpenCL buffer (`mem`) and that sizes fit a 32-bit kernel int (`checkedInt`).

    /// The work-group size of the tree reductions (must match REDUCE_WG in the kernels):
    /// wide on GPUs, narrow on CPUs where PoCL serialises a group's work-items.
    var reduceGroupSize: Int { style == .gpu ? 256 : 16 }
    var reduceDefines: [String: String] { ["REDUCE_WG": "\(reduceGroupSize)"] }
    /// `stateHealth`: the groups' size and the most groups launched (each item then walks a
    /// strided slice): enough groups to fill a GPU, few on a CPU where every group is a task.
    var healthGroup: (size: Int, maxGroups: Int) { style == .gpu ? (256, 512) : (16, 64) }

    // MARK: Elementwise helpers

    public func fill(_ tensor: Tensor, value: Float) throws {
        try OpContract.fill(tensor, value: value)
        if tensor.count == 0 { return }
        let buffer = try mem(tensor)
        let size = tensor.elementType.byteSize
        func enqueue<T>(_ pattern: T) throws {
            let status = withUnsafeBytes(of: pattern) {
                clEnqueueFillBuffer(queue, buffer, $0.baseAddress, $0.count, tensor.offset * size, tensor.count * size, 0, nil, nil)
            }
            try checkCL(status, "clEnqueueFillBuffer", "\(tensor.count) × \(tensor.elementType)")
        }
        switch tensor.elementType {
        case .float32: try enqueue(value)
        // The contract has checked that an integer view gets an integer in range.
        case .int32: try enqueue(Int32(value))
        case .uint8: try enqueue(UInt8(value))
        }
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        try OpContract.copy(source, to: destination)
        if source.count == 0 { return }
        let size = source.elementType.byteSize
        try checkCL(clEnqueueCopyBuffer(queue, try mem(source), try mem(destination), source.offset * size,
                                        destination.offset * size, source.count * size, 0, nil, nil),
                    "clEnqueueCopyBuffer", "\(source.count) × \(source.elementType)")
    }

    public func accumulate(_ source: Tensor, into destination: Tensor, scale: Float, transform: AccumulateTransform) throws {
        try OpContract.accumulate(source, into: destination)
        let code: Int32
        switch transform {
        case .identity: code = 0
        case .square: code = 1
        case .absolute: code = 2
        }
        try launch(kernel(file: "elementwise.cl", name: "accumulate"),
                   [.tensor(source), .tensor(destination), .int(checkedInt(source.count, "count")), .float(scale), .int(code)],
                   global: [source.count])
    }

    public func accumulateSum(_ values: Tensor, count: Int, into accumulator: Tensor) throws {
        try OpContract.accumulateSum(values, count: count, into: accumulator)
        let group = reduceGroupSize
        try launch(kernel(file: "reduce.cl", name: "accumulate_sum", defines: reduceDefines),
                   [.tensor(values), .int(checkedInt(count, "count")), .tensor(accumulator), .local(bytes: group * 4)],
                   global: [group], local: [group])
    }

    // MARK: Data

    public func gatherRows(_ source: Tensor, indices: Tensor, rows: Int, rowLength: Int, scale: Float,
                           into destination: Tensor) throws {
        try OpContract.gatherRows(source, indices: indices, rows: rows, rowLength: rowLength, into: destination)
        let sourceRows = rowLength == 0 ? 0 : source.count / rowLength
        try launch(kernel(file: "gather.cl", name: "gather_rows"),
                   [.tensor(source), .int(checkedInt(sourceRows, "source rows")), .tensor(indices),
                    .int(checkedInt(rows, "rows")), .int(checkedInt(rowLength, "rowLength")), .float(scale),
                    .tensor(destination)],
                   global: [rowLength, rows])
    }

    public func gatherLabels(_ source: Tensor, indices: Tensor, rows: Int, into destination: Tensor) throws {
        try OpContract.gatherLabels(source, indices: indices, rows: rows, into: destination)
        try launch(kernel(file: "gather.cl", name: "gather_labels"),
                   [.tensor(source), .int(checkedInt(source.count, "source count")), .tensor(indices),
                    .int(checkedInt(rows, "rows")), .tensor(destination)],
                   global: [rows])
    }

    // MARK: Bias, activations, pooling

    public func addBias(_ x: Tensor, bias: Tensor, outer: Int, channels: Int, inner: Int, relu: Bool) throws {
        try OpContract.addBias(x, bias: bias, outer: outer, channels: channels, inner: inner)
        try launch(kernel(file: "bias.cl", name: "add_bias"),
                   [.tensor(x), .tensor(bias), .int(checkedInt(outer, "outer")), .int(checkedInt(channels, "channels")),
                    .int(checkedInt(inner, "inner")), .int(relu ? 1 : 0)],
                   // CPU style: one work-item per contiguous row (bias.cl); GPU: per element.
                   global: [style == .cpu ? (inner == 1 ? outer : outer * channels) : outer * channels * inner])
    }

    public func biasBackward(_ dOutput: Tensor, outer: Int, channels: Int, inner: Int, dBias: Tensor) throws {
        try OpContract.biasBackward(dOutput, outer: outer, channels: channels, inner: inner, dBias: dBias)
        let args: [KernelArg] = try [.tensor(dOutput), .int(checkedInt(outer, "outer")), .int(checkedInt(channels, "channels")),
                                 .int(checkedInt(inner, "inner")), .tensor(dBias)]
        let bias = try kernel(file: "bias.cl", name: "bias_backward", defines: reduceDefines)
        if style == .cpu {
            // One work-item per 16 channels (inner == 1) or per channel, no local memory.
            try launch(bias, args + [.local(bytes: 4)], global: [inner == 1 ? (channels + 15) / 16 : channels])
        } else {
            let group = reduceGroupSize
            try launch(bias, args + [.local(bytes: group * 4)], global: [channels * group], local: [group])
        }
    }

    public func reluBackward(output: Tensor, dOutput: Tensor, count: Int, dInput: Tensor) throws {
        try OpContract.reluBackward(output: output, dOutput: dOutput, count: count, dInput: dInput)
        try launch(kernel(file: "relu.cl", name: "relu_backward"),
                   [.tensor(output), .tensor(dOutput), .int(checkedInt(count, "count")), .tensor(dInput)],
                   global: [count])
    }

    /// CPU style: rows of 2×2 windows per work-item (POOL_ROWS in maxpool.cl). The GPU style
    /// uses one work-item per window (backward: per window of the ceil(H/2) × ceil(W/2) grid, so
    /// the rows and columns dropped by the floor get their zeros too).
    private var poolRowsPerItem: Int { 16 }
    private var poolDefines: [String: String] { style == .cpu ? ["POOL_ROWS": "\(poolRowsPerItem)"] : [:] }

    public func maxPool2x2Forward(input: Tensor, planes: Int, height: Int, width: Int, output: Tensor) throws {
        try OpContract.maxPool2x2Forward(input: input, planes: planes, height: height, width: width, output: output)
        try launch(kernel(file: "maxpool.cl", name: "maxpool_forward", defines: poolDefines),
                   [.tensor(input), .int(checkedInt(planes, "planes")), .int(checkedInt(height, "height")),
                    .int(checkedInt(width, "width")), .tensor(output)],
                   global: [style == .cpu ? (planes * (height / 2) + poolRowsPerItem - 1) / poolRowsPerItem
                                          : planes * (height / 2) * (width / 2)])
    }

    public func maxPool2x2Backward(input: Tensor, dOutput: Tensor, planes: Int, height: Int, width: Int,
                                   dInput: Tensor) throws {
        try OpContract.maxPool2x2Backward(input: input, dOutput: dOutput, planes: planes, height: height, width: width,
                                          dInput: dInput)
        try launchPoolBackward(input: input, dOutput: dOutput, planes: planes, height: height, width: width,
                               dInput: dInput, relu: false)
    }

    public func maxPool2x2ReLUBackward(input: Tensor, dOutput: Tensor, planes: Int, height: Int, width: Int,
                                       dInput: Tensor) throws {
        try OpContract.maxPool2x2ReLUBackward(input: input, dOutput: dOutput, planes: planes, height: height,
                                              width: width, dInput: dInput)
        try launchPoolBackward(input: input, dOutput: dOutput, planes: planes, height: height, width: width,
                               dInput: dInput, relu: true)
    }

    /// maxpool_backward, with the ReLU backward of the layer below when `relu`.
    private func launchPoolBackward(input: Tensor, dOutput: Tensor, planes: Int, height: Int, width: Int,
                                    dInput: Tensor, relu: Bool) throws {
        try launch(kernel(file: "maxpool.cl", name: "maxpool_backward", defines: poolDefines),
                   [.tensor(input), .tensor(dOutput), .int(checkedInt(planes, "planes")),
                    .int(checkedInt(height, "height")), .int(checkedInt(width, "width")), .tensor(dInput),
                    .int(relu ? 1 : 0)],
                   global: [style == .cpu ? (planes * ((height + 1) / 2) + poolRowsPerItem - 1) / poolRowsPerItem
                                          : planes * ((height + 1) / 2) * ((width + 1) / 2)])
    }

    // MARK: Dropout

    /// Elements per work-item of the CPU-style dropout (DROPOUT_CHUNK in dropout.cl, fixed by
    /// its 16 Philox blocks as uint16 vectors); the GPU style takes one block of 4 elements.
    private var dropoutChunk: Int { 64 }

    private func dropout(_ op: String, input: Tensor, count: Int, keepProbability p: Float, seed: UInt64,
                         stream: UInt32, step: UInt32, firstIndex: Int, output: Tensor) throws {
        try launch(kernel(file: "dropout.cl", name: "dropout_apply"),
                   [.tensor(input), .int(checkedInt(count, "count")), .float(p),
                    .uint(DropoutMask.threshold(keepProbability: p)),
                    .uint(UInt32(truncatingIfNeeded: seed)), .uint(UInt32(truncatingIfNeeded: seed >> 32)),
                    .uint(stream), .uint(step), .uint(UInt32(firstIndex / 4)), .tensor(output)],
                   global: [style == .cpu ? (count + dropoutChunk - 1) / dropoutChunk : (count + 3) / 4])
    }

    public func dropoutForward(input: Tensor, count: Int, keepProbability: Float, seed: UInt64,
                               stream: UInt32, step: UInt32, firstIndex: Int, output: Tensor) throws {
        try OpContract.dropoutForward(input: input, count: count, keepProbability: keepProbability,
                                      firstIndex: firstIndex, output: output)
        try dropout("dropoutForward", input: input, count: count, keepProbability: keepProbability, seed: seed,
                    stream: stream, step: step, firstIndex: firstIndex, output: output)
    }

    public func dropoutBackward(dOutput: Tensor, count: Int, keepProbability: Float, seed: UInt64,
                                stream: UInt32, step: UInt32, firstIndex: Int, dInput: Tensor) throws {
        try OpContract.dropoutBackward(dOutput: dOutput, count: count, keepProbability: keepProbability,
                                       firstIndex: firstIndex, dInput: dInput)
        try dropout("dropoutBackward", input: dOutput, count: count, keepProbability: keepProbability, seed: seed,
                    stream: stream, step: step, firstIndex: firstIndex, output: dInput)
    }

    // MARK: Loss and accuracy

    public func softmaxCrossEntropy(logits: Tensor, labels: Tensor, batch: Int, units: Int,
                                    unitStart: Int, unitCount: Int, losses: Tensor, dLogits: Tensor) throws {
        try OpContract.softmaxCrossEntropy(logits: logits, labels: labels, batch: batch, units: units,
                                           unitStart: unitStart, unitCount: unitCount, losses: losses, dLogits: dLogits)
        try launch(kernel(file: "softmax_xent.cl", name: "softmax_xent"),
                   [.tensor(logits), .tensor(labels), .int(checkedInt(batch, "batch")), .int(checkedInt(units, "units")),
                    .int(checkedInt(unitStart, "unitStart")), .int(checkedInt(unitCount, "unitCount")),
                    .tensor(losses), .tensor(dLogits)],
                   global: [batch])
    }

    public func countCorrect(logits: Tensor, labels: Tensor, batch: Int, units: Int,
                             unitStart: Int, unitCount: Int, counter: Tensor) throws {
        try OpContract.countCorrect(logits: logits, labels: labels, batch: batch, units: units,
                                    unitStart: unitStart, unitCount: unitCount, counter: counter)
        let group = reduceGroupSize
        try launch(kernel(file: "accuracy.cl", name: "count_correct", defines: reduceDefines),
                   [.tensor(logits), .tensor(labels), .int(checkedInt(batch, "batch")), .int(checkedInt(units, "units")),
                    .int(checkedInt(unitStart, "unitStart")), .int(checkedInt(unitCount, "unitCount")),
                    .tensor(counter), .local(bytes: group * 4)],
                   global: [group], local: [group])
    }

    // MARK: Optimizer and Synaptic Intelligence

    public func fusedSIUpdate(_ state: ParameterState, taskGradient: Tensor, strength c: Float,
                              hyper: AdamHyper, step: Int) throws {
        try OpContract.fusedSIUpdate(state, taskGradient: taskGradient, step: step)
        // Bias corrections 1 − β^t in Double, then rounded once to Float.
        let correction1 = Float(1 - pow(Double(hyper.beta1), Double(step)))
        let correction2 = Float(1 - pow(Double(hyper.beta2), Double(step)))
        try launch(kernel(file: "si_update.cl", name: "si_update"),
                   [.tensor(taskGradient), .tensor(state.theta), .tensor(state.anchor), .tensor(state.bigOmega),
                    .tensor(state.m), .tensor(state.v), .tensor(state.smallOmega),
                    .int(checkedInt(state.count, "parameter count")), .float(c), .float(hyper.learningRate),
                    .float(hyper.beta1), .float(hyper.beta2), .float(hyper.epsilon),
                    .float(correction1), .float(correction2)],
                   // CPU style: 16 parameters per work-item (si_update.cl); GPU: one.
                   global: [style == .cpu ? (state.count + 15) / 16 : state.count])
    }

    public func fusedSISGDUpdate(_ state: ParameterState, taskGradient: Tensor, strength c: Float,
                                 learningRate: Float) throws {
        try OpContract.fusedSISGDUpdate(state, taskGradient: taskGradient, learningRate: learningRate)
        try launch(kernel(file: "si_sgd_update.cl", name: "si_sgd_update"),
                   [.tensor(taskGradient), .tensor(state.theta), .tensor(state.anchor), .tensor(state.bigOmega),
                    .tensor(state.smallOmega), .int(checkedInt(state.count, "parameter count")), .float(c),
                    .float(learningRate)],
                   // CPU style: 16 parameters per work-item (si_sgd_update.cl); GPU: one.
                   global: [style == .cpu ? (state.count + 15) / 16 : state.count])
    }

    public func siConsolidate(_ state: ParameterState, xi: Float) throws {
        try OpContract.siConsolidate(state, xi: xi)
        try launch(kernel(file: "si_consolidate.cl", name: "si_consolidate"),
                   [.tensor(state.theta), .tensor(state.anchor), .tensor(state.bigOmega), .tensor(state.smallOmega),
                    .int(checkedInt(state.count, "parameter count")), .float(xi)],
                   global: [state.count])
    }

    public func stateHealth(_ state: ParameterState, result: Tensor) throws {
        try OpContract.stateHealth(state, result: result)
        let (group, maxGroups) = healthGroup
        let groups = max(1, min(maxGroups, (state.count + group - 1) / group))
        try launch(kernel(file: "health.cl", name: "state_health", defines: ["HEALTH_WG": "\(group)"]),
                   [.tensor(state.theta), .tensor(state.anchor), .tensor(state.bigOmega), .tensor(state.smallOmega),
                    .tensor(state.m), .tensor(state.v), .int(checkedInt(state.count, "parameter count")),
                    .tensor(result), .local(bytes: group * 4)],
                   global: [groups * group], local: [group])
    }
}
