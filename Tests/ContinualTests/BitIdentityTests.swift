// The method refactor must not change a single bit of any method's results: every method runs a
// small deterministic three-task problem, and its accuracy matrices and per-epoch training losses
// are compared EXACTLY (as IEEE bit patterns) with `BitIdentityFixture`, which was written by the
// code before the refactor (see that file). Set SYNAPSE_RECORD_FIXTURE=<path> to write a new one.

import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine
import SynapseReference
import Testing

/// What a run is reduced to for the comparison: every number the trainer reports, as bit patterns.
func fingerprint(_ result: ContinualResult) -> [String] {
    func hex(_ value: Double) -> String { String(value.bitPattern, radix: 16) }
    var lines: [String] = []
    for (i, row) in result.taskIncrementalAccuracy.enumerated() {
        lines.append("task-inc \(i): " + row.map(hex).joined(separator: " "))
    }
    for (i, row) in result.classIncrementalAccuracy.enumerated() {
        lines.append("class-inc \(i): " + row.map { $0.map(hex) ?? "-" }.joined(separator: " "))
    }
    for (i, row) in result.trainingLoss.enumerated() {
        lines.append("loss \(i): " + row.map(hex).joined(separator: " "))
    }
    return lines
}

/// The runs of the fixture: (backend label, method name) → fingerprint.
func bitIdentityRuns(backend: any Backend, label: String) throws -> [String: [String]] {
    let sequence = try threeTaskProblem()
    var runs: [String: [String]] = [:]
    for method in Method.allCases where BitIdentityFixture.methods.contains(method.rawValue) {
        // The fixture pins the textbook Adam (`.standard`) and zero-initialised multi-head outputs:
        // the defaults when it was recorded, passed explicitly since the protocols default to `.keras`.
        let result = try trainer(method, sequence, backend: backend, seed: 3, adamVariant: .standard).run()
        runs["\(label) \(method.rawValue)"] = fingerprint(result)
    }
    return runs
}

@Suite("Bit-identical results across the method refactor")
struct BitIdentityTests {
    @Test("every method's accuracy matrices and losses are bit-identical to the pre-refactor code's")
    func matchesFixture() throws {
        var runs = try bitIdentityRuns(backend: ReferenceBackend(), label: "reference")
        openCLLock.lock()
        defer { openCLLock.unlock() }
        if let cl = try openCLCPUBackend() {
            runs.merge(try bitIdentityRuns(backend: cl, label: "cpu")) { a, _ in a }
        }
        if let path = ProcessInfo.processInfo.environment["SYNAPSE_RECORD_FIXTURE"] {
            var text = ""
            for key in runs.keys.sorted() {
                text += "        \"\(key)\": [\n" + runs[key]!.map { "            \"\($0)\",\n" }.joined() + "        ],\n"
            }
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        #expect(!BitIdentityFixture.runs.isEmpty)
        for (key, expected) in BitIdentityFixture.runs {
            // The CPU device may be absent outside CI (openCLCPUBackend throws in CI when it is).
            guard let actual = runs[key] else {
                #expect(key.hasPrefix("cpu "), "\(key): not run")
                continue
            }
            #expect(actual == expected, "\(key): results differ from the pre-refactor code's")
        }
    }
}
