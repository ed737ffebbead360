// The fused backward passes of the split-CIFAR CNN (a ReLU backward applied by the layer above as
// it writes its input gradient: the convolution above a convolution, the max-pool above a
// convolution, the dense layer above a dense layer) only move where the mask is applied: the
// gradients must equal, bit for bit, those of the same step with every ReLU backward run as its
// own pass, whichever algorithm the convolutions use.
import SynapseChecks
@testable import SynapseEngine
@testable import SynapseOpenCL
import Testing

@Suite("Fused backward passes")
struct FusedBackwardTests {
    /// ∂L/∂θ of one training step of the split-CIFAR CNN (batch 5, random input, output layer and
    /// dLogits, dropout on) on `backend`, with the fused backward passes on or all switched off.
    static func gradients(_ backend: OpenCLBackend, fused: Bool) throws -> [Float] {
        let (shape, specs) = Architecture.splitCIFAR(outputUnits: 10)
        let batch = 5
        let network = try Network(backend: backend, inputShape: shape, layers: specs, maxBatch: batch, seed: 7)
        if !fused {
            for layer in network.layers {
                if let conv = layer as? ConvLayer { conv.masksInputGradient = false; conv.receivesMaskedGradient = false }
                if let dense = layer as? DenseLayer { dense.masksInputGradient = false; dense.receivesMaskedGradient = false }
                if let pool = layer as? MaxPoolLayer { pool.appliesReLUBackward = false }
            }
        }
        var random = SeededGenerator(seed: 11)
        // The output layer starts at zero, which would stop every gradient below it.
        var theta = try backend.download(network.parameters)
        for region in network.parameterRegions where region.name.hasPrefix("output.") {
            for i in region.offset..<(region.offset + region.count) { theta[i] = 2 * random.nextFloat() - 1 }
        }
        try backend.upload(theta, to: network.parameters)
        try backend.upload((0..<(batch * network.inputSize)).map { _ in 2 * random.nextFloat() - 1 }, to: network.input)
        _ = try network.forward(batch: batch, training: true, step: 3)
        let dLogits = Tensor(storage: try backend.allocate(.float32, count: batch * 10), shape: [batch, 10])
        try backend.upload((0..<(batch * 10)).map { _ in 2 * random.nextFloat() - 1 }, to: dLogits)
        try network.backward(dLogits: dLogits, batch: batch, step: 3)
        return try backend.download(network.gradients)
    }

    @Test("fused and separate ReLU backward passes give bit-identical gradients",
          .enabled(if: Fixture.runDeviceTests), arguments: ["cpu winograd", "cpu direct", "gpu"])
    func fusedEqualsSeparate(configuration: String) throws {
        let backend = try Fixture.backend(style: configuration == "gpu" ? .gpu : .cpu)
        // The first Winograd candidate, as KernelCheckTests forces it (the programs built there are reused).
        let winograd = TileTables.conv3x3ForwardWide.candidates.first { $0["ALGO"] == "winograd" } ?? [:]
        let algorithm = configuration == "cpu winograd" ? winograd : ["ALGO": "direct"]
        for table in WinogradTests.tables { backend.chosenTiles[table.kernel] = algorithm }
        let fused = try Self.gradients(backend, fused: true)
        let separate = try Self.gradients(backend, fused: false)
        let differing = zip(fused, separate).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differing == 0, "\(configuration): \(differing) of \(fused.count) gradients differ")
        // Gradients reached conv1 (the first layer's weights are the start of the buffer).
        #expect(fused.prefix(32 * 3 * 9).contains { $0 != 0 }, "\(configuration): conv1's weight gradient is all zero")
        if configuration == "cpu winograd" { #expect(backend.workspaces["winograd.filter"] != nil) }
    }
}
