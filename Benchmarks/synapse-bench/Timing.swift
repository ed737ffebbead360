// Timers: device time from OpenCL profiling events when the backend records them, wall time
// (from an idle queue to an idle queue) always.
import Dispatch
import SynapseEngine
import SynapseOpenCL

/// The median of `values` (the mean of the middle two for an even count); nil when empty.
func median(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Seconds since an arbitrary start, monotonic.
func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

/// One timed run: wall seconds, and the summed kernel seconds when profiling events exist.
struct TimedRun {
    var wall: Double
    var kernels: Double?
    /// The kernels launched, in order, with their device seconds (empty without profiling).
    var events: [(kernel: String, seconds: Double)]

    /// The time a figure is computed from: device time when known, else wall time.
    var seconds: Double { kernels ?? wall }
}

/// Times what a closure enqueues on one backend.
struct Stopwatch {
    let backend: any Backend

    /// Waits for the queue, runs `body` (which enqueues ops), waits again. With a profiling
    /// OpenCL backend, also sums the device durations of the kernels `body` launched.
    func run(_ body: () throws -> Void) throws -> TimedRun {
        try backend.synchronize()
        let opencl = backend as? OpenCLBackend
        // Drop events of earlier work (checks, uploads), so only this body's kernels are summed.
        if let opencl { _ = try opencl.takeKernelProfile() }
        let start = monotonicSeconds()
        try body()
        try backend.synchronize()
        let wall = monotonicSeconds() - start
        let events = try opencl?.takeKernelProfile() ?? []
        let kernels = events.isEmpty ? nil : events.reduce(0) { $0 + $1.seconds }
        return TimedRun(wall: wall, kernels: kernels, events: events)
    }
}
