// permuted-mnist: the paper's permuted MNIST experiment (10 tasks, single-head MLP) (docs/protocols.md) for SI and the baselines.
// `permuted-mnist --help` lists the options. The flow (load → for each method: train the tasks → write
// results → summary) is Experiment.standardFlow in Sources/SynapseCLI/Experiment.swift.

import Foundation
import SynapseCLI

Interrupts.install()   // SIGINT/SIGTERM: name the last checkpoint and the --resume command
exit(Experiment.run(.permutedMNIST, arguments: Array(CommandLine.arguments.dropFirst()), devices: .system))
