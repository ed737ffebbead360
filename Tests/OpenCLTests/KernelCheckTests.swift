// Every SynapseChecks case on the PoCL CPU device, in both kernel styles, against the reference:
// the small list by default (every op, at ragged shapes that span several tiles), every shape of
// the standard list and a second seed in the slow tier. The CPU style also runs the convolution
// checks with Winograd forced, and together the checks must launch every kernel of every file.
// `OpCheck.run` does the same per backend; here the reference result is computed once per check.
import COpenCL
import Foundation
import SynapseChecks
import SynapseEngine
@testable import SynapseOpenCL
import SynapseReference
import Testing

@Suite("Kernels match the reference backend")
struct KernelCheckTests {
    /// The checks of this tier: by default one check per op, the largest of the small list (ragged
    /// sizes spanning several tiles; each further shape is another PoCL specialisation of the same
    /// kernels, which a cold cache pays for), but every small convolution check, whose shapes pick
    /// different kernels (rows read in place or copied, padding); in the slow tier every shape of
    /// the standard list.
    static var checks: [OpCheck] { TestTier.pick(fast: onePerOp(OpChecks.small), long: OpChecks.standard) }

    /// Per op (in list order), its check of the most operations.
    static func onePerOp(_ checks: [OpCheck]) -> [OpCheck] {
        var chosen: [String: OpCheck] = [:], order: [String] = []
        for check in checks {
            if check.op.hasPrefix("conv2d") { chosen[check.op + " " + check.shape] = check; order.append(check.op + " " + check.shape); continue }
            if let kept = chosen[check.op] { if check.flops > kept.flops { chosen[check.op] = check } } else {
                chosen[check.op] = check; order.append(check.op)
            }
        }
        return order.map { chosen[$0]! }
    }

    @Test("every op check passes on PoCL in both kernel styles (Winograd forced too), reaching every kernel",
          .enabled(if: Fixture.runDeviceTests))
    func everyCheckPasses() throws {
        let reference = ReferenceBackend()
        let checks = Self.checks
        #expect(checks.count >= Set(OpChecks.standard.map(\.op)).count)
        let cpu = try Fixture.backend(style: .cpu), gpu = try Fixture.backend(style: .gpu)
        #expect(cpu.style == .cpu && gpu.style == .gpu)
        // The 3×3 convolutions the table defaults leave to the direct kernel, through Winograd
        // (each table's first Winograd candidate; every candidate: WinogradTests, slow tier).
        let winograd = try Fixture.backend(style: .cpu)
        for table in WinogradTests.tables + WinogradTests.weightTables {
            let candidate = table.candidates.first { $0["ALGO"] == "winograd" }
            #expect(candidate != nil, "\(table.kernel) has no Winograd candidate")
            winograd.chosenTiles[table.kernel] = candidate
        }
        let seed: UInt64 = 0xC0FFEE
        /// The check's outputs on `backend` compared with `expected`; true when it launched a
        /// kernel of winograd.cl that had not been launched before on that backend.
        @discardableResult
        func verify(_ check: OpCheck, _ expected: [[Float]], on backend: OpenCLBackend, _ label: String) -> Bool {
            let winogradKernels = backend.kernels.keys.filter { $0.hasPrefix("winograd.cl|") }.count
            do {
                let op = try check.prepare(backend, seed)
                try op.run()
                let (error, tolerance) = check.compare(try op.download(from: backend), expected)
                #expect(error <= tolerance, "\(label): \(check.op) [\(check.shape)]: error \(error) > tolerance \(tolerance)")
            } catch {
                Issue.record("\(label): \(check.op) [\(check.shape)]: \(error)")
            }
            return backend.kernels.keys.filter { $0.hasPrefix("winograd.cl|") }.count > winogradKernels
        }
        var convolutions: [(check: OpCheck, expected: [[Float]])] = []
        for check in checks {
            // The reference runs once per check (in a debug build it costs more than the kernels).
            let expected: [[Float]]
            do {
                let op = try check.prepare(reference, seed)
                try op.run()
                expected = try op.download(from: reference)
            } catch {
                Issue.record("\(check.op) \(check.shape): the reference failed: \(error)")
                continue
            }
            verify(check, expected, on: cpu, "cpu style")
            verify(check, expected, on: gpu, "gpu style")
            if check.op.hasPrefix("conv2d") { convolutions.append((check, expected)) }
        }
        // Through Winograd, per op the first check whose shape it serves (the kernels are built
        // per channel count and padding, so every shape would be a build of its own: slow tier).
        for op in ["conv2dForward", "conv2dBackwardInput", "conv2dBackwardWeight"] {
            for (check, expected) in convolutions where check.op.hasPrefix(op) {
                if verify(check, expected, on: winograd, "cpu style, Winograd forced") { break }
            }
        }
        #expect(winograd.workspaces["winograd.filter"] != nil && winograd.workspaces["winograd.dwScratch"] != nil,
                "the conv checks reached the Winograd kernels")
        // Every kernel file was built, and every kernel in it launched in at least one style.
        var launched: Set<String> = [], compiled: [String: Set<String>] = [:]
        for backend in [cpu, gpu, winograd] {
            launched.formUnion(backend.kernels.keys.map { $0.split(separator: "|").prefix(2).joined(separator: "/") })
            for (key, program) in backend.programs {
                let file = String(key.split(separator: "|")[0])
                compiled[file, default: []].formUnion(try Self.kernelNames(program).map { file + "/" + $0 })
            }
        }
        let files = Set(EmbeddedKernels.sources.keys.filter { $0.hasSuffix(".cl") })
        #expect(Set(compiled.keys) == files, "kernel files never built: \(files.subtracting(compiled.keys).sorted())")
        let unlaunched = compiled.values.reduce(into: Set<String>()) { $0.formUnion($1) }.subtracting(launched)
        #expect(unlaunched.isEmpty, "kernels no check launched: \(unlaunched.sorted())")
    }

    @Test("gemm, conv and SI checks pass for a second seed", .enabled(if: Fixture.runDeviceTests), .slowTier)
    func checksPassForAnotherSeed() throws {
        let backend = try Fixture.backend()
        let reference = ReferenceBackend()
        for check in OpChecks.standard where check.op.hasPrefix("gemm") || check.op.hasPrefix("conv") || check.op.hasPrefix("fused") {
            let result = check.run(on: backend, reference: reference, seed: 987_654_321)
            #expect(result.passed, "\(result)")
        }
    }

    /// The kernel functions of a built program (CL_PROGRAM_KERNEL_NAMES: names separated by ';').
    static func kernelNames(_ program: cl_program) throws -> [String] {
        var size = 0
        try checkCL(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_KERNEL_NAMES), 0, nil, &size),
                    "clGetProgramInfo", "CL_PROGRAM_KERNEL_NAMES")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try checkCL(clGetProgramInfo(program, cl_program_info(CL_PROGRAM_KERNEL_NAMES), size, &bytes, nil),
                    "clGetProgramInfo", "CL_PROGRAM_KERNEL_NAMES")
        return String(cString: bytes).split(separator: ";").map { String($0).trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }
}
