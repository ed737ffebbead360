// Pearson correlation of per-task ω, against values worked out by hand.

import Foundation
import SynapseContinual
import Testing

@Suite struct OmegaCorrelationTests {
    @Test("Pearson r of hand-checked vectors: ±1 for linear relations, 0 for orthogonal residuals, 9/√84 for [1,2,3]·[1,2,4]")
    func pearsonByHand() throws {
        // a = [1,2,3] centred [−1,0,1]; e = [1,2,4] centred [−4/3,−1/3,5/3]: dot 3, norms √2 and √42/3,
        // r = 9/√84. d = [1,0,1] centred [1/3,−2/3,1/3]: dot with a's residual is 0.
        let r = OmegaCorrelation.pearson([[1, 2, 3], [2, 4, 6], [3, 2, 1], [1, 0, 1], [1, 2, 4], [5, 5, 5]])
        let expected: [(Int, Int, Double)] = [(0, 0, 1), (0, 1, 1), (0, 2, -1), (0, 3, 0), (0, 4, 9 / 84.0.squareRoot()),
                                              (1, 2, -1), (2, 4, -9 / 84.0.squareRoot())]
        for (i, j, value) in expected {
            #expect(abs(try #require(r[i][j]) - value) < 1e-12, "r[\(i)][\(j)]")
            #expect(abs(try #require(r[j][i]) - value) < 1e-12, "r[\(j)][\(i)]")
        }
        // A constant vector has no correlation with anything, itself included.
        #expect((0..<6).allSatisfy { r[5][$0] == nil && r[$0][5] == nil })
    }

    @Test("per layer: weights and bias of one layer together, each layer from its own slice")
    func perLayerSlices() throws {
        // dense1 = offsets 0..<4 (weight 0..<3, bias 3), output = 4..<6. Task 2's dense1 ω is task 1's
        // doubled (r = 1); its output ω is reversed (r = −1).
        let regions = [(name: "dense1.weight", offset: 0, count: 3), (name: "dense1.bias", offset: 3, count: 1),
                       (name: "output.weight", offset: 4, count: 1), (name: "output.bias", offset: 5, count: 1)]
        let omegas: [[Float]] = [[1, 2, 3, 7, 1, 2], [2, 4, 6, 14, 2, 1]]
        let layers = OmegaCorrelation.perLayer(omegas, regions: regions)
        #expect(layers.map(\.layer) == ["dense1", "output"])
        #expect(abs(try #require(layers[0].correlation[0][1]) - 1) < 1e-12)
        #expect(abs(try #require(layers[1].correlation[0][1]) + 1) < 1e-12)
    }
}
