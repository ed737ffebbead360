// A checkpoint after each finished task: the trainer's whole state (weights θ, anchor θ*, Ω, ω,
// Adam m and v, EWC sums) as float32 safetensors, plus the counters that position every random
// stream (shuffles, dropout masks and Fisher labels are pure functions of seed, task, epoch and
// step), the run's config and the partial results, as `__metadata__` strings.
//
// In numpy: `safetensors.numpy.load_file("si.checkpoint.safetensors")["theta"]`; the metadata key
// "parameter_regions" says which slice of "theta" is which layer's weight or bias.

import Foundation
import SynapseContinual
import SynapseEngine

enum Checkpoint {
    /// Identifies the layout below; bumped if it changes.
    static let format = "synapse-checkpoint-1"
    /// The run description (`RunDescription.canonical`) and its SHA-256. Checkpoints written
    /// before it existed lack both; their description is made from their config.
    static let descriptionKey = "description"
    static let descriptionDigestKey = "description_sha256"

    /// `<dir>/<run>.checkpoint.safetensors` (run: `ExperimentRun.stem`, e.g. "si", "si_seed3" or "validation/si_c0.1_seed0")
    static func path(in folder: String, run: String) -> String {
        folder + "/" + run + suffix
    }

    /// The end of every checkpoint's file name.
    static let suffix = ".checkpoint.safetensors"

    /// The file contents of `state` under `config`.
    static func encode(_ state: TrainerState, config: RunConfig,
                       parameterRegions: [(name: String, offset: Int, count: Int)]) throws -> SafeTensors {
        var file = SafeTensors()
        for name in state.arrays.keys.sorted() {
            try file.add(name, values: state.arrays[name]!)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        func json<T: Encodable>(_ value: T) throws -> String {
            String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        file.metadata["format"] = format
        file.metadata["method"] = state.result.options.method.rawValue
        file.metadata["device"] = state.result.device
        file.metadata["completed_tasks"] = String(state.result.completedTasks)
        for (name, value) in state.counters { file.metadata["counter." + name] = String(value) }
        file.metadata["config"] = try json(config)
        // What the result means, for the comparison with any run that continues or reports it.
        let description = config.description(of: state.result.options.method)
        file.metadata[descriptionKey] = description.canonical
        file.metadata[descriptionDigestKey] = description.digest
        file.metadata["result"] = try json(state.result)
        file.metadata["parameter_regions"] = try json(parameterRegions.map {
            ["name": $0.name, "offset": String($0.offset), "count": String($0.count)]
        })
        CheckpointIntegrity.seal(&file)
        return file
    }

    /// Writes the checkpoint atomically (temporary file + rename).
    static func save(_ state: TrainerState, config: RunConfig,
                     parameterRegions: [(name: String, offset: Int, count: Int)], to path: String) throws {
        try encode(state, config: config, parameterRegions: parameterRegions).write(to: path)
    }

    /// The trainer state and config stored in `file`; `path` names it in errors.
    static func decode(_ file: SafeTensors, path: String) throws -> (state: TrainerState, config: RunConfig) {
        try CheckpointIntegrity.verify(file, path: path)
        guard file.metadata["format"] == format else {
            throw SafeTensorsError(path: path,
                "expected metadata format \"\(format)\"; found \(file.metadata["format"].map { "\"\($0)\"" } ?? "none")")
        }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        func value<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            guard let text = file.metadata[key] else {
                throw SafeTensorsError(path: path, "metadata \"\(key)\" is missing")
            }
            do { return try decoder.decode(type, from: Data(text.utf8)) } catch {
                throw SafeTensorsError(path: path, "metadata \"\(key)\" is not a valid \(type) (\(error))")
            }
        }
        let config = try value(RunConfig.self, "config")
        let result = try value(ContinualResult.self, "result")
        var counters: [String: Int] = [:]
        for (key, text) in file.metadata where key.hasPrefix("counter.") {
            guard let number = Int(text) else {
                throw SafeTensorsError(path: path, "metadata \"\(key)\": expected an integer; found \"\(text)\"")
            }
            counters[String(key.dropFirst("counter.".count))] = number
        }
        var arrays: [String: [Float]] = [:]
        for entry in file.entries { arrays[entry.name] = entry.values }
        let state = TrainerState(arrays: arrays, counters: counters, result: result)
        try CheckpointIntegrity.crossCheck(state: state, config: config, metadata: file.metadata, path: path)
        return (state, config)
    }

    static func load(from path: String) throws -> (state: TrainerState, config: RunConfig) {
        try decode(SafeTensors.read(from: path), path: path)
    }

    /// The state, config and run description in the checkpoint at `path`.
    static func open(_ path: String) throws -> (state: TrainerState, config: RunConfig, description: RunDescription) {
        let file = try SafeTensors.read(from: path)
        let (state, config) = try decode(file, path: path)
        return (state, config, try description(in: file, config: config, method: state.result.options.method, path: path))
    }

    /// The description a checkpoint was written with: its own copy (checked against its digest),
    /// or for a file older than that copy, the description of its config.
    static func description(in file: SafeTensors, config: RunConfig, method: Method, path: String) throws -> RunDescription {
        guard let text = file.metadata[descriptionKey] else {
            guard file.metadata[descriptionDigestKey] == nil else {
                throw SafeTensorsError(path: path, "metadata \"\(descriptionDigestKey)\" without \"\(descriptionKey)\"")
            }
            return config.description(of: method)
        }
        guard let description = RunDescription(canonical: text) else {
            throw SafeTensorsError(path: path, "metadata \"\(descriptionKey)\" is not a list of [name, value] pairs")
        }
        guard file.metadata[descriptionDigestKey] == description.digest else {
            throw SafeTensorsError(path: path, "metadata \"\(descriptionDigestKey)\" does not match its description")
        }
        return description
    }
}
