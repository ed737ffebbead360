// synapse-bench: how fast Synapse runs on one device (issue 6).
//   1. ops: GEMM (square and the CNN's shapes), each conv layer's forward, input-grad and
//      weight-grad at the training batch, the fused SI update and a copy; each checked against
//      the reference first, then timed with device events (median of repeats); GFLOP/s or GB/s
//      and the fraction of the measured peak (the best square GEMM, or --peak-gflops; the copy).
//   2. step: the whole training step of the split-CIFAR CNN, or of the split-MNIST MLP with --arch mlp
//      (the trainer's own TrainingStep) with
//      SI on and with c = 0 (same run, alternating), inference images/s, peak memory; wall time
//      over several enqueued steps.
//   3. profile: where the milliseconds of one training step go, kernel by kernel.
//   4. denormal: a training step in a converged state (gradients in the denormal range) against an
//      ordinary step, with denormals flushed (the default) and kept.
// Progress goes to stderr; the table to stdout; every figure to --json FILE.
// Exit status: 0 all passed, 1 a check failed or a part could not run, 2 bad arguments or device.
import ArgumentParser
import Foundation
import SynapseCLI
import SynapseEngine
import SynapseOpenCL

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(("synapse-bench: " + message + "\n").data(using: .utf8) ?? Data())
    exit(status)
}

func progress(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8) ?? Data())
}

let options: BenchOptions
do {
    guard let command = try BenchCommand.parseAsRoot() as? BenchCommand else { print(BenchCommand.helpMessage()); exit(0) }
    options = try command.resolved()
} catch {
    if BenchCommand.exitCode(for: error) == .success { print(BenchCommand.fullMessage(for: error)); exit(0) }
    fail(BenchCommand.message(for: error) + "\n" + BenchCommand.usageString(), status: 2)
}
if options.listDevices {
    do { print(try DeviceChoice.listing(), terminator: "") } catch { fail("\(error)", status: 2) }
    exit(0)
}

func openBackend(profiling: Bool) throws -> any Backend {
    try DeviceChoice.makeBackend(options.device, style: options.style, profiling: profiling)
}

// The plain backend: names the device, and runs the whole-step timing (no profiling events, so
// nothing but the work itself is enqueued).
let plain: any Backend
do { plain = try openBackend(profiling: false) } catch { fail("\(error)", status: 2) }
let opencl = plain as? OpenCLBackend

let dateFormatter = ISO8601DateFormatter()
var report = BenchReport(
    device: plain.deviceName, deviceKind: plain.deviceKind.rawValue, kernelStyle: opencl?.style.rawValue,
    date: dateFormatter.string(from: Date()), command: CommandLine.arguments.joined(separator: " "),
    batch: options.batch, units: options.units, warmup: options.warmup, repeats: options.repeats,
    stepsPerRun: options.steps, siStrength: options.strength, peakRssBytes: 0, ops: [], failures: [])
progress("synapse-bench on \(plain.deviceName) (\(plain.deviceKind.rawValue))"
         + (opencl.map { ", \($0.device.openCLVersion), driver \($0.device.driverVersion), kernel style \($0.style.rawValue)" } ?? "")
         + (options.quick ? " — QUICK smoke run, small shapes: not a measurement" : ""))

// MARK: 0. Tile tuning (--tune)

if options.tune {
    if let opencl {
        progress("tune: every tile candidate of the \(opencl.style.rawValue)-style kernels, checked then timed")
        do {
            for tuned in try opencl.tuneAll() {
                for candidate in tuned.candidates {
                    report.tuning.append(TuningRow(
                        kernel: tuned.kernel, tiles: TileTable.text(candidate.defines), problem: tuned.problem,
                        milliseconds: candidate.seconds.map { 1e3 * $0 }, checkError: candidate.error,
                        rejection: candidate.rejection, chosen: candidate.defines == tuned.chosen))
                }
            }
        } catch {
            report.failures.append("tune: \(error)")
        }
    } else {
        progress("tune: skipped (the \(plain.deviceName) backend has no tiles)")
    }
}

// MARK: 1. Ops

if options.parts.contains(.ops) {
    var cases = benchmarkCases(batch: options.batch, units: options.units, quick: options.quick)
    if let only = options.only?.lowercased() {
        cases = cases.filter { $0.name.lowercased().contains(only) || $0.check.shape.lowercased().contains(only) }
        if cases.isEmpty { fail("--only '\(only)' matches no op", status: 2) }
    }
    progress("ops: \(cases.count), each checked against the reference, then \(options.warmup) warm-up and \(options.repeats) timed runs")
    do {
        // Ops are timed with device events: a backend of their own with profiling on.
        let timed = try openBackend(profiling: true)
        report.ops = runOpBenchmarks(cases, on: timed, warmup: options.warmup, repeats: options.repeats, log: progress)
    } catch {
        report.failures.append("ops: \(error)")
    }
    let byName = Dictionary(cases.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    let gemmBest = report.ops.filter { byName[$0.name]?.peakCandidate == true }.compactMap(\.gflops).max()
    if let external = options.peakGflops {
        report.peakGflops = external
        report.peakGflopsSource = options.peakSource ?? "given with --peak-gflops"
    } else if let gemmBest {
        report.peakGflops = gemmBest
        report.peakGflopsSource = "best square GEMM of this run"
    }
    if let copy = report.ops.first(where: { $0.name == "copy" })?.gbps {
        report.peakGbps = copy
        report.peakGbpsSource = "copy of \(report.ops.first { $0.name == "copy" }?.shape ?? "") elements, read + write"
    }
    for i in report.ops.indices {
        if let g = report.ops[i].gflops, let peak = report.peakGflops { report.ops[i].fractionOfPeak = g / peak }
        if let b = report.ops[i].gbps, let peak = report.peakGbps { report.ops[i].fractionOfPeak = b / peak }
        if !report.ops[i].passed {
            report.failures.append("op \(report.ops[i].name) [\(report.ops[i].shape)]: \(report.ops[i].failure ?? "check failed")")
        }
    }
}

// MARK: 2. Whole training step and inference

if options.parts.contains(.step) {
    progress("training step (\(options.architecture.rawValue)): batch \(options.batch), \(options.units) units, \(options.repeats) runs of \(options.steps) steps each, SI on and c = 0 alternating")
    do {
        let figures = try runStepBenchmark(on: plain, architecture: options.architecture, batch: options.batch, units: options.units, strength: options.strength,
                                           warmup: options.warmup, repeats: options.repeats, steps: options.steps)
        let batch = Double(options.batch)
        if let si = median(figures.trainSI), let c0 = median(figures.trainC0), let infer = median(figures.infer) {
            report.trainImagesPerSecond = batch / si
            report.trainImagesPerSecondC0 = batch / c0
            report.siOverhead = si / c0
            report.inferImagesPerSecond = batch / infer
        }
        report.trainStepMsRuns = figures.trainSI.map { 1e3 * $0 }
        report.trainStepMsRunsC0 = figures.trainC0.map { 1e3 * $0 }
        report.inferMsRuns = figures.infer.map { 1e3 * $0 }
        report.peakDeviceBytes = plain.peakAllocatedBytes
        if !figures.loss.isFinite {
            report.failures.append("training step: the summed loss is \(figures.loss), not a finite number")
        }
    } catch {
        report.failures.append("training step: \(error)")
    }
}

// MARK: 3. Per-kernel profile of a training step

if options.parts.contains(.profile) {
    if opencl == nil {
        progress("profile: skipped (the \(plain.deviceName) backend records no kernel events)")
    } else {
        progress("profile: per-kernel device time of \(min(options.steps, 3)) training step(s)")
        do {
            let profiled = try openBackend(profiling: true)
            report.profile = try runStepProfile(on: profiled, architecture: options.architecture, batch: options.batch, units: options.units,
                                                strength: options.strength, warmup: options.warmup,
                                                steps: min(options.steps, 3))
        } catch {
            report.failures.append("profile: \(error)")
        }
    }
}

// MARK: CLBlast beside ours (--clblast)

if let library = options.clblast {
    if let opencl {
        progress("clblast: CLBlast's SGEMM beside ours, each result checked against the reference first")
        do {
            let compared = try runCLBlastComparison(on: opencl, library: library.isEmpty ? nil : library, batch: options.batch,
                                                    warmup: options.warmup, repeats: options.repeats, quick: options.quick,
                                                    log: progress)
            report.clblastLibrary = compared.library
            report.clblast = compared.rows
            for row in compared.rows where row.failure != nil {
                report.failures.append("clblast \(row.shape): \(row.failure ?? "")")
            }
        } catch {
            report.failures.append("clblast: \(error)")
        }
    } else {
        report.failures.append("clblast: needs an OpenCL device, not \(plain.deviceName)")
    }
}

// MARK: 4. Denormal gradients

if options.parts.contains(.denormal) {
    progress("denormal: converged-state steps (gradients below 1.18e-38) against ordinary ones, alternating")
    do {
        report.denormal.append(try runDenormalBenchmark(
            on: plain, architecture: options.architecture, flushed: opencl?.flushesDenormals ?? false, batch: options.batch, units: options.units,
            strength: options.strength, warmup: options.warmup, repeats: options.repeats, steps: options.steps))
        // For contrast, the same on kernels that keep IEEE denormals: one step per run, since a
        // CPU may take many times longer on them.
        if let opencl, opencl.flushesDenormals {
            let kept = try OpenCLBackend(device: opencl.device, style: opencl.style, flushDenormals: false)
            report.denormal.append(try runDenormalBenchmark(
                on: kept, architecture: options.architecture, flushed: false, batch: options.batch, units: options.units, strength: options.strength,
                warmup: 1, repeats: min(options.repeats, 3), steps: 1))
        }
    } catch {
        report.failures.append("denormal: \(error)")
    }
}

report.peakRssBytes = peakResidentBytes()
print(report.table())
print(report.summaryLine())
// Progress goes to stderr unbuffered; flush the table first so logs that hold both stay in order.
fflush(nil)   // every output stream: `stdout` is a C global Swift 6 will not read unguarded
if let path = options.jsonPath {
    do {
        try report.json().write(to: URL(fileURLWithPath: path), options: .atomic)
        progress("wrote \(path)")
    } catch {
        fail("cannot write the JSON file '\(path)': \(error)", status: 1)
    }
}
exit(report.failures.isEmpty ? 0 : 1)
