// cifar-split: the paper's split CIFAR-10/100 experiment (SI.md), or split CIFAR-10 with
// --split cifar10, for SI and the baselines. `cifar-split --help` lists the options.
//
// This is the whole experiment, top to bottom. Follow any step down to the kernels:
//   Experiment.run               Sources/SynapseCLI/Experiment.swift   (options, device, results folder)
//   run.loadTasks                Sources/SynapseData/CIFAR.swift, TaskBuilder.swift
//   run.train                    Sources/SynapseContinual/Trainer.swift: per task, per epoch, per minibatch
//                                gather → Network.forward → softmaxCrossEntropy → Network.backward → fusedSIUpdate
//   Backend ops                  Sources/SynapseEngine/Backend.swift (the contract), Kernels/*.cl (OpenCL),
//                                Sources/SynapseReference (the definition of every op)

import Foundation
import SynapseCLI

let status = Experiment.run(.cifarSplit, arguments: Array(CommandLine.arguments.dropFirst()),
                            devices: .system) { run in
    // 1. Load: read CIFAR-10 (and CIFAR-100) and cut them into the protocol's tasks.
    let tasks = try run.loadTasks()

    // 2. For each method (--method si,finetune,...), with the same seed and data:
    for method in run.methods {
        //    build the network, then task after task: train its epochs, consolidate (SI: Ω += ω/(Δ²+ξ)),
        //    evaluate every task, checkpoint, write <method>.json
        let report = try run.train(method, on: tasks)
        //    keep the result for the summary
        try run.write(report)
    }

    // 3. Summarise: summary.csv, accuracy.svg, the table on stdout (the paper's numbers beside ours).
    try run.finish()
}
exit(status)
