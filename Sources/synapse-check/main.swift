// synapse-check: runs every kernel-vs-reference check (SynapseChecks) on one device and prints a
// table of op, shape, max error, tolerance and verdict. Exit status: 0 all passed, 1 a mismatch,
// 2 a bad device or bad arguments.
//
//   synapse-check [--device gpu|cpu|<index>|<name>] [--style cpu|gpu] [--filter <op text>] [--small]
//                 [--every-tile] [--list-devices]
// --small runs only the checks of at most OpChecks.smallFlopLimit operations (for a simulator
// such as Oclgrind; see docs/kernels.md). --every-tile then runs, for every other candidate of
// each tunable kernel's tile table (TileTables), three checks (smallest, median, largest) of each
// op that reads the table, so that tiles the tuner may pick on some device are checked too, not
// only the ones this run resolved to.
import Foundation
import SynapseChecks
import SynapseCLI
import SynapseEngine
import SynapseOpenCL
import SynapseReference

import ArgumentParser

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(("synapse-check: " + message + "\n").data(using: .utf8) ?? Data())
    exit(status)
}

extension KernelStyle: ExpressibleByArgument {}

/// The options (swift-argument-parser, as the experiment tools parse theirs).
struct CheckOptions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synapse-check",
        abstract: "Runs every kernel-vs-reference check on one device and prints op, shape, max error, tolerance and verdict.",
        discussion: "Exit status: 0 all passed, 1 a mismatch, 2 a bad device or bad arguments.")

    @Option(help: ArgumentHelp("gpu, cpu, reference, a device index or a name substring (default: gpu when present, else cpu).", valueName: "device"))
    var device: String?
    @Option(help: ArgumentHelp("Kernel style (default: the device's).", valueName: "cpu|gpu"))
    var style: KernelStyle?
    @Option(help: ArgumentHelp("Only the checks whose op contains this text.", valueName: "op text"))
    var filter: String?
    @Flag(help: "Only the checks of at most OpChecks.smallFlopLimit operations (for a simulator such as Oclgrind).")
    var small = false
    @Flag(name: .customLong("every-tile"), help: "Also every other candidate of each tile table, on three checks of each op it serves.")
    var everyTile = false
    @Flag(name: .customLong("list-devices"), help: "Print the devices present and exit.")
    var listDevices = false
}

let options: CheckOptions
do {
    options = try CheckOptions.parseAsRoot() as? CheckOptions ?? { print(CheckOptions.helpMessage()); exit(0) }()
} catch {
    if CheckOptions.exitCode(for: error) == .success { print(CheckOptions.fullMessage(for: error)); exit(0) }
    fail(CheckOptions.message(for: error) + "\n" + CheckOptions.usageString(), status: 2)
}
if options.listDevices {
    do { print(try DeviceChoice.listing(), terminator: "") } catch { fail("\(error)", status: 2) }
    exit(0)
}
let (deviceSpec, style, filter, small, everyTile) = (options.device, options.style, options.filter, options.small, options.everyTile)

let backend: any Backend
do {
    backend = try DeviceChoice.makeBackend(deviceSpec, style: style)
} catch {
    fail("\(error)", status: 2)
}

var description = "\(backend.deviceName) (\(backend.deviceKind.rawValue))"
if let opencl = backend as? OpenCLBackend {
    description += ", \(opencl.device.openCLVersion), driver \(opencl.device.driverVersion), kernel style \(opencl.style.rawValue)"
}
print("synapse-check on \(description)")

let checks = (small ? OpChecks.small : OpChecks.standard).filter { check in
    guard let filter else { return true }
    return check.op.lowercased().contains(filter.lowercased())
}
func pad(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(2, width - text.count))
}
print(pad("op", 30) + pad("shape", 42) + pad("max error", 12) + pad("tolerance", 12) + pad("ok", 10) + "seconds")
let reference = ReferenceBackend()
var failures = 0
var checksRun = 0
let start = Date()
// Top-level code runs on the main actor, and so does this (it counts into the globals above).
@MainActor func run(_ checks: [OpCheck]) {
    for check in checks {
        let checkStart = Date()
        let result = check.run(on: backend, reference: reference)
        checksRun += 1
        if !result.passed { failures += 1 }
        print(pad(result.op, 30) + pad(result.shape, 42) + pad(String(format: "%.3g", result.error), 12)
              + pad(String(format: "%.3g", result.tolerance), 12) + pad(result.passed ? "ok" : "MISMATCH", 10)
              + String(format: "%.2f", Date().timeIntervalSince(checkStart)))
        fflush(nil)   // every output stream: `stdout` is a C global Swift 6 will not read unguarded
        if let failure = result.failure { print("    error: \(failure)") }
    }
}
run(checks)
if everyTile {
    guard let opencl = backend as? OpenCLBackend else { fail("--every-tile needs an OpenCL device", status: 2) }
    for table in TileTables.all(for: opencl.style) {
        let ops = table.ops
        // Per op, the smallest, the median and the largest check (by operations) of the selection:
        // a simulator runs each candidate in minutes, and the largest covers the most tiles.
        let byOp = Dictionary(grouping: checks.filter { check in ops?.contains { check.op.hasPrefix($0) } ?? true }, by: \.op)
        let mine = byOp.keys.sorted().flatMap { op -> [OpCheck] in
            let sorted = byOp[op]!.sorted { $0.flops < $1.flops }
            return Set([0, sorted.count / 2, sorted.count - 1]).sorted().map { sorted[$0] }
        }
        guard !mine.isEmpty else { continue }
        let resolved: [String: String]
        do { resolved = try opencl.tiles(table) } catch { fail("\(table.kernel): \(error)", status: 2) }
        for candidate in table.candidates where candidate != resolved {
            print("-- \(table.kernel) with \(TileTable.text(candidate)) (\(mine.count) checks)")
            do { try opencl.withTiles(table, candidate) { run(mine) } } catch { fail("\(table.kernel): \(error)", status: 2) }
        }
    }
}
let seconds = Date().timeIntervalSince(start)
if let opencl = backend as? OpenCLBackend {
    let c = opencl.cacheStatistics
    print("kernel cache: \(c.hits) hits, \(c.compiled) compiled, \(c.rejected) rejected, \(c.written) written")
}
print("\(checksRun - failures) of \(checksRun) checks passed in \(String(format: "%.1f", seconds)) s")
exit(failures == 0 ? 0 : 1)
