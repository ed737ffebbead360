// Every SynapseChecks case on the PoCL CPU device, in both kernel styles, against the reference:
// the small list by default (every op, at ragged shapes that span several tiles), every shape of
// the standard list and a second seed in the slow tier. The CPU style also runs the convolution
// checks with Winograd forced, and together the checks must launch every kernel of every file.
import COpenCL
import Foundation
import SynapseChecks
import SynapseEngine
@testable import SynapseOpenCL
import SynapseReference
import Testing

@Suite("Kernels match the reference backend")
struct KernelCheckTests {
    /// The checks of this tier.
    static var checks: [OpCheck] { TestTier.pick(fast: OpChecks.small, long: OpChecks.standard) }

    @Test("every op check passes on PoCL in both kernel styles (Winograd forced too), reaching every kernel",
          .enabled(if: Fixture.runDeviceTests))
    func everyCheckPasses() throws {
        let reference = ReferenceBackend()
        let checks = Self.checks
        #expect(checks.count > 100)
        var launched: Set<String> = [], compiled: [String: Set<String>] = [:]
        for style in [KernelStyle.cpu, .gpu] {
            let backend = try Fixture.backend(style: style)
            #expect(backend.style == style)
            for check in checks {
                let result = check.run(on: backend, reference: reference, seed: 0xC0FFEE)
                #expect(result.passed, "\(style) style: \(result)")
            }
            if style == .cpu {
                // The 3×3 convolutions the table defaults leave to the direct kernel, through
                // Winograd (each table's first Winograd candidate; every candidate: WinogradTests).
                for table in WinogradTests.tables + WinogradTests.weightTables {
                    let winograd = table.candidates.first { $0["ALGO"] == "winograd" }
                    #expect(winograd != nil, "\(table.kernel) has no Winograd candidate")
                    backend.chosenTiles[table.kernel] = winograd
                }
                for check in checks where check.op.hasPrefix("conv2d") {
                    let result = check.run(on: backend, reference: reference, seed: 0xC0FFEE)
                    #expect(result.passed, "cpu style, Winograd forced: \(result)")
                }
                #expect(backend.workspaces["winograd.filter"] != nil && backend.workspaces["winograd.dwScratch"] != nil,
                        "the conv checks reached the Winograd kernels")
            }
            launched.formUnion(backend.kernels.keys.map { $0.split(separator: "|").prefix(2).joined(separator: "/") })
            for (key, program) in backend.programs {
                let file = String(key.split(separator: "|")[0])
                compiled[file, default: []].formUnion(try Self.kernelNames(program).map { file + "/" + $0 })
            }
        }
        // Every kernel file was built, and every kernel in it launched in at least one style.
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
