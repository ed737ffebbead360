// `<run>.omega.safetensors`: SI's ω at the end of each task, before consolidation (--record-omega),
// one float32 tensor "omega.task<t>" (t 1-based) over the whole parameter buffer, and the layer
// layout as metadata "parameter_regions" (as in a checkpoint). The synapse-dynamics figure
// (`PaperFigures.omegaCorrelation`) is drawn from these files.

import Foundation
import SynapseContinual

enum OmegaRecord {
    /// `<dir>/<stem>.omega.safetensors`.
    static func path(in folder: String, stem: String) -> String { folder + "/" + stem + ".omega.safetensors" }

    /// Stores task t's ω in the file at `path` (keeping the other tasks' entries; a task trained
    /// again after a resume replaces its own).
    static func store(task t: Int, omega: [Float], regions: [(name: String, offset: Int, count: Int)], at path: String) throws {
        var kept: [SafeTensors.Entry] = []
        if FileManager.default.fileExists(atPath: path) {
            kept = try SafeTensors.read(from: path).entries.filter { $0.name != name(t) }
        }
        var file = SafeTensors()
        for entry in kept { try file.add(entry.name, shape: entry.shape, values: entry.values) }
        try file.add(name(t), values: omega)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        file.metadata["parameter_regions"] = String(decoding: try encoder.encode(regions.map {
            ["name": $0.name, "offset": String($0.offset), "count": String($0.count)]
        }), as: UTF8.self)
        try file.write(to: path)
    }

    /// ω of tasks 1...n (all that the file holds, in order; it must hold a gapless run from task 1)
    /// and the parameter regions.
    /// - Throws: `SafeTensorsError` naming the file and what is wrong.
    static func load(_ path: String) throws -> (omegas: [[Float]], regions: [(name: String, offset: Int, count: Int)]) {
        let file = try SafeTensors.read(from: path)
        var omegas: [[Float]] = []
        while let entry = file[name(omegas.count)] { omegas.append(entry.values) }
        guard omegas.count == file.entries.count, !omegas.isEmpty else {
            throw SafeTensorsError(path: path, "expected tensors omega.task1 ... omega.taskN; found \(file.entries.map(\.name))")
        }
        guard let text = file.metadata["parameter_regions"],
              let rows = try? JSONDecoder().decode([[String: String]].self, from: Data(text.utf8)) else {
            throw SafeTensorsError(path: path, "metadata \"parameter_regions\" is missing or not a list of regions")
        }
        var regions: [(name: String, offset: Int, count: Int)] = []
        for row in rows {
            guard let name = row["name"], let offset = row["offset"].flatMap(Int.init), let count = row["count"].flatMap(Int.init),
                  offset >= 0, count >= 0, offset + count <= omegas[0].count else {
                throw SafeTensorsError(path: path, "parameter region \(row) does not fit the \(omegas[0].count) values of ω")
            }
            regions.append((name, offset, count))
        }
        guard omegas.allSatisfy({ $0.count == omegas[0].count }) else {
            throw SafeTensorsError(path: path, "the tasks' ω have different lengths")
        }
        return (omegas, regions)
    }

    private static func name(_ t: Int) -> String { "omega.task\(t + 1)" }
}
