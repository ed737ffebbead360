/// The paper's three networks (Zenke, Poole and Ganguli 2017; docs/protocols.md), as an input shape per
/// example and a list of layers for `Network`.
public enum Architecture {
    /// Split CIFAR-10/100: conv32(same)-conv32(valid)-maxpool-drop0.25,
    /// conv64(same)-conv64(valid)-maxpool-drop0.25, flatten, dense512-drop0.5, output.
    /// Input [3, 32, 32] (NCHW); spatial sizes 32→32→30→15, 15→15→13→6, so flatten gives 64·6·6 = 2304.
    /// The multi-head output has `outputUnits` units (60 in the paper: 6 tasks × 10 classes).
    public static func splitCIFAR(outputUnits: Int) -> (inputShape: [Int], layers: [LayerSpec]) {
        ([3, 32, 32], [
            .conv3x3(filters: 32, padding: .same, relu: true),
            .conv3x3(filters: 32, padding: .valid, relu: true),
            .maxPool2x2,
            .dropout(rate: 0.25),
            .conv3x3(filters: 64, padding: .same, relu: true),
            .conv3x3(filters: 64, padding: .valid, relu: true),
            .maxPool2x2,
            .dropout(rate: 0.25),
            .flatten,
            .dense(units: 512, relu: true),
            .dropout(rate: 0.5),
            .output(units: outputUnits),
        ])
    }

    /// Split MNIST: MLP 784-256-256 with ReLU and a multi-head output (10 units in the paper:
    /// 5 tasks × 2 classes). Input [784] (pixels / 255).
    public static func splitMNIST(outputUnits: Int) -> (inputShape: [Int], layers: [LayerSpec]) {
        ([784], [
            .dense(units: 256, relu: true),
            .dense(units: 256, relu: true),
            .output(units: outputUnits),
        ])
    }

    /// Permuted MNIST: MLP 784-2000-2000 with ReLU and a single-head output (10 units).
    /// Input [784] (permuted pixels / 255).
    public static func permutedMNIST(outputUnits: Int) -> (inputShape: [Int], layers: [LayerSpec]) {
        ([784], [
            .dense(units: 2000, relu: true),
            .dense(units: 2000, relu: true),
            .output(units: outputUnits),
        ])
    }
}
