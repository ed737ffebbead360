// The three tools' command-line interfaces (swift-argument-parser). They only parse: the run
// itself is `Experiment.run`, so that errors map to the tools' exit codes (2 for a bad option).

import ArgumentParser
import SynapseContinual

/// Help text shared by the tools: protocol defaults and exit codes.
func discussion(_ protocols: [ExperimentProtocol]) -> String {
    var text = "Defaults (docs/protocols.md):\n"
    for proto in protocols {
        let d = proto.defaults()
        text += "  \(proto.title): \(proto.taskCount) tasks, Adam lr \(format(decimal(d.learningRate))), batch \(d.batchSize), "
            + "\(d.epochsPerTask) epochs/task, Adam reset per task: \(d.resetOptimizerAtTaskBoundary ? "yes" : "no"), "
            + MethodRegistry.hyperParameters.filter { $0.methods.contains(d.method) && $0.info.kind == .real }
                .map { "\($0.info.symbol) \(format(d.hyperParameter($0.info.flag) ?? 0))" }.joined(separator: ", ") + "\n"
    }
    let d = ExperimentProtocol.splitMNIST.defaults()
    text += "  Every protocol: Adam β1 \(format(decimal(d.beta1))), β2 \(format(decimal(d.beta2))), "
        + "ε \(format(decimal(d.epsilon))) (--adam-epsilon), --adam-variant \(d.adamVariant.rawValue).\n"
    text += methodHelp(protocols.first!)
        + "\nThe published numbers are shown beside ours only when a run follows the authors' protocol exactly: the defaults "
        + "above (Adam, --adam-variant keras, ε 1e-7 or 1e-8), one value per hyper-parameter, and all the data, counted after loading; "
        + "otherwise the summary lists what differs.\n"
        + "\n--seeds 0,1,2 (or 0-4) runs every method with every seed and reports mean ± SEM. A comma list for a hyper-parameter "
        + "(--c 0.01,0.1,1) runs every value; with --select-on validation each value is trained on the training split minus a held-out "
        + "part (--validation-fraction) and the best is retrained on the full split and tested; without it, every value is reported "
        + "on the test split (a test-set sweep).\n"
    text += "\nWrites DIR/<run>.json (<run> = the method, or with several seeds or values e.g. si_c0.1_seed2), DIR/summary.csv, "
        + "DIR/accuracy.svg, DIR/average-accuracy.svg, DIR/config.json and, after every task, a safetensors checkpoint per run "
        + "(DIR/<run>.checkpoint.safetensors) that --resume DIR continues from (finished runs are not retrained).\n"
        + "\nExit status: 0 done, 1 failure (data, device, files), 2 bad option value, 3 training diverged.\n"
    return text
}

/// The methods (--method) and their hyper-parameter flags, from the registry and each method's
/// declaration: a flag sets that hyper-parameter of every listed method that has it.
func methodHelp(_ proto: ExperimentProtocol) -> String {
    var text = "\nMethods (--method, a comma list):\n"
    for type in MethodRegistry.all {
        text += "  \(type.method.rawValue): \(type.summary)\n"
    }
    text += "\nMethod hyper-parameters (each sets every listed method that has it; defaults for \(proto.title)):\n"
    for (info, methods) in MethodRegistry.hyperParameters {
        let defaults = methods.map { m in
            "\(m.rawValue) \(proto.defaults(method: m).hyperParameter(info.flag).map(format) ?? "?")"
        }
        text += "  --\(info.flag) <\(info.symbol)>  \(info.help), \(info.accepted) (default: \(defaults.joined(separator: ", ")))\n"
    }
    text += "\nMethod recordings (a switch each, for the method that declares it):\n"
    for (recording, method) in MethodRegistry.recordings {
        text += "  --\(recording.flag)  (\(method.rawValue)) \(recording.help)\n"
    }
    return text
}

struct CifarSplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cifar-split",
        abstract: "Split CIFAR-10/100 (the paper's 6 tasks) or split CIFAR-10 (5 tasks of 2 classes) with SI and baselines.",
        discussion: discussion([.splitCIFAR10_100, .splitCIFAR10])
            + "\n--data-dir holds cifar-10-batches-bin/ and cifar-100-binary/ as the official binary archives extract.")

    @Option(help: ArgumentHelp("cifar10-100: CIFAR-10 then 5 blocks of 10 CIFAR-100 classes; cifar10: 5 tasks of 2 CIFAR-10 classes (default: cifar10-100).",
                               valueName: "split"))
    var split: CIFARSplit?

    @OptionGroup var options: ExperimentOptions
}

/// What split-mnist's and permuted-mnist's --data-dir must hold (end of their help text).
private let mnistDataDirHelp = "\n--data-dir holds the four MNIST-format IDX files (MNIST or Fashion-MNIST, plain or .gz)."

struct SplitMNISTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split-mnist",
        abstract: "Split MNIST (5 tasks of two classes, multi-head MLP) with SI and baselines.",
        discussion: discussion([.splitMNIST])
            + mnistDataDirHelp)

    @OptionGroup var options: ExperimentOptions
}

struct PermutedMNISTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "permuted-mnist",
        abstract: "Permuted MNIST (10 tasks, task 1 unpermuted, single-head MLP 784-2000-2000-10) with SI and baselines.",
        discussion: discussion([.permutedMNIST])
            + mnistDataDirHelp)

    @OptionGroup var options: ExperimentOptions
}
