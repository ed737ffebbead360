// `<run>.<name>.safetensors`: a method's per-task recording `name` (`TaskRecording`; SI's ω at
// the end of each task, before consolidation: `--record-omega`, `<run>.omega.safetensors`), one
// float32 tensor "<name>.task<t>" (t 1-based) over the whole parameter buffer, and the layer
// layout as metadata "parameter_regions" (as in a checkpoint). A recording's figure (SI's
// synapse-dynamics, `PaperFigures.omegaCorrelation`) is drawn from these files.

import Foundation
import SynapseContinual

enum TaskRecords {
    /// `<dir>/<stem>.<name>.safetensors`.
    static func path(in folder: String, stem: String, name: String) -> String { folder + "/" + stem + "." + name + ".safetensors" }

    /// Stores task t's values of recording `name` in the file at `path` (keeping the other tasks'
    /// entries; a task trained again after a resume replaces its own).
    static func store(_ name: String, task t: Int, values: [Float], regions: [(name: String, offset: Int, count: Int)],
                      at path: String) throws {
        var kept: [SafeTensors.Entry] = []
        if FileManager.default.fileExists(atPath: path) {
            kept = try SafeTensors.read(from: path).entries.filter { $0.name != tensor(name, t) }
        }
        var file = SafeTensors()
        for entry in kept { try file.add(entry.name, shape: entry.shape, values: entry.values) }
        try file.add(tensor(name, t), values: values)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        file.metadata["parameter_regions"] = String(decoding: try encoder.encode(regions.map {
            ["name": $0.name, "offset": String($0.offset), "count": String($0.count)]
        }), as: UTF8.self)
        try file.write(to: path)
    }

    /// Recording `name` of tasks 1...n (all that the file holds, in order; it must hold a gapless
    /// run from task 1) and the parameter regions.
    /// - Throws: `SafeTensorsError` naming the file and what is wrong.
    static func load(_ name: String, from path: String) throws -> (values: [[Float]], regions: [(name: String, offset: Int, count: Int)]) {
        let file = try SafeTensors.read(from: path)
        var tasks: [[Float]] = []
        while let entry = file[tensor(name, tasks.count)] { tasks.append(entry.values) }
        guard tasks.count == file.entries.count, !tasks.isEmpty else {
            throw SafeTensorsError(path: path, "expected tensors \(name).task1 ... \(name).taskN; found \(file.entries.map(\.name))")
        }
        guard let text = file.metadata["parameter_regions"],
              let rows = try? JSONDecoder().decode([[String: String]].self, from: Data(text.utf8)) else {
            throw SafeTensorsError(path: path, "metadata \"parameter_regions\" is missing or not a list of regions")
        }
        var regions: [(name: String, offset: Int, count: Int)] = []
        for row in rows {
            guard let name = row["name"], let offset = row["offset"].flatMap(Int.init), let count = row["count"].flatMap(Int.init),
                  offset >= 0, count >= 0, offset + count <= tasks[0].count else {
                throw SafeTensorsError(path: path, "parameter region \(row) does not fit the \(tasks[0].count) values of \(name)")
            }
            regions.append((name, offset, count))
        }
        guard tasks.allSatisfy({ $0.count == tasks[0].count }) else {
            throw SafeTensorsError(path: path, "the tasks' \(name) arrays have different lengths")
        }
        return (tasks, regions)
    }

    private static func tensor(_ name: String, _ t: Int) -> String { "\(name).task\(t + 1)" }
}
