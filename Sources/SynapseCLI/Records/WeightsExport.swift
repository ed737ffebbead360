// The trained network in a form any framework loads: `<method>.weights.safetensors`, written next to
// `<method>.json` after every task. One tensor per layer, named and laid out as the state_dict of
// the equivalent PyTorch `nn.Sequential` (module index as the name prefix, ReLU/pool/dropout/
// flatten modules counted too): conv weights [K, C, 3, 3] and linear weights [out, in] (our dense
// layers store [in, out], so they are transposed here), biases [units]. The metadata says how to
// rebuild and use it without this tool:
//   "architecture"  JSON: input shape and scale, the module list, and the nn.Sequential as text
//   "heads"         JSON: head mode and, per task, its output units [start, end) and the data
//                   set's labels of its classes (local label i = units start + i)
//   "method", "completed_tasks", "tool", "test_limit"
// Flatten is C, H, W order (nn.Flatten on NCHW). Multi-head: a task's prediction is the argmax
// over its own units only (task-incremental); class-incremental takes all units seen so far.

import Foundation
import SynapseContinual
import SynapseEngine

enum WeightsExport {
    static let format = "synapse-weights-1"

    /// `<dir>/<run>.weights.safetensors`, `run` as the checkpoint and result files name it
    /// (the method, or method-seed in a sweep).
    static func path(in folder: String, stem: String) -> String {
        folder + "/" + stem + ".weights.safetensors"
    }

    /// The module list of `network` as PyTorch would build it, with the θ region of each
    /// parameterised module.
    static func modules(of network: Network) -> [(text: String, json: [String: Any], weight: String?, bias: String?)] {
        var result: [(String, [String: Any], String?, String?)] = []
        var shape = network.inputShape
        var conv = 0, dense = 0
        for (index, spec) in network.layerSpecs.enumerated() {
            let out = network.layerOutputShapes[index]
            switch spec {
            case .conv3x3(let filters, let padding, let relu):
                conv += 1
                let pad = padding == .same ? 1 : 0
                result.append(("nn.Conv2d(\(shape[0]), \(filters), 3, padding=\(pad))",
                               ["type": "Conv2d", "in_channels": shape[0], "out_channels": filters, "kernel_size": 3, "padding": pad],
                               "conv\(conv).weight", "conv\(conv).bias"))
                if relu { result.append(("nn.ReLU()", ["type": "ReLU"], nil, nil)) }
            case .maxPool2x2:
                result.append(("nn.MaxPool2d(2)", ["type": "MaxPool2d", "kernel_size": 2], nil, nil))
            case .dropout(let rate):
                result.append(("nn.Dropout(\(rate))", ["type": "Dropout", "p": Double(rate)], nil, nil))
            case .flatten:
                result.append(("nn.Flatten()", ["type": "Flatten"], nil, nil))
            case .dense(let units, let relu):
                dense += 1
                result.append(("nn.Linear(\(shape[0]), \(units))", ["type": "Linear", "in_features": shape[0], "out_features": units],
                               "dense\(dense).weight", "dense\(dense).bias"))
                if relu { result.append(("nn.ReLU()", ["type": "ReLU"], nil, nil)) }
            case .output(let units):
                result.append(("nn.Linear(\(shape[0]), \(units))", ["type": "Linear", "in_features": shape[0], "out_features": units],
                               "output.weight", "output.bias"))
            }
            shape = out
        }
        return result
    }

    /// The weights file of `theta` (the network's parameter buffer, downloaded).
    static func file(theta: [Float], network: Network, sequence: TaskSequence, config: RunConfig,
                     method: Method, completedTasks: Int) throws -> SafeTensors {
        guard theta.count == network.parameterCount else {
            throw FileWriteError(path: method.rawValue, "θ has \(theta.count) values; the network has \(network.parameterCount)")
        }
        var regions: [String: (offset: Int, count: Int)] = [:]
        for region in network.parameterRegions { regions[region.name] = (region.offset, region.count) }
        var file = SafeTensors()
        var texts: [String] = []
        var list: [[String: Any]] = []
        for (index, module) in modules(of: network).enumerated() {
            texts.append(module.text)
            list.append(module.json)
            guard let weightName = module.weight, let biasName = module.bias,
                  let weight = regions[weightName], let bias = regions[biasName] else { continue }
            let values = Array(theta[weight.offset..<(weight.offset + weight.count)])
            if module.json["type"] as? String == "Linear" {
                // Ours [in, out] → PyTorch's [out, in].
                let inputs = module.json["in_features"] as! Int, outputs = module.json["out_features"] as! Int
                var transposed = [Float](repeating: 0, count: values.count)
                for i in 0..<inputs { for o in 0..<outputs { transposed[o * inputs + i] = values[i * outputs + o] } }
                try file.add("\(index).weight", shape: [outputs, inputs], values: transposed)
            } else {
                let k = module.json["out_channels"] as! Int, c = module.json["in_channels"] as! Int
                try file.add("\(index).weight", shape: [k, c, 3, 3], values: values)
            }
            try file.add("\(index).bias", shape: [bias.count], values: Array(theta[bias.offset..<(bias.offset + bias.count)]))
        }
        func json(_ object: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        }
        file.metadata["format"] = format
        file.metadata["architecture"] = try json([
            "input_shape": network.inputShape,
            "input": "uint8 pixels divided by 255, one image per row, C·H·W order (reshape to input_shape)",
            "modules": list,
            "pytorch": "nn.Sequential(" + texts.joined(separator: ", ") + ")",
        ] as [String: Any])
        file.metadata["heads"] = try json([
            "mode": sequence.headMode.rawValue,
            "output_units": sequence.outputUnits,
            "tasks": sequence.tasks.indices.map { t -> [String: Any] in
                let units = sequence.units(ofTask: t)
                var entry: [String: Any] = ["name": sequence.tasks[t].name, "units": [units.lowerBound, units.upperBound],
                                            "class_names": sequence.tasks[t].classNames]
                if let classes = sequence.tasks[t].sourceClasses { entry["source_classes"] = classes }
                return entry
            },
        ] as [String: Any])
        file.metadata["method"] = method.rawValue
        file.metadata["completed_tasks"] = String(completedTasks)
        file.metadata["tool"] = config.tool.rawValue
        file.metadata["test_limit"] = config.testLimit.map(String.init) ?? "none"
        return file
    }
}
