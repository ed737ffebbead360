// Every check a run description must pass, in one place. The flags (`RunConfig.resolve`), a
// config.json read by --resume and the config inside a checkpoint all go through `validate()`, so a
// value the command line refuses is refused in a file too, and every value that could only fail
// later (a learning rate float32 cannot hold, a ξ whose reciprocal overflows, a batch larger than
// any protocol) fails here, before the results folder gets a single file.

import SynapseContinual
import SynapseData

extension RunConfig {
    /// The most epochs per task a run may ask for (far above any protocol; keeps a typo from
    /// running for weeks).
    static let epochRange = 1...100_000
    /// Minibatch sizes: far above any protocol; the trainer's buffers scale with it.
    static let batchRange = 1...65_536
    /// `--train-limit`, `--test-limit`: images per task.
    static let limitRange = 1...Int(Int32.max)

    /// The tasks `--tasks` may ask for under `proto`.
    static func taskRange(_ proto: ExperimentProtocol) -> ClosedRange<Int> {
        1...(proto.allowsMoreTasks ? 1_000 : proto.taskCount)
    }

    /// Checks every value; the error names the flag (the config.json key where there is no flag),
    /// the value found and what is accepted.
    /// - Throws: `UsageError`.
    public func validate() throws {
        func count(_ flag: String, _ value: Int, _ range: ClosedRange<Int>) throws {
            guard range.contains(value) else {
                throw UsageError("--\(flag) \(value): expected an integer in \(range.lowerBound)...\(range.upperBound)")
            }
        }
        func real(_ flag: String, _ value: Double, _ accepted: String, _ ok: (Double) -> Bool) throws {
            guard value.isFinite, ok(value) else { throw UsageError("--\(flag) \(format(value)): expected \(accepted)") }
            // The trainer computes in float32: a value it cannot hold is another value, or none.
            guard Float32Range.holds(value) else {
                throw UsageError("--\(flag) \(format(value)): expected \(accepted) that float32 holds (\(Float32Range.text))")
            }
        }
        guard !methods.isEmpty else { throw UsageError("--method: expected at least one method") }
        for (k, method) in methods.enumerated() where methods[..<k].contains(method) {
            throw UsageError("--method: '\(method.rawValue)' is listed twice")
        }
        try count("epochs", epochs, Self.epochRange)
        try count("batch-size", batchSize, Self.batchRange)
        try count("evaluation_batch_size", evaluationBatchSize, Self.batchRange)
        try count("tasks", tasks, Self.taskRange(experimentProtocol))
        if let trainLimit { try count("train-limit", trainLimit, Self.limitRange) }
        if let testLimit { try count("test-limit", testLimit, Self.limitRange) }
        try real("lr", learningRate, "a number > 0", { $0 > 0 })
        try real("adam-epsilon", epsilon, "a number > 0 (the protocols: 1e-7 or 1e-8)", { $0 > 0 })
        try real("adam_beta1", beta1, "a number in [0, 1)", { $0 >= 0 && $0 < 1 })
        try real("adam_beta2", beta2, "a number in [0, 1)", { $0 >= 0 && $0 < 1 })
        guard validationFraction.isFinite, validationFraction > 0, validationFraction < 1 else {
            throw UsageError("--validation-fraction \(format(validationFraction)): expected a fraction in (0, 1), e.g. 0.1")
        }
        guard !dataDir.isEmpty else { throw UsageError("--data-dir '': expected a folder") }
        guard !out.isEmpty else { throw UsageError("--out '': expected a folder") }
        guard !seeds.isEmpty, seeds.count <= SweepParsing.maximumSeeds, Set(seeds).count == seeds.count, seeds.contains(seed) else {
            throw UsageError("--seeds: expected 1...\(SweepParsing.maximumSeeds) distinct seeds including --seed \(seed)")
        }
        for (k, name) in recordings.enumerated() {
            guard let (recording, method) = MethodRegistry.recordings.first(where: { $0.recording.name == name }) else {
                throw UsageError("recordings: '\(name)' is no method's recording")
            }
            guard !recordings[..<k].contains(name) else { throw UsageError("--\(recording.flag) is given twice") }
            guard methods.contains(method) else {
                throw UsageError("--\(recording.flag) records what \(method.rawValue) computes: --method must include \(method.rawValue)")
            }
        }
        if selectOn == .validation, sweeps.isEmpty {
            throw UsageError("--select-on validation: no hyper-parameter has a list of values to choose from (e.g. --c 0.01,0.1,1)")
        }
        for (flag, value) in hyperParameters.sorted(by: { $0.key < $1.key }) {
            try Self.checkHyperParameter(flag, [value])
        }
        for (flag, values) in sweeps.sorted(by: { $0.key < $1.key }) {
            guard (2...ExperimentOptions.maximumValues).contains(values.count), Set(values).count == values.count else {
                throw UsageError("--\(flag): a list to sweep holds 2...\(ExperimentOptions.maximumValues) distinct values; found \(values.count)")
            }
            guard hyperParameters[flag] == nil else { throw UsageError("--\(flag) has both one value and a list") }
            try Self.checkHyperParameter(flag, values)
        }
        // One swept hyper-parameter per method (a grid over two would need a selection rule for pairs).
        for method in methods {
            let swept = sweeps.keys.sorted().filter { flag in
                MethodRegistry.hyperParameters.first { $0.info.flag == flag }?.methods.contains(method) == true
            }
            if swept.count > 1 {
                throw UsageError("--\(swept[0]) and --\(swept[1]) are both lists for method \(method.rawValue): sweep one hyper-parameter at a time")
            }
        }
        // Every run's trainer options, as the trainer will check them: nothing can fail there later.
        for method in methods {
            let swept = sweeps.keys.sorted().first { hyperParameter($0, of: method) != nil }
            for value in swept.map({ sweeps[$0]! }) ?? [0] {
                var own = self
                if let swept { own.hyperParameters[swept] = value }
                do { try own.continualOptions(for: method).validate() } catch let ContinualError.invalidOption(message) {
                    throw UsageError("\(method.rawValue): \(message)")
                }
            }
        }
    }

    /// `flag` must be a declared hyper-parameter and every value acceptable to each method that
    /// declares it (the flags' parser and `validate` both ask here).
    static func checkHyperParameter(_ flag: String, _ values: [Double]) throws {
        guard let entry = MethodRegistry.hyperParameters.first(where: { $0.info.flag == flag }) else {
            throw UsageError("--\(flag): no method has this hyper-parameter")
        }
        for method in entry.methods {
            var options = ContinualOptions(method: method)
            for value in values {
                do { try options.setIfDeclared(flag, value) } catch let ContinualError.invalidOption(message) {
                    throw UsageError(message)
                }
            }
        }
    }
}
