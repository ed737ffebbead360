// What makes a checkpoint trustworthy before a resume uses it:
//
// - Two SHA-256 digests in the metadata. "tensor_sha256" covers the data region (every tensor byte
//   in file order); "metadata_sha256" covers the tensor names and shapes in order and every other
//   metadata entry. Any changed byte (a flipped exponent, an edited config, a renamed tensor) is
//   refused by name. The digests catch accidents and careless edits; they are no signature.
// - Cross-checks that hold in every file this tool writes: the method, completed-task count and
//   counters agree with each other, the config and the result; the result's task list fits the
//   config's task count. The trainer then checks the state against the run itself
//   (`SavedStateCheck`: exact step counters, row shapes, array sizes, health).

import Foundation
import SynapseContinual

enum CheckpointIntegrity {
    static let tensorDigestKey = "tensor_sha256"
    static let metadataDigestKey = "metadata_sha256"

    /// The text "metadata_sha256" hashes: each tensor as name[shape], then each metadata entry
    /// but that digest, sorted by key, every string JSON-quoted (so no two layouts collide).
    static func canonicalMetadata(_ file: SafeTensors) -> [UInt8] {
        var text = "tensors:" + file.entries.map { jsonString($0.name) + $0.shape.description }.joined(separator: ",")
        for key in file.metadata.keys.sorted() where key != metadataDigestKey {
            text += "\n" + jsonString(key) + ":" + jsonString(file.metadata[key]!)
        }
        return Array(text.utf8)
    }

    /// Adds both digests to `file` (the last step before writing it).
    static func seal(_ file: inout SafeTensors) {
        file.metadata[tensorDigestKey] = file.dataDigest()
        file.metadata[metadataDigestKey] = SHA256.hex(canonicalMetadata(file))
    }

    /// Throws unless both digests are present and match.
    static func verify(_ file: SafeTensors, path: String) throws {
        for key in [tensorDigestKey, metadataDigestKey] where file.metadata[key] == nil {
            throw SafeTensorsError(path: path, "metadata \"\(key)\" is missing; expected the digest every checkpoint carries")
        }
        guard file.metadata[metadataDigestKey] == SHA256.hex(canonicalMetadata(file)) else {
            throw SafeTensorsError(path: path, "the metadata or the tensor names/shapes were changed after the file was written "
                                   + "(metadata_sha256 does not match); refusing to resume from it")
        }
        guard file.metadata[tensorDigestKey] == file.dataDigest() else {
            throw SafeTensorsError(path: path, "the tensor data was changed or damaged after the file was written "
                                   + "(tensor_sha256 does not match); refusing to resume from it")
        }
    }

    /// The cross-checks between the metadata, the config and the result of a decoded checkpoint.
    static func crossCheck(state: TrainerState, config: RunConfig, metadata: [String: String], path: String) throws {
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason) }
        let result = state.result
        guard metadata["method"] == result.options.method.rawValue else {
            throw fail("metadata method \"\(metadata["method"] ?? "none")\" differs from the result's \(result.options.method.rawValue)")
        }
        guard config.methods.contains(result.options.method) else {
            throw fail("the result is for \(result.options.method.rawValue), which the config's methods \(config.methods.map(\.rawValue)) do not include")
        }
        guard metadata["completed_tasks"] == String(result.completedTasks),
              state.counters["completedTasks"] == result.completedTasks else {
            throw fail("completed tasks disagree: metadata \(metadata["completed_tasks"] ?? "none"), counter "
                       + "\(state.counters["completedTasks"].map(String.init) ?? "none"), result \(result.completedTasks)")
        }
        guard result.taskNames.count == config.tasks, (0...config.tasks).contains(result.completedTasks) else {
            throw fail("the result lists \(result.taskNames.count) tasks (\(result.completedTasks) done); the config has \(config.tasks)")
        }
        for (name, value) in state.counters where value < 0 {
            throw fail("counter \"\(name)\" is \(value), expected ≥ 0")
        }
        let known: Set<String> = ["completedTasks", "globalStep", "adamStep"]
        if let unknown = state.counters.keys.first(where: { !known.contains($0) }) {
            throw fail("unknown counter \"\(unknown)\"; expected only \(known.sorted())")
        }
        let arrays = Set(TrainerState.coreArrays + MethodRegistry.all.flatMap { $0.checkpointArrayNames })
        if let unknown = state.arrays.keys.first(where: { !arrays.contains($0) }) {
            throw fail("unknown tensor \"\(unknown)\"; expected only \(arrays.sorted())")
        }
    }
}
