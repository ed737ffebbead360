// Both backends reject the same bad call with the same one-line message: the argument checks of
// every op live once in `OpContract`, and each backend must call them before doing anything else.
import Testing
import SynapseEngine
import SynapseReference
@testable import SynapseOpenCL

/// Allocates the views of one bad call on the backend under test.
private struct Views {
    let backend: any Backend
    func floats(_ count: Int) throws -> Tensor { try tensor(.float32, count) }
    func ints(_ count: Int) throws -> Tensor { try tensor(.int32, count) }
    func bytes(_ count: Int) throws -> Tensor { try tensor(.uint8, count) }
    func tensor(_ type: ElementType, _ count: Int) throws -> Tensor {
        Tensor(storage: try backend.allocate(type, count: count), shape: [count])
    }
    /// A parameter state of `count` parameters whose `short` view (if any) holds one fewer.
    func state(_ count: Int, short: String? = nil) throws -> ParameterState {
        func view(_ name: String) throws -> Tensor { try floats(name == short ? count - 1 : count) }
        return ParameterState(theta: try floats(count), anchor: try view("anchor"), bigOmega: try view("importance"),
                              smallOmega: try view("omega"), m: try view("m"), v: try view("v"))
    }
}

/// One bad call: the op it calls, the argument at fault (which the message must name), and the call.
private struct BadCall: CustomStringConvertible, Sendable {
    let op: String
    let argument: String
    let call: @Sendable (Views) throws -> Void
    var description: String { "\(op) with a bad \(argument)" }
}

private let conv = ConvShape(batch: 2, inChannels: 3, height: 5, width: 7, outChannels: 4, kernelSize: 3, padding: 1)
private let adam = AdamHyper()

/// Every op with a contract, and each kind of check in it: sizes, element types, short views,
/// scalar ranges. Sizes are deliberately not multiples of anything.
private let badCalls: [BadCall] = [
    BadCall(op: "allocate", argument: "count") { _ = try $0.backend.allocate(.float32, count: -3) },
    BadCall(op: "upload", argument: "int32") { try $0.backend.upload([Int32(1)], to: try $0.floats(1)) },
    BadCall(op: "upload", argument: "7 values") { try $0.backend.upload([Float](repeating: 0, count: 7), to: try $0.floats(6)) },
    BadCall(op: "upload", argument: "2 values") { try $0.backend.upload([UInt8](repeating: 0, count: 2), to: try $0.bytes(5)) },
    BadCall(op: "download", argument: "int32") { _ = try $0.backend.download(try $0.ints(3)) },
    BadCall(op: "downloadInt32", argument: "float32") { _ = try $0.backend.downloadInt32(try $0.floats(3)) },
    BadCall(op: "fill", argument: "int32") { try $0.backend.fill(try $0.ints(4), value: 0.5) },
    BadCall(op: "fill", argument: "uint8") { try $0.backend.fill(try $0.bytes(4), value: 300) },
    BadCall(op: "copy", argument: "destination") { try $0.backend.copy(try $0.ints(5), to: try $0.floats(5)) },
    BadCall(op: "copy", argument: "elements") { try $0.backend.copy(try $0.floats(5), to: try $0.floats(4)) },
    BadCall(op: "accumulate", argument: "destination") {
        try $0.backend.accumulate(try $0.floats(9), into: try $0.floats(8), scale: 1, transform: .identity)
    },
    BadCall(op: "accumulate", argument: "source") {
        try $0.backend.accumulate(try $0.ints(9), into: try $0.floats(9), scale: 1, transform: .square)
    },
    BadCall(op: "accumulateSum", argument: "count") { try $0.backend.accumulateSum(try $0.floats(3), count: -1, into: try $0.floats(1)) },
    BadCall(op: "accumulateSum", argument: "values") { try $0.backend.accumulateSum(try $0.floats(3), count: 4, into: try $0.floats(1)) },
    BadCall(op: "accumulateSum", argument: "accumulator") { try $0.backend.accumulateSum(try $0.floats(3), count: 3, into: try $0.floats(0)) },
    BadCall(op: "gatherRows", argument: "source") {
        try $0.backend.gatherRows(try $0.floats(30), indices: try $0.ints(3), rows: 3, rowLength: 5, scale: 1, into: try $0.floats(15))
    },
    BadCall(op: "gatherRows", argument: "destination") {
        try $0.backend.gatherRows(try $0.bytes(30), indices: try $0.ints(3), rows: 3, rowLength: 5, scale: 1, into: try $0.floats(14))
    },
    BadCall(op: "gatherRows", argument: "rowLength") {
        try $0.backend.gatherRows(try $0.bytes(30), indices: try $0.ints(3), rows: 3, rowLength: -5, scale: 1, into: try $0.floats(15))
    },
    BadCall(op: "gatherLabels", argument: "rows") {
        try $0.backend.gatherLabels(try $0.ints(10), indices: try $0.ints(3), rows: -2, into: try $0.ints(3))
    },
    BadCall(op: "gatherLabels", argument: "indices") {
        try $0.backend.gatherLabels(try $0.ints(10), indices: try $0.ints(2), rows: 3, into: try $0.ints(3))
    },
    BadCall(op: "gemm", argument: "c") {
        try $0.backend.gemm(transposeA: false, transposeB: true, m: 5, n: 3, k: 7, alpha: 1,
                            a: try $0.floats(35), b: try $0.floats(21), beta: 0, c: try $0.floats(14))
    },
    BadCall(op: "denseForward", argument: "bias") {
        try $0.backend.denseForward(input: try $0.floats(35), weight: try $0.floats(21), bias: try $0.floats(2),
                                    batch: 5, inputs: 7, units: 3, relu: true, output: try $0.floats(15))
    },
    BadCall(op: "denseForward", argument: "units") {
        try $0.backend.denseForward(input: try $0.floats(35), weight: try $0.floats(21), bias: try $0.floats(3),
                                    batch: 5, inputs: 7, units: -3, relu: false, output: try $0.floats(15))
    },
    BadCall(op: "denseBackwardWeight", argument: "dBias") {
        try $0.backend.denseBackwardWeight(input: try $0.floats(35), dOutput: try $0.floats(15), batch: 5, inputs: 7,
                                           units: 3, dWeight: try $0.floats(21), dBias: try $0.floats(2))
    },
    BadCall(op: "denseBackwardWeight", argument: "dWeight") {
        try $0.backend.denseBackwardWeight(input: try $0.floats(35), dOutput: try $0.floats(15), batch: 5, inputs: 7,
                                           units: 3, dWeight: try $0.ints(21), dBias: try $0.floats(3))
    },
    BadCall(op: "denseBackwardInput", argument: "reluOutput") {
        try $0.backend.denseBackwardInput(dOutput: try $0.floats(15), weight: try $0.floats(21), batch: 5, inputs: 7,
                                          units: 3, reluOutput: try $0.floats(34), dInput: try $0.floats(35))
    },
    BadCall(op: "denseBackwardInput", argument: "dInput") {
        try $0.backend.denseBackwardInput(dOutput: try $0.floats(15), weight: try $0.floats(21), batch: 5, inputs: 7,
                                          units: 3, reluOutput: nil, dInput: try $0.floats(34))
    },
    BadCall(op: "gemm", argument: "k") {
        try $0.backend.gemm(transposeA: true, transposeB: false, m: 5, n: 3, k: -7, alpha: 1,
                            a: try $0.floats(35), b: try $0.floats(21), beta: 0, c: try $0.floats(15))
    },
    BadCall(op: "gemm", argument: "overflows") {
        try $0.backend.gemm(transposeA: false, transposeB: false, m: Int.max / 2, n: 3, k: 7, alpha: 1,
                            a: try $0.floats(35), b: try $0.floats(21), beta: 0, c: try $0.floats(15))
    },
    BadCall(op: "conv2dForward", argument: "weight") {
        try $0.backend.conv2dForward(conv, input: try $0.floats(conv.inputCount), weight: try $0.floats(conv.weightCount - 1),
                                     bias: try $0.floats(4), relu: true, output: try $0.floats(conv.outputCount))
    },
    BadCall(op: "conv2dForward", argument: "kernelSize") {
        let shape = ConvShape(batch: 1, inChannels: 2, height: 4, width: 4, outChannels: 3, kernelSize: 0, padding: 0)
        try $0.backend.conv2dForward(shape, input: try $0.floats(32), weight: try $0.floats(0),
                                     bias: try $0.floats(3), relu: false, output: try $0.floats(100))
    },
    BadCall(op: "conv2dForward", argument: "empty output") {
        let shape = ConvShape(batch: 1, inChannels: 2, height: 2, width: 5, outChannels: 3, kernelSize: 3, padding: 0)
        try $0.backend.conv2dForward(shape, input: try $0.floats(20), weight: try $0.floats(54),
                                     bias: try $0.floats(3), relu: false, output: try $0.floats(100))
    },
    BadCall(op: "conv2dBackwardInput", argument: "dInput") {
        try $0.backend.conv2dBackwardInput(conv, dOutput: try $0.floats(conv.outputCount), weight: try $0.floats(conv.weightCount),
                                           dInput: try $0.floats(conv.inputCount - 1))
    },
    BadCall(op: "conv2dBackwardInput", argument: "reluOutput") {
        try $0.backend.conv2dBackwardInput(conv, dOutput: try $0.floats(conv.outputCount), weight: try $0.floats(conv.weightCount),
                                           reluOutput: try $0.floats(conv.inputCount - 1), dInput: try $0.floats(conv.inputCount))
    },
    BadCall(op: "conv2dBackwardWeight", argument: "dBias") {
        try $0.backend.conv2dBackwardWeight(conv, input: try $0.floats(conv.inputCount), dOutput: try $0.floats(conv.outputCount),
                                            dWeight: try $0.floats(conv.weightCount), dBias: try $0.floats(3))
    },
    BadCall(op: "conv2dBackwardWeight", argument: "padding") {
        let shape = ConvShape(batch: 1, inChannels: 2, height: 6, width: 6, outChannels: 3, kernelSize: 3, padding: -1)
        try $0.backend.conv2dBackwardWeight(shape, input: try $0.floats(72), dOutput: try $0.floats(100),
                                            dWeight: try $0.floats(54), dBias: try $0.floats(3))
    },
    BadCall(op: "addBias", argument: "outer") {
        try $0.backend.addBias(try $0.floats(6), bias: try $0.floats(2), outer: -1, channels: 2, inner: 1, relu: false)
    },
    BadCall(op: "addBias", argument: "bias") {
        try $0.backend.addBias(try $0.floats(30), bias: try $0.floats(2), outer: 2, channels: 3, inner: 5, relu: true)
    },
    BadCall(op: "biasBackward", argument: "dOutput") {
        try $0.backend.biasBackward(try $0.floats(29), outer: 2, channels: 3, inner: 5, dBias: try $0.floats(3))
    },
    BadCall(op: "reluBackward", argument: "dInput") {
        try $0.backend.reluBackward(output: try $0.floats(11), dOutput: try $0.floats(11), count: 11, dInput: try $0.floats(10))
    },
    BadCall(op: "maxPool2x2Forward", argument: "output") {
        try $0.backend.maxPool2x2Forward(input: try $0.floats(3 * 7 * 5), planes: 3, height: 7, width: 5, output: try $0.floats(17))
    },
    BadCall(op: "maxPool2x2Backward", argument: "dInput") {
        try $0.backend.maxPool2x2Backward(input: try $0.floats(105), dOutput: try $0.floats(18), planes: 3, height: 7, width: 5,
                                          dInput: try $0.floats(104))
    },
    BadCall(op: "maxPool2x2ReLUBackward", argument: "dOutput") {
        try $0.backend.maxPool2x2ReLUBackward(input: try $0.floats(105), dOutput: try $0.floats(17), planes: 3, height: 7,
                                              width: 5, dInput: try $0.floats(105))
    },
    BadCall(op: "dropoutForward", argument: "keepProbability") {
        try $0.backend.dropoutForward(input: try $0.floats(13), count: 13, keepProbability: 0, seed: 1, stream: 0, step: 0,
                                      output: try $0.floats(13))
    },
    BadCall(op: "dropoutForward", argument: "keepProbability") {
        try $0.backend.dropoutForward(input: try $0.floats(13), count: 13, keepProbability: 1.5, seed: 1, stream: 0, step: 0,
                                      output: try $0.floats(13))
    },
    BadCall(op: "dropoutBackward", argument: "keepProbability") {
        try $0.backend.dropoutBackward(dOutput: try $0.floats(13), count: 13, keepProbability: .nan, seed: 1, stream: 0, step: 0,
                                       dInput: try $0.floats(13))
    },
    BadCall(op: "dropoutBackward", argument: "dInput") {
        try $0.backend.dropoutBackward(dOutput: try $0.floats(13), count: 13, keepProbability: 0.5, seed: 1, stream: 0, step: 0,
                                       dInput: try $0.floats(12))
    },
    BadCall(op: "dropoutForward", argument: "firstIndex") {
        try $0.backend.dropoutForward(input: try $0.floats(13), count: 13, keepProbability: 0.5, seed: 1, stream: 0, step: 0,
                                      firstIndex: 6, output: try $0.floats(13))
    },
    BadCall(op: "dropoutBackward", argument: "firstIndex") {
        try $0.backend.dropoutBackward(dOutput: try $0.floats(13), count: 13, keepProbability: 0.5, seed: 1, stream: 0, step: 0,
                                       firstIndex: -4, dInput: try $0.floats(13))
    },
    BadCall(op: "softmaxCrossEntropy", argument: "live units") {
        try $0.backend.softmaxCrossEntropy(logits: try $0.floats(30), labels: try $0.ints(3), batch: 3, units: 10,
                                           unitStart: 8, unitCount: 3, losses: try $0.floats(3), dLogits: try $0.floats(30))
    },
    BadCall(op: "softmaxCrossEntropy", argument: "labels") {
        try $0.backend.softmaxCrossEntropy(logits: try $0.floats(30), labels: try $0.floats(3), batch: 3, units: 10,
                                           unitStart: 2, unitCount: 2, losses: try $0.floats(3), dLogits: try $0.floats(30))
    },
    BadCall(op: "softmaxCrossEntropy", argument: "dLogits") {
        try $0.backend.softmaxCrossEntropy(logits: try $0.floats(30), labels: try $0.ints(3), batch: 3, units: 10,
                                           unitStart: 2, unitCount: 2, losses: try $0.floats(3), dLogits: try $0.floats(29))
    },
    BadCall(op: "distillation", argument: "live units") {
        try $0.backend.distillation(logits: try $0.floats(30), targets: try $0.floats(50), indices: try $0.ints(3), batch: 3,
                                    units: 10, targetRows: 5, unitStart: 9, unitCount: 2, temperature: 2, weight: 1,
                                    losses: try $0.floats(3), dLogits: try $0.floats(30))
    },
    BadCall(op: "distillation", argument: "temperature") {
        try $0.backend.distillation(logits: try $0.floats(30), targets: try $0.floats(50), indices: try $0.ints(3), batch: 3,
                                    units: 10, targetRows: 5, unitStart: 2, unitCount: 2, temperature: 0, weight: 1,
                                    losses: try $0.floats(3), dLogits: try $0.floats(30))
    },
    BadCall(op: "distillation", argument: "weight") {
        try $0.backend.distillation(logits: try $0.floats(30), targets: try $0.floats(50), indices: try $0.ints(3), batch: 3,
                                    units: 10, targetRows: 5, unitStart: 2, unitCount: 2, temperature: 2, weight: -1,
                                    losses: try $0.floats(3), dLogits: try $0.floats(30))
    },
    BadCall(op: "distillation", argument: "targets") {
        try $0.backend.distillation(logits: try $0.floats(30), targets: try $0.floats(49), indices: try $0.ints(3), batch: 3,
                                    units: 10, targetRows: 5, unitStart: 2, unitCount: 2, temperature: 2, weight: 1,
                                    losses: try $0.floats(3), dLogits: try $0.floats(30))
    },
    BadCall(op: "distillation", argument: "indices") {
        try $0.backend.distillation(logits: try $0.floats(30), targets: try $0.floats(50), indices: try $0.floats(3), batch: 3,
                                    units: 10, targetRows: 5, unitStart: 2, unitCount: 2, temperature: 2, weight: 1,
                                    losses: try $0.floats(3), dLogits: try $0.floats(30))
    },
    BadCall(op: "countCorrect", argument: "live units") {
        try $0.backend.countCorrect(logits: try $0.floats(30), labels: try $0.ints(3), batch: 3, units: 10,
                                    unitStart: 4, unitCount: 0, counter: try $0.floats(1))
    },
    BadCall(op: "countCorrect", argument: "counter") {
        try $0.backend.countCorrect(logits: try $0.floats(30), labels: try $0.ints(3), batch: 3, units: 10,
                                    unitStart: 4, unitCount: 2, counter: try $0.floats(0))
    },
    BadCall(op: "fusedSIUpdate", argument: "step") {
        try $0.backend.fusedSIUpdate(try $0.state(17), taskGradient: try $0.floats(17), strength: 0.1, hyper: adam, step: 0)
    },
    BadCall(op: "fusedSIUpdate", argument: "taskGradient") {
        try $0.backend.fusedSIUpdate(try $0.state(17), taskGradient: try $0.floats(16), strength: 0.1, hyper: adam, step: 3)
    },
    BadCall(op: "fusedSIUpdate", argument: "m") {
        try $0.backend.fusedSIUpdate(try $0.state(17, short: "m"), taskGradient: try $0.floats(17), strength: 0.1, hyper: adam, step: 3)
    },
    BadCall(op: "fusedSISGDUpdate", argument: "learningRate") {
        try $0.backend.fusedSISGDUpdate(try $0.state(17), taskGradient: try $0.floats(17), strength: 0.1, learningRate: 0)
    },
    BadCall(op: "fusedSISGDUpdate", argument: "learningRate") {
        try $0.backend.fusedSISGDUpdate(try $0.state(17), taskGradient: try $0.floats(17), strength: 0.1, learningRate: .nan)
    },
    BadCall(op: "fusedSISGDUpdate", argument: "taskGradient") {
        try $0.backend.fusedSISGDUpdate(try $0.state(17), taskGradient: try $0.floats(16), strength: 0.1, learningRate: 0.1)
    },
    BadCall(op: "fusedSISGDUpdate", argument: "importance") {
        try $0.backend.fusedSISGDUpdate(try $0.state(17, short: "importance"), taskGradient: try $0.floats(17), strength: 0.1, learningRate: 0.1)
    },
    BadCall(op: "siConsolidate", argument: "xi") { try $0.backend.siConsolidate(try $0.state(17), xi: 0) },
    BadCall(op: "siConsolidate", argument: "xi") { try $0.backend.siConsolidate(try $0.state(17), xi: -1e-3) },
    BadCall(op: "siConsolidate", argument: "xi") { try $0.backend.siConsolidate(try $0.state(17), xi: .infinity) },
    BadCall(op: "siConsolidate", argument: "omega") { try $0.backend.siConsolidate(try $0.state(17, short: "omega"), xi: 0.1) },
]

/// The message of the `BackendError` the call throws on `backend`, or a description of what
/// happened instead.
private func rejection(of bad: BadCall, on backend: any Backend) -> String {
    do {
        try bad.call(Views(backend: backend))
        return "no error"
    } catch let error as BackendError {
        return error.message
    } catch {
        return "not a BackendError: \(error)"
    }
}

@Suite(.enabled(if: Fixture.runDeviceTests, "needs an OpenCL CPU device (PoCL)"))
struct OpContractTests {
    @Test(arguments: badCalls)
    fileprivate func bothBackendsRejectABadCallWithTheSameMessage(_ bad: BadCall) throws {
        let reference = rejection(of: bad, on: ReferenceBackend())
        let openCL = rejection(of: bad, on: try Fixture.backend())
        #expect(reference.hasPrefix("\(bad.op): ") && reference.contains(bad.argument), "reference: \(reference)")
        #expect(openCL == reference, "OpenCL: \(openCL)\nreference: \(reference)")
        #expect(!reference.contains("\n"), "the message is one line")
    }
}
