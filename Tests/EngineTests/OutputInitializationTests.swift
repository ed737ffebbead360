// The output layer's initial weights: Glorot-uniform for a single head (Keras' default, as the
// authors' permuted-MNIST network), exact zeros for multi-head outputs.

import Foundation
import SynapseEngine
import SynapseReference
import Testing

@Suite struct OutputInitializationTests {
    static func outputRegions(_ initialization: OutputInitialization?, seed: UInt64) throws -> (weight: [Float], bias: [Float]) {
        let backend = ReferenceBackend()
        let layers: [LayerSpec] = [.dense(units: 300, relu: true), .output(units: 10)]
        let network = try initialization.map {
            try Network(backend: backend, inputShape: [50], layers: layers, maxBatch: 1, seed: seed, outputInitialization: $0)
        } ?? Network(backend: backend, inputShape: [50], layers: layers, maxBatch: 1, seed: seed)
        let all = try backend.download(network.parameters)
        func region(_ name: String) -> [Float] {
            let r = network.parameterRegions.first { $0.name == name }!
            return Array(all[r.offset..<(r.offset + r.count)])
        }
        return (region("output.weight"), region("output.bias"))
    }

    @Test("a single-head output is U(±√(6/(fanIn+fanOut))): range, mean and variance within sampling error")
    func singleHeadIsGlorotUniform() throws {
        let (weight, bias) = try Self.outputRegions(.glorotUniform, seed: 77)
        #expect(weight.count == 3000)
        let limit = (6.0 / Double(300 + 10)).squareRoot()
        let n = Double(weight.count)
        let values = weight.map(Double.init)
        #expect(values.allSatisfy { abs($0) <= limit })
        // The extremes of 3,000 uniform draws lie within limit/300 of the ends with probability 1 − e⁻¹⁰.
        #expect(values.max()! > limit * 0.99 && values.min()! < -limit * 0.99)
        // Mean 0 with standard error limit/√(3n); E[x²] = limit²/3 with standard error
        // √(4/45)·limit²/√n (Var x² = limit⁴/5 − limit⁴/9). Four standard errors each.
        let mean = values.reduce(0, +) / n
        #expect(abs(mean) < 4 * limit / (3 * n).squareRoot())
        let meanSquare = values.reduce(0) { $0 + $1 * $1 } / n
        #expect(abs(meanSquare - limit * limit / 3) < 4 * (4.0 / 45).squareRoot() * limit * limit / n.squareRoot())
        #expect(bias.allSatisfy { $0 == 0 })
    }

    @Test("multi-head outputs (the default) start at exact zeros", arguments: [OutputInitialization.zero, nil])
    func multiHeadIsZero(initialization: OutputInitialization?) throws {
        let (weight, bias) = try Self.outputRegions(initialization, seed: 78)
        #expect(weight.count == 3000 && weight.allSatisfy { $0 == 0 })
        #expect(bias.allSatisfy { $0 == 0 })
    }
}
