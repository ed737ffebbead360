// Synthetic continual-learning problems built in the tests: Gaussian blobs turned into uint8
// "images" (1×1×dim), and the small networks the tests train on them.
import Foundation
import SynapseContinual
import SynapseData
import SynapseEngine

/// Gaussian blobs: class k has a random center in [0.2, 0.8]^dim; each example is
/// center + spread·N(0, 1) per pixel, clipped to [0, 1], stored as round(255·x).
/// `permutation` (if given) reorders the pixels of every image (permuted-MNIST style).
public func blobTask(name: String, seed: UInt64, classes: Int, dim: Int, trainPerClass: Int, testPerClass: Int,
                     spread: Double, permutation: [Int]? = nil) -> ContinualTask {
    var generator = SeededGenerator(seed: seed)
    let centers = (0..<classes).map { _ in (0..<dim).map { _ in 0.2 + 0.6 * generator.nextDouble() } }
    func gaussian() -> Double {
        // Box–Muller; 1 − u keeps the logarithm finite.
        let u = 1 - generator.nextDouble(), v = generator.nextDouble()
        return (-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v)
    }
    func makeSet(_ perClass: Int) -> ImageSet {
        var pixels: [UInt8] = []
        var labels: [Int32] = []
        for i in 0..<(perClass * classes) {
            let k = i % classes   // classes interleaved, so the order carries no information
            var image = centers[k].map { UInt8((min(1, max(0, $0 + spread * gaussian())) * 255).rounded()) }
            if let permutation { image = permutation.map { image[$0] } }
            pixels += image
            labels.append(Int32(k))
        }
        return ImageSet(pixels: pixels, labels: labels, channels: 1, height: 1, width: dim)
    }
    return ContinualTask(name: name, classNames: (0..<classes).map { "c\($0)" },
                         train: makeSet(trainPerClass), test: makeSet(testPerClass))
}

/// A hidden ReLU layer and the output heads.
public func mlp(hidden: Int, outputUnits: Int, dropout: Float? = nil) -> [LayerSpec] {
    var layers: [LayerSpec] = [.dense(units: hidden, relu: true)]
    if let dropout { layers.append(.dropout(rate: dropout)) }
    layers.append(.output(units: outputUnits))
    return layers
}

/// The sum of `values` in Double.
public func sum(_ values: [Float]) -> Double { values.reduce(0.0) { $0 + Double($1) } }
