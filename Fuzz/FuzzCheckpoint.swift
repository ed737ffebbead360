// libFuzzer entry point for the checkpoint decoder and the resume validation. Built by Fuzz/run.sh
// against the package's own modules (compiled with coverage instrumentation), not a copy.
//
// Each input is read as a safetensors file and decoded as a checkpoint twice: as it is (the
// digests almost never match a mutated input, so this covers the reader and the digest check), and
// resealed with fresh digests (so the metadata decoding, the cross-checks and SavedStateCheck see
// every mutation). Nothing may trap; what a successful parse promises is checked with precondition.

import Foundation
@testable import SynapseCLI
import SynapseContinual

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCheckpoint(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? SafeTensors(bytes: bytes, path: "fuzz") else { return 0 }
    var names = Set<String>()
    for entry in file.entries {
        var count = 1
        for dimension in entry.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            precondition(!overflow && dimension >= 0, "the reader accepted shape \(entry.shape)")
            count = product
        }
        precondition(entry.values.count == count, "values do not match the shape")
        precondition(names.insert(entry.name).inserted, "the reader accepted a duplicate name")
    }
    _ = try? Checkpoint.decode(file, path: "fuzz")
    var resealed = file
    CheckpointIntegrity.seal(&resealed)
    guard let (state, _) = try? Checkpoint.decode(resealed, path: "fuzz") else { return 0 }
    let run = SavedStateCheck.Run(options: state.result.options, taskNames: state.result.taskNames,
                                  stepsPerEpoch: Array(repeating: 3, count: state.result.taskNames.count),
                                  parameterCount: state.arrays["theta"]?.count ?? 0)
    if (try? SavedStateCheck.validate(state, for: run)) != nil {
        precondition(state.health.isEmpty, "an unhealthy state passed the resume validation")
        precondition(state.result.taskIncrementalAccuracy.allSatisfy { $0.count == state.result.taskNames.count })
    }
    return 0
}
