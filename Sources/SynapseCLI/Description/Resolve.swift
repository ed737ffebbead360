// The flags → the run description (defaults from the protocol, every value checked), and the
// flags typed beside --resume checked against the saved description.

import Foundation
import SynapseContinual
import SynapseData

extension RunConfig {
    /// Resolves parsed options into a config: fills defaults, checks every value.
    /// - Parameters:
    ///   - environment: the process environment (`SYNAPSE_DATA`).
    ///   - now: names the default results folder.
    /// - Throws: `UsageError` naming the flag, the value found and what is accepted.
    public static func resolve(tool: Tool, experimentProtocol: ExperimentProtocol, options: ExperimentOptions,
                               environment: [String: String], now: Date = Date()) throws -> RunConfig {
        let defaults = experimentProtocol.defaults()
        let methods = try options.method.map(parseMethods) ?? MethodRegistry.toolDefaults

        func finite(_ flag: String, _ value: Double?, _ accepted: String, _ ok: (Double) -> Bool) throws -> Double? {
            guard let value else { return nil }
            guard value.isFinite, ok(value) else {
                throw UsageError("--\(flag) \(format(value)): expected \(accepted)")
            }
            return value
        }
        func count(_ flag: String, _ value: Int?, _ range: ClosedRange<Int>) throws -> Int? {
            guard let value else { return nil }
            guard range.contains(value) else {
                throw UsageError("--\(flag) \(value): expected an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }

        let lr = try finite("lr", options.lr, "a number > 0", { $0 > 0 }) ?? decimal(defaults.learningRate)
        // Upper bounds keep a typo from allocating the machine away; they are far above any protocol.
        let epochs = try count("epochs", options.epochs, epochRange) ?? defaults.epochsPerTask
        let batchSize = try count("batch-size", options.batchSize, batchRange) ?? defaults.batchSize
        let tasks = try count("tasks", options.tasks, taskRange(experimentProtocol)) ?? experimentProtocol.taskCount
        let epsilon = try finite("adam-epsilon", options.adamEpsilon, "a number > 0 (the protocols: 1e-7 or 1e-8)", { $0 > 0 })
            ?? decimal(defaults.epsilon)
        let typed = try options.methodSettings()
        let settings = typed.compactMapValues { $0.count == 1 ? $0[0] : nil }
        let sweeps = typed.filter { $0.value.count > 1 }
        let seed = options.seed ?? 0
        var seeds = [seed]
        if let list = options.seeds {
            if let seed = options.seed { throw UsageError("--seed \(seed) and --seeds \(list): give one of them") }
            seeds = try parseSeeds(list)
        }
        let validationFraction = try finite("validation-fraction", options.validationFraction, "a fraction in (0, 1), e.g. 0.1",
                                            { $0 > 0 && $0 < 1 }) ?? ValidationSplit.defaultFraction
        if options.validationFraction != nil, options.selectOn == nil {
            throw UsageError("--validation-fraction is used only with --select-on validation")
        }
        let recordings = try options.recordings()
        let trainLimit = try count("train-limit", options.trainLimit, limitRange)
        let testLimit = try count("test-limit", options.testLimit, limitRange)

        let device = options.device ?? ""  // "" = the default device, resolved by the caller
        if let spec = options.device, spec.trimmingCharacters(in: .whitespaces).isEmpty {
            throw UsageError("--device '\(spec)': expected gpu, cpu, reference, a device index or a name substring")
        }
        let dataDir = options.dataDir ?? environment["SYNAPSE_DATA"].flatMap { $0.isEmpty ? nil : $0 } ?? "./data"
        if options.dataDir?.isEmpty == true { throw UsageError("--data-dir '': expected a folder") }
        if options.out?.isEmpty == true { throw UsageError("--out '': expected a folder") }
        let out = options.out ?? "runs/\(tool.rawValue)-\(timestamp(now))"

        let config = RunConfig(
            tool: tool, experimentProtocol: experimentProtocol, methods: methods, device: device,
            dataDir: dataDir, epochs: epochs, batchSize: batchSize, learningRate: lr,
            beta1: decimal(defaults.beta1), beta2: decimal(defaults.beta2), epsilon: epsilon,
            adamVariant: options.adamVariant ?? defaults.adamVariant, optimizer: options.optimizer ?? defaults.optimizer,
            resetOptimizerPerTask: options.resetOptimizer?.bool ?? defaults.resetOptimizerAtTaskBoundary,
            hyperParameters: settings, evaluationBatchSize: defaults.evaluationBatchSize,
            evaluatedTasks: options.evaluate ?? defaults.evaluatedTasks, seed: seeds[0], seeds: seeds,
            sweeps: sweeps, selectOn: options.selectOn, validationFraction: validationFraction,
            recordings: recordings, tasks: tasks,
            trainLimit: trainLimit, testLimit: testLimit, out: out)
        try config.validate()
        return config
    }

    /// `--seeds` as `SweepParsing.seeds` reads it (lists and ranges, no repeats, a bounded count);
    /// a malformed list is a usage error.
    static func parseSeeds(_ list: String) throws -> [UInt64] {
        do { return try SweepParsing.seeds(list) } catch let error as SweepError { throw UsageError(error.message) }
    }

    /// "si,finetune" → those two methods, in that order; unknown or repeated names are usage errors.
    static func parseMethods(_ list: String) throws -> [Method] {
        let names = list.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let accepted = Method.allCases.map(\.rawValue).joined(separator: ", ")
        var methods: [Method] = []
        for name in names {
            guard let method = Method(rawValue: name) else {
                throw UsageError("--method '\(list)': '\(name)' is not a method; expected a comma list of \(accepted)")
            }
            guard !methods.contains(method) else {
                throw UsageError("--method '\(list)': '\(name)' is listed twice")
            }
            methods.append(method)
        }
        return methods
    }

    /// Checks the flags typed alongside `--resume` against the saved config; returns the saved
    /// config (with `out` set to the resumed folder).
    /// - Throws: `UsageError` naming the first flag whose value differs from the saved run's.
    public static func merge(saved: RunConfig, resumeDir: String, options: ExperimentOptions,
                             split: CIFARSplit?, tool: Tool) throws -> RunConfig {
        guard saved.tool == tool else {
            throw UsageError("--resume \(resumeDir): that run was made by \(saved.tool.rawValue), not \(tool.rawValue)")
        }
        func conflict(_ flag: String, _ given: String, _ saved: String) -> UsageError {
            UsageError("--\(flag) \(given) conflicts with the run in \(resumeDir) (\(flag) \(saved)); "
                       + "drop the flag to resume it, or start a new run with another --out")
        }
        func check<T: Equatable>(_ flag: String, _ given: T?, _ kept: T, show: (T) -> String) throws {
            if let given, given != kept { throw conflict(flag, show(given), show(kept)) }
        }
        func checkNumber(_ flag: String, _ given: Double?, _ kept: Double) throws {
            if let given, !(abs(given - kept) <= 1e-12 * max(1, abs(kept))) {
                throw conflict(flag, format(given), format(kept))
            }
        }
        if let split { try check("split", split.experimentProtocol, saved.experimentProtocol, show: { $0.rawValue }) }
        if let list = options.method {
            try check("method", try parseMethods(list), saved.methods,
                      show: { $0.map(\.rawValue).joined(separator: ",") })
        }
        try check("device", options.device, saved.device, show: { $0.isEmpty ? "(default)" : $0 })
        try check("data-dir", options.dataDir, saved.dataDir, show: { $0 })
        // A typed hyper-parameter must equal the saved run's value for every method that has it.
        // When no saved method has it, the saved run's value is the one it recorded, else the default.
        for (flag, values) in try options.methodSettings().sorted(by: { $0.key < $1.key }) {
            if let kept = saved.sweeps[flag] {
                if values != kept { throw conflict(flag, values.map(format).joined(separator: ","), kept.map(format).joined(separator: ",")) }
                continue
            }
            guard values.count == 1 else { throw conflict(flag, values.map(format).joined(separator: ","), "one value") }
            let given = values[0]
            let users = saved.methods.filter { saved.hyperParameter(flag, of: $0) != nil }
            for method in users { try checkNumber(flag, given, saved.hyperParameter(flag, of: method)!) }
            if users.isEmpty, let declaring = MethodRegistry.hyperParameters.first(where: { $0.info.flag == flag })?.methods.first,
               let kept = saved.hyperParameters[flag] ?? saved.hyperParameter(flag, of: declaring) {
                try checkNumber(flag, given, kept)
            }
        }
        try checkNumber("lr", options.lr, saved.learningRate)
        try checkNumber("adam-epsilon", options.adamEpsilon, saved.epsilon)
        try check("adam-variant", options.adamVariant, saved.adamVariant, show: { $0.rawValue })
        try check("optimizer", options.optimizer, saved.optimizer, show: { $0.rawValue })
        try check("evaluate", options.evaluate, saved.evaluatedTasks, show: { $0.rawValue })
        if let given = options.selectOn, given != saved.selectOn { throw conflict("select-on", given.rawValue, saved.selectOn?.rawValue ?? "none") }
        try checkNumber("validation-fraction", options.validationFraction, saved.validationFraction)
        if let list = options.seeds {
            try check("seeds", try parseSeeds(list), saved.seeds, show: { $0.map(String.init).joined(separator: ",") })
        }
        try check("reset-optimizer", options.resetOptimizer?.bool, saved.resetOptimizerPerTask, show: { $0 ? "yes" : "no" })
        try check("epochs", options.epochs, saved.epochs, show: { String($0) })
        try check("batch-size", options.batchSize, saved.batchSize, show: { String($0) })
        if let given = options.seed, !saved.seeds.contains(given) { throw conflict("seed", String(given), String(saved.seed)) }
        try check("tasks", options.tasks, saved.tasks, show: { String($0) })
        if let limit = options.trainLimit, limit != saved.trainLimit {
            throw conflict("train-limit", String(limit), saved.trainLimit.map(String.init) ?? "none")
        }
        if let limit = options.testLimit, limit != saved.testLimit {
            throw conflict("test-limit", String(limit), saved.testLimit.map(String.init) ?? "none")
        }
        if let out = options.out, standardized(out) != standardized(resumeDir) {
            throw UsageError("--out \(out) conflicts with --resume \(resumeDir): a resumed run writes into its own folder")
        }
        var merged = saved
        merged.out = resumeDir
        return merged
    }
}

/// Shortest decimal text of a flag's number (0.001, not 0.0010000000000000000208; 1e-8, not 1e-08).
func format(_ value: Double) -> String { HyperValues.format(value) }

/// A JSON key that is a method's name (config.json's "method_options").
struct MethodKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// The decimal a user would type for a float32 value (Float(0.001) → 0.001, not 0.0010000000474974513):
/// Float's shortest round-trip text, read as a Double.
func decimal(_ value: Float) -> Double {
    Double("\(value)") ?? Double(value)
}

/// yyyyMMdd-HHmmss in local time, for default folder names.
func timestamp(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.dateFormat = "yyyyMMdd-HHmmss"
    return formatter.string(from: date)
}

func standardized(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.path
}
