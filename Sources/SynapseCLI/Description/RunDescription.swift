// What one run's results mean: the settings they depend on, one field each, in a fixed order and a
// canonical text. A checkpoint carries it (with its SHA-256), and nothing continues, reports or
// skips a run from a folder without comparing it, field by field, with the run asked for: a run
// made with other settings is never reported as this one (docs/checkpoints.md).

import Foundation
import SynapseContinual

/// One run's settings (one method, one seed, one value of each hyper-parameter) as name/value text.
public struct RunDescription: Equatable, Sendable {
    /// The fields in a fixed order: the trainer options' own keys (`OptionDifferences.fields`; a
    /// method's hyper-parameters as "method_options.<flag>"), then the experiment's config.json keys.
    public let fields: [Field]

    public typealias Field = OptionDifferences.Field

    /// The fields as a JSON array of [name, value] pairs, in order, without spaces: the bytes the
    /// digest covers and the text a checkpoint stores.
    public var canonical: String {
        "[" + fields.map { "[" + jsonString($0.name) + "," + jsonString($0.value) + "]" }.joined(separator: ",") + "]"
    }

    /// SHA-256 of `canonical`, in hex.
    public var digest: String { SHA256.hex(Array(canonical.utf8)) }

    /// "name: saved X, this run Y" for every field that differs from `other`'s (this description is
    /// the saved one), worded as the trainer's own check of a saved state (`OptionDifferences`).
    public func differences(from other: RunDescription) -> [String] {
        OptionDifferences.differences(saved: fields, current: other.fields)
    }

    /// Reads `canonical` back (a checkpoint's copy); nil when it is not that format.
    public init?(canonical text: String) {
        guard let pairs = try? JSONDecoder().decode([[String]].self, from: Data(text.utf8)),
              pairs.allSatisfy({ $0.count == 2 }) else { return nil }
        fields = pairs.map { Field(name: $0[0], value: $0[1]) }
    }

    init(fields: [Field]) { self.fields = fields }
}

extension RunConfig {
    /// The description of `method`'s run under this config (its seed is `seed`; a swept
    /// hyper-parameter must already be set to the run's value, as `ExperimentRun.config(of:)` does).
    ///
    /// What the trainer is given comes from the trainer's own options (`ContinualOptions`, every
    /// key of its encoding, the method's hyper-parameters as "method_options.<flag>"), so an option
    /// added there is part of the description without a line here. Then what the experiment adds:
    /// the tool, protocol and data, and what the run records. The results folder (`out`) and the
    /// lists that name other runs (methods, seeds, sweeps) are not part of one run's description.
    public func description(of method: Method) -> RunDescription {
        var fields = OptionDifferences.fields(of: continualOptions(for: method))
        func add(_ name: String, _ value: String) { fields.append(.init(name: name, value: value)) }
        add("tool", tool.rawValue)
        add("protocol", experimentProtocol.rawValue)
        add("data_dir", dataDir)
        add("device", device)
        add("tasks", String(tasks))
        add("train_limit", trainLimit.map(String.init) ?? "none")
        add("test_limit", testLimit.map(String.init) ?? "none")
        add("select_on", selectOn?.rawValue ?? "none")
        add("validation_fraction", format(validationFraction))
        add("recordings", recordings.sorted().joined(separator: ","))
        return RunDescription(fields: fields)
    }
}
