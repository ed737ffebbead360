// split-mnist: the paper's split MNIST experiment (5 tasks of two classes, multi-head MLP) (docs/protocols.md) for SI and the baselines.
// `split-mnist --help` lists the options. The flow (load → for each method: train the tasks → write
// results → summary) is Experiment.standardFlow in Sources/SynapseCLI/Experiment.swift.

import Foundation
import SynapseCLI

Interrupts.install()   // SIGINT/SIGTERM: name the last checkpoint and the --resume command
exit(Experiment.run(.splitMNIST, arguments: Array(CommandLine.arguments.dropFirst()), devices: .system))
