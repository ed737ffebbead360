// cifar-split: the paper's split CIFAR-10/100 experiment (docs/protocols.md), or split CIFAR-10 with
// --split cifar10, for SI and the baselines. `cifar-split --help` lists the options. The flow
// (load → for each method: train the tasks → write results → summary) is Experiment.standardFlow
// in Sources/SynapseCLI/Experiment.swift, which follows each step down to the kernels.

import Foundation
import SynapseCLI

Interrupts.install()   // SIGINT/SIGTERM: name the last checkpoint and the --resume command
exit(Experiment.run(.cifarSplit, arguments: Array(CommandLine.arguments.dropFirst()), devices: .system))
