// The synapse-dynamics analysis of the paper: how alike the per-parameter importances of
// different tasks are. Input: ω of every task, taken at the task's end before consolidation
// (one vector over all parameters per task); output: per layer, the Pearson correlation
// between every pair of tasks.

import Foundation

public enum OmegaCorrelation {
    /// The Pearson correlation matrix of `vectors` (all the same length), in Double:
    /// r_ij = Σ(a − ā)(b − b̄) / √(Σ(a − ā)² Σ(b − b̄)²). The diagonal is 1; an entry involving a
    /// constant vector (no variance) is nil, since the correlation is undefined there.
    public static func pearson(_ vectors: [[Float]]) -> [[Double?]] {
        let centred: [[Double]] = vectors.map { v in
            let mean = v.reduce(0.0) { $0 + Double($1) } / Double(max(1, v.count))
            return v.map { Double($0) - mean }
        }
        let norms = centred.map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        return vectors.indices.map { i in
            vectors.indices.map { j in
                guard norms[i] > 0, norms[j] > 0, centred[i].count == centred[j].count else { return nil }
                if i == j { return 1 }
                let dot = zip(centred[i], centred[j]).reduce(0.0) { $0 + $1.0 * $1.1 }
                return max(-1, min(1, dot / (norms[i] * norms[j])))
            }
        }
    }

    /// Per layer, in buffer order: the layer's name (the part of a region name before the first
    /// '.', e.g. "dense1" from "dense1.weight") and the correlation matrix over tasks of the ω
    /// entries of all its regions (weights and bias together). `omegas[t]` is task t's ω over the
    /// whole parameter buffer; `regions` is `Network.parameterRegions`.
    public static func perLayer(_ omegas: [[Float]], regions: [(name: String, offset: Int, count: Int)])
        -> [(layer: String, correlation: [[Double?]])] {
        var layers: [(String, [(offset: Int, count: Int)])] = []
        for region in regions {
            let layer = String(region.name.split(separator: ".", maxSplits: 1).first ?? Substring(region.name))
            if layers.last?.0 == layer {
                layers[layers.count - 1].1.append((region.offset, region.count))
            } else {
                layers.append((layer, [(region.offset, region.count)]))
            }
        }
        return layers.map { name, parts in
            let vectors = omegas.map { omega in
                parts.flatMap { part in
                    part.offset + part.count <= omega.count ? Array(omega[part.offset..<(part.offset + part.count)]) : []
                }
            }
            return (name, pearson(vectors))
        }
    }
}
